/**
 * SH-TOK-02/04: does a sample of reference tokens look like ≥128 bits from a good random
 * generator? Decodes the tokens to bits, measures their structural (nominal) size, runs the
 * Sequencer/FIPS battery per bit position and on the stream with a multiple-testing correction,
 * reports SP 800-90B lower bounds, and looks for duplicates, time and counter fields and hashes
 * of known data. A sample can never prove entropy; the verdict rule says so.
 */
import { concatenateBits } from './bit-statistics.js';
import { detectAlphabet, isConstant, toBitMatrix } from './bits.js';
import { expectedRandomMcv, mostCommonValueBits, tupleEstimate } from './entropy.js';
import { decodeJwt } from './jwt.js';
import { findKnownDataHashes } from './known-data-hashes.js';
import { structureFindings, timeAndCounterFindings } from './patterns.js';
import { prepareSample } from './prepare-sample.js';
import type { PatternFinding, StatVerdict, TestResult } from './report-types.js';
import { runStatistics } from './statistics-report.js';

export { extractRandomPart } from './random-part.js';
export type { PatternFinding, PatternKind, StatVerdict, TestResult } from './report-types.js';

/** The result of `analyzeTokens`. Nothing in it quotes token content. */
export interface RandomnessReport {
  sampleSize: number;
  distinct: number;
  /** Tokens that repeat an earlier one (sample size − distinct). */
  duplicates: number;
  lengths: { min: number; max: number };
  /** Detected encoding of the analysed part: hex, base32, base64, base64url, decimal, base36,
   * base62 or other. */
  alphabet: { name: string; size: number };
  /** Structural size: the bits the varying positions could carry. */
  nominalBits: number;
  /** SP 800-90B §6.3.1 most-common-value bound, summed over bit positions (per token). */
  mcvMinEntropyBits: number;
  /** SP 800-90B §6.3.5 t-tuple bound on the concatenated stream, scaled to one token. */
  otherEstimatorBits: number;
  /** Nominal bits minus the bit positions that fail a per-position or correlation test at the
   * corrected alpha (Burp's "effective entropy"); 0 when the sample is too small for the tests. */
  effectiveBitsAtAlpha: number;
  tests: TestResult[];
  patterns: PatternFinding[];
  verdict: StatVerdict;
  /** The verdict rule in words, for the report. */
  rule: string;
  /** Why this verdict. */
  reasons: string[];
  /** Burp-comparable curve: nominal bits minus positions whose smallest p-value is below each
   * uncorrected level (0.001% … 10%). */
  effectiveBitsCurve: { alpha: number; bits: number }[];
  /** What perfectly random bits would score on the MCV bound at this sample size. */
  expectedRandomMcvBits: number;
  /** Bit positions that went through the statistical tests. */
  testedBits: number;
  /** Number of p-values the family-wise alpha was shared between, and the per-test threshold. */
  testsRun: number;
  perTestAlpha: number;
  /** How the tokens were read (structure removed, padding), for the report. */
  notes: string[];
}

export interface AnalyzeOptions {
  /** Epoch ms when each token was received (same order), for time-correlation detection. */
  issuedAt?: number[];
  /** Per token, known data around its issue (username, sequence number, timestamp strings). */
  knownInputs?: string[][];
  /** Family-wise significance, shared over all tests with Šidák's correction; clamped to
   * [1e-12, 0.05]. @default 0.0001 */
  alpha?: number;
  /** Required entropy in bits (ASVS 5.0 7.2.3). @default 128 */
  minimumBits?: number;
  /** Below this many tokens a clean result is only a WARN (Burp: 5,000 for reliability; the
   * reference's quick mode is 1,000). @default 1000 */
  reliableSampleSize?: number;
  /** Reference time for "epoch near now" when `issuedAt` is missing. @default Date.now() */
  nowMs?: number;
}

/** Fewer tokens than this and the statistics are not run (Burp's minimum). */
export const MIN_SAMPLE_FOR_STATISTICS = 100;
/** NIST SP 800-63B §5.1: session secrets of at least 64 bits from an approved generator. */
const NIST_FLOOR_BITS = 64;
const BURP_LEVELS = [0.00001, 0.0001, 0.001, 0.01, 0.05, 0.1];

/**
 * Analyses a sample of reference tokens (in issue order) for randomness and structure.
 *
 * @example
 * const tokens = Array.from({ length: 2_000 }, () => randomBytes(32).toString('hex'));
 * analyzeTokens(tokens).verdict // 'PASS'
 */
