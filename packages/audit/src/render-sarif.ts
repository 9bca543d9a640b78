import { CHECKS } from './check-catalog.js';
import type { CheckResult } from './check-result.js';
import type { AuditReport } from './report.js';

function level(r: CheckResult): 'error' | 'warning' | 'note' | 'none' {
  if (r.verdict === 'FAIL')
    return r.severity === 'critical' || r.severity === 'high'
      ? 'error'
      : r.severity === 'medium'
        ? 'warning'
        : 'note';
  if (r.verdict === 'WARN') return 'note';
  return 'none';
}

function kind(r: CheckResult): 'pass' | 'fail' | 'review' | 'notApplicable' {
  if (r.verdict === 'FAIL' || r.verdict === 'WARN') return 'fail';
  if (r.verdict === 'PASS') return 'pass';
  if (r.verdict === 'SKIPPED') return 'notApplicable';
  return 'review';
}

const SECURITY_SEVERITY: Record<string, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

/**
 * SARIF 2.1.0 for code-scanning dashboards. Every check is a rule (with its standard references as
 * tags); every result carries `kind` (pass/fail/review/notApplicable) and, when it fails, a level
 * from its severity. The location is the target URL: the finding is in a running service, not in
 * a source file.
 *
 * @example writeFileSync('audit.sarif', renderSarif(report));
 */
export function renderSarif(report: AuditReport): string {
  const used = new Set(report.results.map((r) => r.id));
  const rules = CHECKS.filter((c) => used.has(c.id)).map((c) => ({
    id: c.id,
    name: c.id.replace(/-/g, ''),
    shortDescription: { text: c.title },
    fullDescription: { text: `${c.title}. Area: ${c.area}. References: ${c.refs.join(', ')}.` },
    helpUri: c.helpUri,
    help: { text: `${c.title}. See ${c.refs.join(', ')}.` },
    defaultConfiguration: {
      level:
        c.severity === 'critical' || c.severity === 'high'
          ? 'error'
          : c.severity === 'medium'
            ? 'warning'
            : 'note',
    },
    properties: {
      tags: ['security', 'session-management', ...c.refs],
      'security-severity': SECURITY_SEVERITY[c.severity],
      precision: 'high',
    },
  }));
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            version: report.tool.version,
            informationUri: report.tool.informationUri,
            rules,
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            startTimeUtc: report.startedAt,
            endTimeUtc: report.finishedAt,
          },
        ],
        results: report.results.map((r) => ({
          ruleId: r.id,
          ruleIndex: ruleIndex.get(r.id) ?? 0,
          kind: kind(r),
          level: level(r),
          message: { text: `${r.verdict}: ${r.summary}` },
          locations: [{ physicalLocation: { artifactLocation: { uri: report.target.baseUrl } } }],
          properties: {
            verdict: r.verdict,
            severity: r.severity,
            evidence: r.evidence,
            references: r.refs,
            ...(r.rule ? { rule: r.rule } : {}),
          },
        })),
        properties: {
          target: report.target,
          counts: report.counts,
          fingerprintNote: report.fingerprintNote,
        },
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
