/**
 * Shapes of the randomness report, shared by the analysis files and re-exported from
 * `randomness.ts`, the module the rest of the auditor imports.
 */

export type StatVerdict = 'PASS' | 'FAIL' | 'WARN' | 'INCONCLUSIVE';

/** One statistical test, usually aggregated over every bit or character position. */
export interface TestResult {
  name: string;
  passed: boolean;
  /** The smallest p-value the test produced (before correction), or `null` when it did not run. */
  pValue: number | null;
  detail: string;
  /** Set when the test did not run (sample too small for it); `passed` is then `true`. */
  skipped?: boolean;
}

export type PatternKind =
  | 'time'
  | 'counter'
  | 'hash-of-known-data'
  | 'shared-prefix'
  | 'constant-position'
  | 'low-alphabet';

/** A structural finding. Details describe positions and counts, never token content. */
export interface PatternFinding {
  kind: PatternKind;
  detail: string;
}
