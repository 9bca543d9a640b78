import type { Severity, Verdict } from './check-catalog.js';
import type { CheckResult } from './check-result.js';

/** The whole run, as every output format renders it. Holds fingerprints, never raw credentials. */
export interface AuditReport {
  tool: { name: string; version: string; informationUri: string };
  target: {
    name: string;
    baseUrl: string;
    policy: {
      profile: string;
      idleTimeoutSeconds: number;
      absoluteTimeoutSeconds: number;
      toleranceSeconds: number;
      refreshGraceSeconds: number;
    };
  };
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  requests: number;
  throttled: number;
  sessionsLoggedOut: number;
  /** How to read the `fp:` values. */
  fingerprintNote: string;
  /** What the preflight learned about the credentials. */
  discovery: string[];
  options: {
    quick: boolean;
    maxWaitSeconds: number;
    sampleSize: number;
    failOn: Severity;
    only: string[];
  };
  results: CheckResult[];
  counts: Record<Verdict, number>;
}

export const VERSION = '0.1.0';

/** True when some check FAILs at or above `failOn`: the exit code is then 1. */
export function hasBlockingFailure(report: AuditReport, failOn: Severity): boolean {
  const rank: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
  return report.results.some((r) => r.verdict === 'FAIL' && rank[r.severity] >= rank[failOn]);
}
