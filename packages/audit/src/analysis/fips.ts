/**
 * FIPS 140-2 (2001 errata) statistical tests: the exact integer bounds for a 20,000-bit block, as
 * in rng-tools `fips.c`, and the same four tests recalibrated for any length n with a p-value,
 * which is what Burp Sequencer does for samples that are not exactly 20,000 tokens.
 *
 * Bits are `Uint8Array`s holding 0 or 1, one bit per element: simple to slice per bit position
 * and per token, and fast enough for 20,000 × 256 bits.
 */
import {
  chiSquareLowerP,
  chiSquareUpperP,
  poissonAtLeastP,
  poissonAtMostP,
  twoSidedNormalP,
} from './special-functions.js';

/** The block size the published FIPS 140-2 bounds are defined for. */
export const FIPS_BLOCK_BITS = 20_000;

/** The published bounds (FIPS 140-2 change notice 1, 2001), inclusive "allowed" ranges. */
export const FIPS_140_2_BOUNDS = {
  monobit: { min: 9_726, max: 10_274 },
  poker: { minExclusive: 2.16, maxExclusive: 46.17 },
  runs: [
    { length: 1, min: 2_315, max: 2_685 },
    { length: 2, min: 1_114, max: 1_386 },
    { length: 3, min: 527, max: 723 },
    { length: 4, min: 240, max: 384 },
    { length: 5, min: 103, max: 209 },
    { length: 6, min: 103, max: 209 },
  ],
  longRunFailsAt: 26,
} as const;

/** Result of the exact FIPS 140-2 battery on one 20,000-bit block. */
export interface FipsBlockResult {
  passed: boolean;
  ones: number;
  monobitPassed: boolean;
  pokerStatistic: number;
  pokerPassed: boolean;
  /** Run counts by length 1..5 and ≥6, for runs of zeros and runs of ones. */
  runsOfZeros: number[];
  runsOfOnes: number[];
  runsPassed: boolean;
  longestRun: number;
  longRunPassed: boolean;
}

/**
 * Runs the FIPS 140-2 battery with its exact published bounds on exactly 20,000 bits.
 *
 * @example
 * const alternating = Uint8Array.from({ length: 20_000 }, (_, i) => i % 2);
 * fips140Block(alternating).runsPassed // false: 10,000 runs of length 1 each
 */
export function fips140Block(bits: Uint8Array): FipsBlockResult {
  if (bits.length !== FIPS_BLOCK_BITS) {
    throw new RangeError(`FIPS 140-2 bounds need exactly ${FIPS_BLOCK_BITS} bits`);
  }
  const bounds = FIPS_140_2_BOUNDS;
  const summary = summarizeBits(bits);
  const ones = summary.ones;
  const monobitPassed = ones >= bounds.monobit.min && ones <= bounds.monobit.max;
  const pokerStatistic = pokerStatisticOf(bits);
  const pokerPassed =
    pokerStatistic > bounds.poker.minExclusive && pokerStatistic < bounds.poker.maxExclusive;
  const runsPassed = bounds.runs.every(
    (range, i) =>
      (summary.zeros[i] ?? 0) >= range.min &&
      (summary.zeros[i] ?? 0) <= range.max &&
      (summary.onesRuns[i] ?? 0) >= range.min &&
      (summary.onesRuns[i] ?? 0) <= range.max,
  );
  const longRunPassed = summary.longest < bounds.longRunFailsAt;
  return {
    passed: monobitPassed && pokerPassed && runsPassed && longRunPassed,
    ones,
    monobitPassed,
    pokerStatistic,
    pokerPassed,
    runsOfZeros: summary.zeros,
    runsOfOnes: summary.onesRuns,
    runsPassed,
    longestRun: summary.longest,
    longRunPassed,
  };
}

/** Everything the monobit, runs, FIPS runs and long-run tests need, from one pass. */
export interface BitSummary {
  length: number;
  ones: number;
  /** Total number of runs. */
  runs: number;
  /** Run counts by length 1..5 and ≥6, runs of zeros and runs of ones. */
  zeros: number[];
  onesRuns: number[];
  longest: number;
}

