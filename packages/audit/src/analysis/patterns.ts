/**
 * Structural findings on a prepared sample: shared prefixes, constant positions, restricted
 * alphabets, and (through `numeric-fields.ts`) time and counter fields, including UUID versions
 * that embed a timestamp.
 */
import { type Alphabet, type BitMatrix, detectAlphabet, isConstant, toBitMatrix } from './bits.js';
import { findTimeAndCounterFields } from './numeric-fields.js';
import type { Prepared } from './prepare-sample.js';
import type { PatternFinding } from './report-types.js';

/**
 * Shared prefix/suffix, constant characters and bits, and small or restricted alphabets. These
 * lower the nominal size but are not failures by themselves.
 *
 * @example structureFindings(prepareSample(tokens), alphabet, matrix)[0]?.kind // 'shared-prefix'
 */
export function structureFindings(
  prepared: Prepared,
  alphabet: Alphabet,
  matrix: BitMatrix,
): PatternFinding[] {
  const findings: PatternFinding[] = [];
  const n = prepared.bodies.length;
  if (n >= 2 && (prepared.prefixLength > 0 || prepared.suffixLength > 0)) {
    findings.push({
      kind: 'shared-prefix',
      detail: `every token shares a ${prepared.prefixLength}-character prefix and a ${prepared.suffixLength}-character suffix, which carry no entropy`,
    });
  }
  if (n < 2) return findings;
  const constantChars = new Set(matrix.constantCharPositions);
  if (constantChars.size > 0) {
    findings.push({
      kind: 'constant-position',
      detail: `${constantChars.size} character position(s) inside the analysed part never change (positions ${[...constantChars].slice(0, 12).join(', ')}${constantChars.size > 12 ? ', …' : ''})`,
    });
  }
  if (alphabet.bitsPerChar !== null) {
    const bitsPerChar = alphabet.bitsPerChar;
    const length = matrix.width / bitsPerChar;
    const paddingBits = unusedTailBits(alphabet, length);
    let constantBits = 0;
    for (let j = 0; j < matrix.width; j++) {
      const char = Math.floor(j / bitsPerChar);
      if (constantChars.has(char) || j >= matrix.width - paddingBits) continue;
      if (isConstant(matrix.columns[j]!)) constantBits++;
    }
    if (constantBits > 0) {
      findings.push({
        kind: 'constant-position',
        detail: `${constantBits} bit position(s) inside varying characters never change (version, flag or truncated fields)`,
      });
    }
  }
  if (alphabet.size < 16) {
    findings.push({
      kind: 'low-alphabet',
      detail: `tokens use a ${alphabet.size}-character alphabet (${alphabet.name}): ${Math.log2(Math.max(alphabet.size, 1)).toFixed(2)} bits per character at most`,
    });
  }
  const restricted = restrictedPositions(prepared.bodies, alphabet, matrix.padded);
  if (restricted.length > 0) {
    findings.push({
      kind: 'low-alphabet',
      detail: `${restricted.length} varying position(s) use at most half of the ${alphabet.size}-character alphabet although the sample is large enough to show them all (positions ${restricted.slice(0, 12).join(', ')})`,
    });
  }
  return findings;
}

/** Low bits of the last base32/base64 character that carry no data because the encoded bytes
 * do not fill it (43 base64 characters for 32 bytes leave 2 bits unused). */
function unusedTailBits(alphabet: Alphabet, length: number): number {
  if (alphabet.name !== 'base32' && alphabet.name !== 'base64' && alphabet.name !== 'base64url') {
    return 0;
  }
  return (length * (alphabet.bitsPerChar ?? 0)) % 8;
}

/** Tokens inspected for restricted positions: plenty to see every character of any alphabet. */
const RESTRICTED_SAMPLE = 2_000;

function restrictedPositions(allBodies: string[], alphabet: Alphabet, padded: boolean): number[] {
  const bodies = allBodies.slice(0, RESTRICTED_SAMPLE);
  const n = bodies.length;
  const k = alphabet.size;
  // Only when every character should have appeared: k·(1 − 1/k)^N < 0.01.
  if (padded || k < 4 || k * (1 - 1 / k) ** n >= 0.01) return [];
  const length = bodies[0]?.length ?? 0;
  const skipLast = unusedTailBits(alphabet, length) > 0;
  const out: number[] = [];
  for (let i = 0; i < length - (skipLast ? 1 : 0); i++) {
    const seen = new Set<string>();
    for (const b of bodies) seen.add(b[i]!);
    if (seen.size > 1 && seen.size <= k / 2) out.push(i);
  }
  return out;
}

/**
 * Time and counter fields in the sample, and UUID versions 1, 6 and 7.
 *
 * @example timeAndCounterFindings(prepared, alphabet, undefined, Date.now()) // [{ kind: 'time', … }]
 */
export function timeAndCounterFindings(
  prepared: Prepared,
  alphabet: Alphabet,
  issuedAt: number[] | undefined,
  nowMs: number,
): PatternFinding[] {
  const head = prepared.extracted.slice(0, 1_000);
  const headAlphabet = detectAlphabet(head);
  // Bits of the whole token when it has the body's alphabet, so a time field keeps its leading
  // digits (they are constant within a short sample and were cut off as a shared prefix).
  const bits =
    headAlphabet.name === alphabet.name
      ? toBitMatrix(head, headAlphabet, { keepConstantPositions: true })
      : toBitMatrix(prepared.bodies.slice(0, 1_000), alphabet, { keepConstantPositions: true });
  const findings = findTimeAndCounterFields({ tokens: prepared.extracted, bits, issuedAt, nowMs });
  if (prepared.kind === 'uuid') {
    const versions = new Set(prepared.extracted.map((t) => t[12]));
    const version = versions.size === 1 ? [...versions][0] : undefined;
    if ((version === '1' || version === '6') && !findings.some((f) => f.kind === 'time')) {
      findings.push({
        kind: 'time',
        detail: `UUID version ${version}: a 60-bit timestamp, a clock sequence and a node id, not random`,
      });
    }
    if (version === '7' && !findings.some((f) => f.kind === 'time')) {
      findings.push({
        kind: 'time',
        detail: 'UUID version 7: the first 48 bits are a millisecond timestamp',
      });
    }
  }
  return findings;
}
