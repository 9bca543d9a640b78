/**
 * Runs the bit- and character-level batteries on a sample and turns their p-values into report
 * entries, sharing the family-wise alpha over every p-value with Šidák's correction.
 */
import { type BitStatistics, runBitStatistics } from './bit-statistics.js';
import type { BitMatrix } from './bits.js';
import { type CharPositionResult, characterTests, MIN_EXPECTED_PER_CELL } from './char-tests.js';
import type { Prepared } from './prepare-sample.js';
import type { TestResult } from './report-types.js';

/** A zlib ratio below this on ≥1 KB of stream means structure no random source has. */
const MIN_COMPRESSION_RATIO = 0.9;

/** Test results and what the verdict needs from them. */
export interface Statistics {
  results: TestResult[];
  bits: BitStatistics;
  /** Smallest per-position p-value of each tested bit. */
  minPerBit: number[];
  /** Bit positions counted as defective (per-position failures and correlated partners). */
  defective: number;
  testsRun: number;
  perTestAlpha: number;
}

/**
 * Runs every statistical test on the tested bit positions (and the characters, when all tokens
 * have the same length).
 *
 * @example runStatistics(matrix, tested, prepared, 0.0001).results.every((t) => t.passed)
 */
export function runStatistics(
  matrix: BitMatrix,
  tested: number[],
  prepared: Prepared,
  familyAlpha: number,
): Statistics {
  const bits = runBitStatistics(matrix, tested);
  const equalLengths = prepared.bodies.every((b) => b.length === prepared.bodies[0]!.length);
  const chars = equalLengths ? characterTests(prepared.bodies) : null;

  let testsRun = 0;
  for (const t of bits.perPosition) testsRun += t.pValues.filter((p) => p !== null).length;
  if (bits.fipsPerPosition !== null) testsRun++;
  testsRun += bits.correlation.pairs;
  testsRun += bits.stream.filter((s) => s.p !== null).length;
  for (const c of chars ?? []) {
    testsRun += [c.countP, c.transitionP, c.repeatP].filter((p) => p !== null).length;
  }
  testsRun = Math.max(testsRun, 1);
  return finishStatistics(bits, chars, testsRun, matrix, familyAlpha);
}