/**
 * Summarises a bit array in one pass. The loop is branch-free on the data because random bits
 * make every data-dependent branch a coin flip for the CPU's predictor.
 *
 * @example summarizeBits(Uint8Array.from([0, 0, 1])).runs // 2
 */
export function summarizeBits(bits: Uint8Array): BitSummary {
  const n = bits.length;
  const counts = new Int32Array(16);
  if (n === 0)
    return {
      length: 0,
      ones: 0,
      runs: 0,
      zeros: [0, 0, 0, 0, 0, 0],
      onesRuns: [0, 0, 0, 0, 0, 0],
      longest: 0,
    };
  let prev = bits[0]!;
  let ones = prev;
  let runs = 1;
  let run = 1;
  let longest = 0;
  for (let i = 1; i < n; i++) {
    const b = bits[i]!;
    const end = b ^ prev;
    ones += b;
    runs += end;
    counts[(prev << 3) | Math.min(run, 6)]! += end;
    longest = Math.max(run, longest);
    run = (run + 1) * (1 - end) + end;
    prev = b;
  }
  counts[(prev << 3) | Math.min(run, 6)]! += 1;
  longest = Math.max(run, longest);
  return {
    length: n,
    ones,
    runs,
    zeros: Array.from(counts.subarray(1, 7)),
    onesRuns: Array.from(counts.subarray(9, 15)),
    longest,
  };
}

function pokerStatisticOf(bits: Uint8Array): number {
  const groups = Math.floor(bits.length / 4);
  const counts = new Array<number>(16).fill(0);
  for (let g = 0; g < groups; g++) {
    const o = g * 4;
    const nibble = (bits[o]! << 3) | (bits[o + 1]! << 2) | (bits[o + 2]! << 1) | bits[o + 3]!;
    counts[nibble]! += 1;
  }
  let sumSquares = 0;
  for (const c of counts) sumSquares += c * c;
  return (16 / groups) * sumSquares - groups;
}

/** A p-value, or `null` with the reason when the test does not apply at this length. */
export type PValue = { p: number; skipped?: undefined } | { p: null; skipped: string };

/**
 * Monobit (SP 800-22 frequency) test for any length: ones ~ Binomial(n, 1/2), normal
 * approximation with continuity correction, two-sided.
 *
 * @example monobitP(summarizeBits(new Uint8Array(100))).p // ≈ 0
 */
export function monobitP(summary: BitSummary): PValue {
  const n = summary.length;
  if (n < 20) return { p: null, skipped: 'fewer than 20 bits' };
  const deviation = Math.max(0, Math.abs(summary.ones - n / 2) - 0.5);
  return { p: twoSidedNormalP(deviation / (Math.sqrt(n) / 2)) };
}

/**
 * FIPS poker test for any length: the n/4 nibbles' chi-square with 15 degrees of freedom,
 * two-sided like FIPS (a too-even spread fails as well). Needs at least 5 expected per cell.
 *
 * @example pokerP(new Uint8Array(400)).p // ≈ 0: all nibbles are 0000
 */
export function pokerP(bits: Uint8Array): PValue {
  const groups = Math.floor(bits.length / 4);
  if (groups < 80) return { p: null, skipped: 'needs 320 bits (5 expected per nibble value)' };
  const x = pokerStatisticOf(bits);
  return { p: Math.min(1, 2 * Math.min(chiSquareUpperP(x, 15), chiSquareLowerP(x, 15))) };
}

/**
 * FIPS runs test for any length: counts of runs of length 1..5 and ≥6 for each symbol compared
 * with their expectation under independence, E = (n − i + 3)/2^(i+2) (and (n − 4)/2^7 for ≥6).
 * Variances follow the pattern-count formula n·p·(1 + (1 − 2i)·p) (n·p·(1 − 13p) for ≥6);
 * cells with fewer than 30 expected use Poisson tails, which are wider and so conservative.
 * The 12 cells are combined with Bonferroni.
 *
 * @example runLengthsP(summarizeBits(Uint8Array.from({ length: 2_000 }, (_, i) => i % 2))).p // ≈ 0
 */
