/**
 * Burp Sequencer's character-level analysis, per character position of equal-length tokens:
 * a count test (are the characters seen at the position uniform?), a transition test (does the
 * character depend on the previous token's?) and a repeat test (does the position keep its
 * character from one token to the next more often than chance, as time and counter fields do).
 */
import { chiSquareUpperP, poissonAtLeastP } from './special-functions.js';

/** One character position's p-values; `null` when the sample is too small for the test. */
export interface CharPositionResult {
  position: number;
  /** Distinct characters seen at this position. */
  observed: number;
  countP: number | null;
  transitionP: number | null;
  repeatP: number | null;
}

/** Expected count per cell the chi-square tests require (the usual rule of five). */
export const MIN_EXPECTED_PER_CELL = 5;

/**
 * Runs the three character tests at every position. Tokens must be in issue order and of equal
 * length; the count test needs N ≥ 5k and the transition test N ≥ 5k² for k characters seen at
 * the position, as Burp switches them off below that.
 *
 * @example characterTests(['ab', 'ba', 'ab'])[0]!.observed // 2
 */
export function characterTests(tokens: readonly string[]): CharPositionResult[] {
  const n = tokens.length;
  const length = tokens[0]?.length ?? 0;
  const results: CharPositionResult[] = [];
  // Dense indexes 0..k-1 for the characters seen at a position, through a code-unit table that
  // is reset after each position (cheaper than a Map per character).
  const index = new Int32Array(0x10000).fill(-1);
  const series = new Int32Array(n);
  for (let position = 0; position < length; position++) {
    const seen: number[] = [];
    for (let t = 0; t < n; t++) {
      const c = tokens[t]!.charCodeAt(position);
      if (index[c] === -1) {
        index[c] = seen.length;
        seen.push(c);
      }
      series[t] = index[c]!;
    }
    for (const c of seen) index[c] = -1;
    const k = seen.length;
    if (k < 2) {
      results.push({ position, observed: k, countP: null, transitionP: null, repeatP: null });
      continue;
    }
    const counts = new Float64Array(k);
    for (let t = 0; t < n; t++) counts[series[t]!]! += 1;
    results.push({
      position,
      observed: k,
      countP: n >= MIN_EXPECTED_PER_CELL * k ? countTest(counts, n) : null,
      transitionP: n >= MIN_EXPECTED_PER_CELL * k * k ? transitionTest(series, k) : null,
      repeatP: n >= 20 ? repeatTest(series, counts) : null,
    });
  }
  return results;
}

function countTest(counts: Float64Array, n: number): number {
  const expected = n / counts.length;
  let chi = 0;
  for (const c of counts) chi += ((c - expected) * (c - expected)) / expected;
  return chiSquareUpperP(chi, counts.length - 1);
}

/** Chi-square test of independence between a token's character and the next token's. */
function transitionTest(series: Int32Array, k: number): number {
  const table = new Float64Array(k * k);
  const rows = new Float64Array(k);
  const cols = new Float64Array(k);
  const pairs = series.length - 1;
  for (let t = 1; t < series.length; t++) {
    const a = series[t - 1]!;
    const b = series[t]!;
    table[a * k + b]! += 1;
    rows[a]! += 1;
    cols[b]! += 1;
  }
  let chi = 0;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const expected = (rows[a]! * cols[b]!) / pairs;
      if (expected > 0) chi += (table[a * k + b]! - expected) ** 2 / expected;
    }
  }
  return chiSquareUpperP(chi, (k - 1) * (k - 1));
}

/**
 * Repeats of the previous token's character: under independence about (N − 1)·Σf² with the
 * observed frequencies f. The Poisson upper tail is wider than the binomial's, so conservative.
 */
function repeatTest(series: Int32Array, counts: Float64Array): number {
  const n = series.length;
  let repeats = 0;
  for (let t = 1; t < n; t++) if (series[t] === series[t - 1]) repeats++;
  let q = 0;
  for (const c of counts) q += (c / n) * (c / n);
  return poissonAtLeastP(repeats, (n - 1) * q);
}