export function analyzeTokens(tokens: string[], options: AnalyzeOptions = {}): RandomnessReport {
  const {
    issuedAt,
    knownInputs,
    alpha = 0.0001,
    minimumBits = 128,
    reliableSampleSize = 200,
    nowMs = Date.now(),
  } = options;
  const familyAlpha = Math.min(Math.max(alpha, 1e-12), 0.05);
  const n = tokens.length;
  const distinct = new Set(tokens).size;
  const report = emptyReport(
    tokens,
    distinct,
    verdictRule(familyAlpha, minimumBits, reliableSampleSize),
  );

  if (n === 0 || tokens.every((t) => t.trim().length === 0)) {
    return { ...report, reasons: ['no tokens, or only empty ones, to analyse'] };
  }
  const jwts = tokens.filter((t) => decodeJwt(t) !== null).length;
  if (jwts * 2 >= n) {
    return {
      ...report,
      reasons: [
        `${jwts} of ${n} tokens are JWTs: self-contained tokens are judged by their signature and claims (SH-JWT checks), not by randomness`,
      ],
    };
  }

  const prepared = prepareSample(tokens);
  const alphabet = detectAlphabet(prepared.bodies);
  const matrix = toBitMatrix(prepared.bodies, alphabet);
  const nominalBits = round(matrix.nominalBits);
  const notes = [...prepared.notes];
  if (matrix.padded) {
    notes.push(`lengths vary: shorter tokens were padded with the zero digit (${alphabet.name})`);
  }
  if (alphabet.name === 'other') {
    notes.push(`no standard alphabet: characters read as base-${alphabet.size} digits`);
  }

  const patterns = [
    ...structureFindings(prepared, alphabet, matrix),
    ...timeAndCounterFindings(prepared, alphabet, issuedAt, nowMs),
    ...findKnownDataHashes({ tokens: prepared.bodies, knownInputs, issuedAt }),
  ];

  const tolerance = 0.05 / Math.sqrt(n);
  const varying = matrix.columns.map((c) => !isConstant(c));
  const tested = [...varying.keys()].filter(
    (j) => varying[j] && Math.abs(matrix.expectedOne[j]! - 0.5) <= tolerance,
  );
  const partial = varying.filter(Boolean).length - tested.length;
  if (partial > 0) {
    notes.push(
      `${partial} top bit positions of the big-integer reading are biased by construction and were left out of the tests`,
    );
  }

  let mcvAll = 0;
  let mcvTested = 0;
  const testedSet = new Set(tested);
  for (let j = 0; j < matrix.width; j++) {
    if (!varying[j]) continue;
    const column = matrix.columns[j]!;
    let ones = 0;
    for (let t = 0; t < column.length; t++) ones += column[t]!;
    const h = mostCommonValueBits(ones, n);
    mcvAll += h;
    if (testedSet.has(j)) mcvTested += h;
  }
  const random = expectedRandomMcv(n);
  const expectedMcv = tested.length * random.bitsPerBit;

  const statistics =
    n >= MIN_SAMPLE_FOR_STATISTICS && tested.length > 0
      ? runStatistics(matrix, tested, prepared, familyAlpha)
      : null;
  const stream = statistics?.bits.streamBits ?? concatenateBits(matrix, tested);
  const tuple = tupleEstimate(stream);
  notes.push(
    `t-tuple estimate on ${tuple.streamBits} stream bits (tuples up to ${tuple.maxTuple} bits): ${tuple.bitsPerBit.toFixed(3)} bits per bit`,
  );

  const failReasons: string[] = [];
  if (n - distinct > 0) {
    failReasons.push(
      `${n - distinct} duplicate token(s) among ${n}: with even 64 random bits a repeat is practically impossible, so the effective entropy is far lower`,
    );
  }
  for (const p of patterns) {
    if (p.kind === 'time' || p.kind === 'counter' || p.kind === 'hash-of-known-data') {
      failReasons.push(`${p.kind} pattern: ${p.detail}`);
    }
  }
  // Below 64 bits fails every standard; 64–127 meets NIST SP 800-63B §5.1 and ASVS 4.0.3 3.2.2
  // but not ASVS 5.0 7.2.3, so it is a warning (standards-and-checks.md, SH-TOK-02; a UUIDv4
  // with its 122 random bits lands here).
  const hardFloorBits = Math.min(NIST_FLOOR_BITS, minimumBits);
  if (nominalBits < hardFloorBits) {
    failReasons.push(
      `the varying part carries at most ${nominalBits} bits, below the ${hardFloorBits}-bit floor of NIST SP 800-63B §5.1 (ASVS 5.0 7.2.3 asks for ${minimumBits})`,
    );
  }
  const statisticalFailures =
    statistics?.results.filter((t) => !t.passed && t.skipped !== true) ?? [];
  for (const t of statisticalFailures)
    failReasons.push(`statistical defect: ${t.name}: ${t.detail}`);

  const effectiveBits =
    statistics === null ? 0 : round(Math.max(0, matrix.nominalBits - statistics.defective));
  const curve = BURP_LEVELS.map((level) => ({
    alpha: level,
    bits:
      statistics === null
        ? 0
        : round(
            Math.max(0, matrix.nominalBits - statistics.minPerBit.filter((p) => p < level).length),
          ),
  }));

  const base: RandomnessReport = {
    ...report,
    alphabet: { name: alphabet.name, size: alphabet.size },
    nominalBits,
    mcvMinEntropyBits: round(mcvAll),
    otherEstimatorBits: round(tuple.bitsPerBit * tested.length),
    effectiveBitsAtAlpha: effectiveBits,
    tests: statistics?.results ?? [
      {
        name: 'statistical tests',
        passed: true,
        pValue: null,
        skipped: true,
        detail:
          tested.length === 0
            ? 'skipped: no bit position varies across the sample'
            : `skipped: ${n} tokens, fewer than the ${MIN_SAMPLE_FOR_STATISTICS} the tests need`,
      },
    ],
    patterns,
    effectiveBitsCurve: curve,
    expectedRandomMcvBits: round(expectedMcv),
    testedBits: tested.length,
    testsRun: statistics?.testsRun ?? 0,
    perTestAlpha: statistics?.perTestAlpha ?? 0,
    notes,
  };

  if (failReasons.length > 0) return { ...base, verdict: 'FAIL', reasons: failReasons };
  if (n < MIN_SAMPLE_FOR_STATISTICS) {
    return {
      ...base,
      verdict: 'INCONCLUSIVE',
      reasons: [
        `only ${n} tokens: no structural defect found, but at least ${MIN_SAMPLE_FOR_STATISTICS} are needed for the statistical tests`,
      ],
    };
  }
  const warnReasons: string[] = [];
  if (nominalBits < minimumBits) {
    warnReasons.push(
      `the varying part carries at most ${nominalBits} bits: it meets the ${NIST_FLOOR_BITS}-bit floor of NIST SP 800-63B §5.1 but not the ${minimumBits} bits of ASVS 5.0 7.2.3`,
    );
  }
  const shortfallAllowed = Math.max(
    6 * Math.sqrt(tested.length) * random.sdPerBit,
    0.02 * expectedMcv,
  );
  if (mcvTested < expectedMcv - shortfallAllowed) {
    warnReasons.push(
      `the MCV lower bound over the tested bits is ${round(mcvTested)} bits where perfect random bits would give about ${round(expectedMcv)} at ${n} tokens: the bits are collectively biased even though no single test failed`,
    );
  }
  if (n < reliableSampleSize) {
    warnReasons.push(
      `only ${n} tokens: nothing failed, but below ${reliableSampleSize} tokens the tests can miss moderate defects (5,000 give a reliable result, 20,000 allow exact FIPS bounds)`,
    );
  }
  if (warnReasons.length > 0) return { ...base, verdict: 'WARN', reasons: warnReasons };
  return {
    ...base,
    verdict: 'PASS',
    reasons: [
      `no duplicates among ${n} tokens`,
      'no time, counter or hash-of-known-data pattern found',
      `nominal size ${nominalBits} bits ≥ ${minimumBits}`,
      `no statistical test failed at family-wise alpha ${familyAlpha} (Šidák over ${base.testsRun} tests)`,
      `MCV lower bound over the tested bits is ${round(mcvTested)}, in line with what perfect random bits give at ${n} tokens (about ${base.expectedRandomMcvBits}); no feasible sample can show ${minimumBits} bits this way`,
    ],
  };
}

