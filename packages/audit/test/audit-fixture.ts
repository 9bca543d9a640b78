import type { Express } from 'express';
import type { Verdict } from '../src/index.js';
import { type AuditReport, parseTarget, type RunAuditOptions, runAudit } from '../src/index.js';
import { serve } from './fixtures/serve.js';

/** Starts an app, audits it with the target built for its URL, stops it. */
export async function auditApp(
  app: Express,
  makeTarget: (baseUrl: string) => Record<string, unknown>,
  options: RunAuditOptions = {},
): Promise<AuditReport> {
  const server = await serve(app);
  try {
    const parsed = parseTarget(JSON.stringify(makeTarget(server.baseUrl)), { env: {} });
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    return await runAudit(parsed.target, { env: {}, ...options });
  } finally {
    await server.close();
  }
}

/** Check id → verdict, for compact assertions. */
export function verdicts(report: AuditReport): Record<string, Verdict> {
  return Object.fromEntries(report.results.map((r) => [r.id, r.verdict]));
}

/** The non-PASS results in one line each, for assertion messages. */
export function explain(report: AuditReport): string {
  return report.results
    .filter((r) => r.verdict !== 'PASS' && r.verdict !== 'SKIPPED')
    .map(
      (r) =>
        `${r.id} ${r.verdict} [${r.severity}]: ${r.summary} | ${r.evidence.slice(0, 4).join(' | ')}`,
    )
    .join('\n');
}

/** Ids of checks that FAIL at or above medium. */
export function failures(report: AuditReport, atLeast: 'low' | 'medium' = 'medium'): string[] {
  const rank = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
  return report.results
    .filter((r) => r.verdict === 'FAIL' && rank[r.severity] >= rank[atLeast])
    .map((r) => r.id)
    .sort();
}