export function runLengthsP(summary: BitSummary): PValue {
  const n = summary.length;
  if (n < 64) return { p: null, skipped: 'fewer than 64 bits' };
  let smallest = 1;
  for (let c = 0; c < 6; c++) {
    const length = c + 1;
    const cellP = length < 6 ? 2 ** -(length + 2) : 2 ** -7;
    const expected = length < 6 ? (n - length + 3) * cellP : (n - 4) * cellP;
    const variance =
      length < 6 ? expected * (1 + (1 - 2 * length) * cellP) : expected * (1 - 13 * cellP);
    for (const observed of [summary.zeros[c]!, summary.onesRuns[c]!]) {
      smallest = Math.min(smallest, countP(observed, expected, variance));
    }
  }
  return { p: Math.min(1, 12 * smallest) };
}

function countP(observed: number, expected: number, variance: number): number {
  if (expected < 30) {
    const tail = Math.min(poissonAtLeastP(observed, expected), poissonAtMostP(observed, expected));
    return Math.min(1, 2 * tail);
  }
  const deviation = Math.max(0, Math.abs(observed - expected) - 0.5);
  return twoSidedNormalP(deviation / Math.sqrt(variance));
}

/**
 * Long-run test for any length, two-sided as in Burp (runs that are too short fail as well).
 * Runs of length ≥ r are close to Poisson with mean λ(r) = (n − r)·2^−r + 2^−(r−1), so
 * P(longest ≥ L) = 1 − e^−λ(L) and P(longest ≤ L) = e^−λ(L+1). At n = 20,000 the FIPS bound of
 * 26 corresponds to p ≈ 3·10^−4.
 *
 * @example longRunP(summarizeBits(new Uint8Array(1_000))).p // ≈ 0: one run of 1,000 zeros
 */
export function longRunP(summary: BitSummary): PValue {
  const n = summary.length;
  if (n < 64) return { p: null, skipped: 'fewer than 64 bits' };
  const longest = summary.longest;
  const lambda = (r: number) => (r > n ? 0 : (n - r) * 2 ** -r + 2 ** -(r - 1));
  const tooLong = -Math.expm1(-lambda(longest));
  const tooShort = Math.exp(-lambda(longest + 1));
  return { p: Math.min(1, 2 * Math.min(tooLong, tooShort)) };
}

/**
 * Total-runs test (SP 800-22 test 3) with the observed proportion of ones: too few runs means
 * bits repeat their predecessor, too many means they alternate.
 *
 * @example runsP(summarizeBits(Uint8Array.from({ length: 1_000 }, (_, i) => i % 2))).p // ≈ 0
 */
export function runsP(summary: BitSummary): PValue {
  const n = summary.length;
  if (n < 100) return { p: null, skipped: 'fewer than 100 bits' };
  const pi = summary.ones / n;
  if (pi === 0 || pi === 1) return { p: null, skipped: 'constant bits' };
  const runs = summary.runs;
  const spread = pi * (1 - pi);
  const z = (runs - 2 * n * spread) / (2 * Math.sqrt(n) * spread);
  return { p: twoSidedNormalP(z) };
}

/**
 * Block-frequency test (SP 800-22 test 2) with blocks of `blockBits`: χ² = 4M·Σ(π_i − ½)² with
 * one degree of freedom per block. With blocks aligned on tokens it asks whether tokens' weights
 * vary more (or less) than chance.
 *
 * @example blockFrequencyP(new Uint8Array(2_000), 100).p // ≈ 0
 */
export function blockFrequencyP(bits: Uint8Array, blockBits: number): PValue {
  const blocks = Math.floor(bits.length / blockBits);
  if (blockBits < 20 || blocks < 10) return { p: null, skipped: 'needs 10 blocks of 20 bits' };
  let chi = 0;
  for (let b = 0; b < blocks; b++) {
    let ones = 0;
    const o = b * blockBits;
    for (let i = 0; i < blockBits; i++) ones += bits[o + i]!;
    const d = ones / blockBits - 0.5;
    chi += d * d;
  }
  chi *= 4 * blockBits;
  return {
    p: Math.min(1, 2 * Math.min(chiSquareUpperP(chi, blocks), chiSquareLowerP(chi, blocks))),
  };
}