function verdictRule(alpha: number, minimumBits: number, reliable: number): string {
  return [
    `FAIL if any token repeats; if a time, counter or hash-of-known-data pattern is found; if the nominal size (bits the varying positions can carry) is below ${Math.min(NIST_FLOOR_BITS, minimumBits)} (NIST SP 800-63B §5.1); or if any statistical test fails at family-wise alpha ${alpha} after Šidák correction over all tests run.`,
    `Otherwise INCONCLUSIVE if there are fewer than ${MIN_SAMPLE_FOR_STATISTICS} tokens or the tokens are empty or JWTs.`,
    `Otherwise WARN if the nominal size is below ${minimumBits} bits (ASVS 5.0 7.2.3), if fewer than ${reliable} tokens were analysed, or if the SP 800-90B most-common-value lower bound is far below what perfectly random bits give at this sample size.`,
    'Otherwise PASS.',
    `A sample can never prove ${minimumBits} bits of entropy: PASS means the structure allows ${minimumBits} bits and these tests failed to find a defect, not that the generator is good; the min-entropy figures are conservative lower bounds limited by the sample size.`,
  ].join(' ');
}

function emptyReport(tokens: string[], distinct: number, rule: string): RandomnessReport {
  let min = tokens.length === 0 ? 0 : Number.POSITIVE_INFINITY;
  let max = 0;
  for (const t of tokens) {
    min = Math.min(min, t.length);
    max = Math.max(max, t.length);
  }
  return {
    sampleSize: tokens.length,
    distinct,
    duplicates: tokens.length - distinct,
    lengths: { min, max },
    alphabet: { name: 'other', size: 0 },
    nominalBits: 0,
    mcvMinEntropyBits: 0,
    otherEstimatorBits: 0,
    effectiveBitsAtAlpha: 0,
    tests: [],
    patterns: [],
    verdict: 'INCONCLUSIVE',
    rule,
    reasons: [],
    effectiveBitsCurve: [],
    expectedRandomMcvBits: 0,
    testedBits: 0,
    testsRun: 0,
    perTestAlpha: 0,
    notes: [],
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
