import { type CheckDefinition, checkById, type Severity, type Verdict } from './check-catalog.js';

/** One check's result in the report. Evidence never holds a raw credential, only fingerprints. */
export interface CheckResult {
  id: string;
  title: string;
  area: CheckDefinition['area'];
  severity: Severity;
  verdict: Verdict;
  /** One sentence: why this verdict. */
  summary: string;
  evidence: string[];
  refs: string[];
  helpUri: string;
  /** The method or rule behind the verdict, when it is statistical. */
  rule?: string;
}

/** Builds a result for a check id; `severity` overrides the check's default for this finding. */
export function result(
  id: string,
  verdict: Verdict,
  summary: string,
  evidence: string[] = [],
  extra: { severity?: Severity; rule?: string } = {},
): CheckResult {
  const def = checkById(id);
  return {
    id,
    title: def.title,
    area: def.area,
    severity: extra.severity ?? def.severity,
    verdict,
    summary,
    evidence,
    refs: def.refs,
    helpUri: def.helpUri,
    ...(extra.rule ? { rule: extra.rule } : {}),
  };
}