function finishStatistics(
  bits: BitStatistics,
  chars: CharPositionResult[] | null,
  testsRun: number,
  matrix: BitMatrix,
  familyAlpha: number,
): Statistics {
  // Šidák: the per-test level that keeps the family-wise error at alpha for independent tests.
  const tau = -Math.expm1(Math.log1p(-familyAlpha) / testsRun);
  const tested = bits.tested;
  const minPerBit = tested.map((_, k) =>
    Math.min(...bits.perPosition.map((t) => t.pValues[k] ?? 1)),
  );
  const defectiveSet = new Set<number>();
  minPerBit.forEach((p, k) => {
    if (p < tau) defectiveSet.add(k);
  });
  for (const pair of bits.correlation.strongest) {
    if (pair.p >= tau) break;
    if (defectiveSet.has(pair.a) || defectiveSet.has(pair.b)) continue;
    // Two correlated bits carry at most one bit between them: drop the weaker one.
    defectiveSet.add(minPerBit[pair.a]! <= minPerBit[pair.b]! ? pair.a : pair.b);
  }

  const results: TestResult[] = [];
  for (const test of bits.perPosition) {
    const name = `bit ${test.name} (per bit position)`;
    if (test.skipped !== null) {
      results.push({
        name,
        passed: true,
        pValue: null,
        skipped: true,
        detail: `skipped: ${test.skipped}`,
      });
      continue;
    }
    let min = 1;
    let at = -1;
    let failed = 0;
    let ran = 0;
    test.pValues.forEach((p, k) => {
      if (p === null) return;
      ran++;
      if (p < tau) failed++;
      if (p < min) {
        min = p;
        at = tested[k]!;
      }
    });
    results.push({
      name,
      passed: failed === 0,
      pValue: min,
      detail: `${ran} bit positions; smallest p = ${fmt(min)} at bit ${at}; ${failed} below the per-test threshold ${fmt(tau)}`,
    });
  }
  if (bits.fipsPerPosition !== null) {
    const f = bits.fipsPerPosition;
    results.push({
      name: 'FIPS 140-2 exact bounds (per bit position, 20,000 tokens)',
      passed: f.p >= tau,
      pValue: f.p,
      detail: `${f.failed} of ${tested.length} bit positions fail the published bounds (about 0.1% fail by chance)`,
    });
  }
  const c = bits.correlation;
  const significantPairs = c.strongest.filter((p) => p.p < tau).length;
  results.push({
    name: 'bit correlation (pairs of positions)',
    passed: significantPairs === 0,
    pValue: c.minP,
    detail: `${c.pairs} pairs over ${c.tokensUsed} tokens; smallest p = ${fmt(c.minP ?? 1)}; ${significantPairs} pair(s) below ${fmt(tau)}`,
  });
  for (const s of bits.stream) {
    const name = `stream ${s.name} (${bits.streamTestBits} bits)`;
    if (s.p === null)
      results.push({ name, passed: true, pValue: null, skipped: true, detail: s.detail });
    else
      results.push({
        name,
        passed: s.p >= tau,
        pValue: s.p,
        detail: `${s.detail}; p = ${fmt(s.p)}`,
      });
  }
  const streamBytes = Math.ceil(bits.streamTestBits / 8);
  results.push(
    streamBytes < 1_024
      ? {
          name: 'stream compression (zlib)',
          passed: true,
          pValue: null,
          skipped: true,
          detail: `skipped: ${streamBytes} bytes is too short for zlib to say anything`,
        }
      : {
          name: 'stream compression (zlib)',
          passed: bits.compressionRatio >= MIN_COMPRESSION_RATIO,
          pValue: null,
          detail: `compressed to ${(100 * bits.compressionRatio).toFixed(1)}% of ${streamBytes} bytes (random data does not compress; an indicator, not a test)`,
        },
  );
  results.push(...charResults(chars, matrix.rows, tau));
  return { results, bits, minPerBit, defective: defectiveSet.size, testsRun, perTestAlpha: tau };
}

function charResults(chars: CharPositionResult[] | null, n: number, tau: number): TestResult[] {
  const names = [
    ['countP', 'character count (per position)', MIN_EXPECTED_PER_CELL, 1],
    ['transitionP', 'character transition (per position)', MIN_EXPECTED_PER_CELL, 2],
    ['repeatP', 'character repeat between successive tokens (per position)', 0, 0],
  ] as const;
  if (chars === null) {
    return names.map(([, name]) => ({
      name,
      passed: true,
      pValue: null,
      skipped: true,
      detail: 'skipped: tokens differ in length, so character positions do not line up',
    }));
  }
  const widest = chars.reduce((m, c) => Math.max(m, c.observed), 0);
  return names.map(([key, name, perCell, power]) => {
    const ps = chars.map((c) => ({ position: c.position, p: c[key] })).filter((x) => x.p !== null);
    if (ps.length === 0) {
      const needed = perCell * widest ** power;
      return {
        name,
        passed: true,
        pValue: null,
        skipped: true,
        detail:
          power > 0
            ? `skipped: ${n} tokens is too few for ${widest} characters per position (needs N ≥ ${perCell}·k${power === 2 ? '²' : ''} = ${needed}), as Burp switches it off`
            : 'skipped: fewer than 20 tokens',
      };
    }
    const worst = ps.reduce((a, b) => ((b.p ?? 1) < (a.p ?? 1) ? b : a));
    const failed = ps.filter((x) => (x.p ?? 1) < tau).length;
    return {
      name,
      passed: failed === 0,
      pValue: worst.p,
      detail: `${ps.length} character positions; smallest p = ${fmt(worst.p ?? 1)} at position ${worst.position}; ${failed} below ${fmt(tau)}`,
    };
  });
}

function fmt(p: number): string {
  return p === 0 ? '0' : p < 0.001 ? p.toExponential(1) : p.toPrecision(2);
}
