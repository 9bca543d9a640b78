/**
 * Alphabet detection and conversion of tokens to bits, the first step of the Sequencer-style
 * analysis. Power-of-two alphabets (hex, base32, base64, base64url) map each character to its
 * 4, 5 or 6 bits. Other alphabets (decimal, base36, base62, anything else) are read as one big
 * integer over the varying positions: mapping 62 characters onto 5 bits per character, as Burp
 * does, biases the bits and would make perfectly random tokens fail.
 */

export type AlphabetName =
  | 'hex'
  | 'base32'
  | 'base64'
  | 'base64url'
  | 'decimal'
  | 'base36'
  | 'base62'
  | 'other';

/** A detected token alphabet with its digits in value order. */
export interface Alphabet {
  name: AlphabetName;
  /** The characters in value order: index = digit value. */
  digits: string;
  size: number;
  /** Bits per character for power-of-two alphabets, `null` when read as a big integer. */
  bitsPerChar: number | null;
  /** Hex may come in either case; the digit lookup folds case for it. */
  foldCase: boolean;
}

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const B64 = UPPER + LOWER + DIGITS;

function alphabet(name: AlphabetName, digits: string, foldCase = false): Alphabet {
  const size = digits.length;
  const bits = Math.log2(size);
  return { name, digits, size, bitsPerChar: Number.isInteger(bits) ? bits : null, foldCase };
}

function within(chars: Set<string>, allowed: string): boolean {
  for (const c of chars) if (!allowed.includes(c)) return false;
  return true;
}

/**
 * Detects the smallest standard alphabet that holds every character of the sample.
 *
 * @example detectAlphabet(['3f9a', '00c1']).name // 'hex'
 */
export function detectAlphabet(tokens: readonly string[]): Alphabet {
  const seen = new Uint8Array(0x10000);
  for (const t of tokens) for (let i = 0; i < t.length; i++) seen[t.charCodeAt(i)] = 1;
  const chars = new Set<string>();
  for (let c = 0; c < seen.length; c++) if (seen[c] === 1) chars.add(String.fromCharCode(c));
  const hasAny = (set: string) => [...chars].some((c) => set.includes(c));
  if (within(chars, DIGITS)) return alphabet('decimal', DIGITS);
  if (within(chars, '0123456789abcdef')) return alphabet('hex', '0123456789abcdef');
  if (within(chars, '0123456789ABCDEF')) return alphabet('hex', '0123456789ABCDEF');
  if (within(chars, '0123456789abcdefABCDEF')) return alphabet('hex', '0123456789abcdef', true);
  if (within(chars, UPPER + '234567') && hasAny('234567')) {
    return alphabet('base32', UPPER + '234567');
  }
  if (within(chars, DIGITS + LOWER)) return alphabet('base36', DIGITS + LOWER);
  if (within(chars, DIGITS + UPPER)) return alphabet('base36', DIGITS + UPPER);
  if (within(chars, DIGITS + UPPER + LOWER)) return alphabet('base62', DIGITS + UPPER + LOWER);
  if (within(chars, B64 + '-_')) return alphabet('base64url', B64 + '-_');
  if (within(chars, B64 + '+/')) return alphabet('base64', B64 + '+/');
  return alphabet('other', [...chars].sort().join(''));
}

/** Tokens converted to a matrix of bits, one row per token. */
export interface BitMatrix {
  rows: number;
  width: number;
  /** Row-major bits: token t, bit j at `data[t * width + j]`. */
  data: Uint8Array;
  /** Column-major copy: bit position j across all tokens at `columns[j]`. */
  columns: Uint8Array[];
  /** Probability of a one at each bit position if every character were uniform (0.5 except the
   * top bits of a big-integer reading). */
  expectedOne: Float64Array;
  /** Bits the varying positions can carry: varying bits, or varying characters × log2(size). */
  nominalBits: number;
  /** Character positions (after padding) whose character never changes. */
  constantCharPositions: number[];
  /** Whether tokens had different lengths and were padded. */
  padded: boolean;
}

export interface ToBitsOptions {
  /** Keep constant character positions inside a big-integer reading (for pattern search, where
   * a time field's leading digits are constant within the sample). @default false */
  keepConstantPositions?: boolean;
}

/**
 * Converts tokens of one alphabet to bits. Shorter tokens are padded with the zero digit: on the
 * left for number-like alphabets (what a generator that drops leading zeros produced), on the
 * right for base32/base64.
 *
 * @example toBitMatrix(['f0', '0f'], detectAlphabet(['f0', '0f'])).width // 8
 */
export function toBitMatrix(
  tokens: readonly string[],
  alpha: Alphabet,
  { keepConstantPositions = false }: ToBitsOptions = {},
): BitMatrix {
  const length = tokens.reduce((m, t) => Math.max(m, t.length), 0);
  const padded = tokens.some((t) => t.length !== length);
  const zero = alpha.digits[0]!;
  const padLeft = !(
    alpha.name === 'base32' ||
    alpha.name === 'base64' ||
    alpha.name === 'base64url'
  );
  const lookup = new Int32Array(0x10000);
  for (let i = 0; i < alpha.digits.length; i++) {
    lookup[alpha.digits.charCodeAt(i)] = i;
    if (alpha.foldCase) lookup[alpha.digits[i]!.toUpperCase().charCodeAt(0)] = i;
  }
  const rows = tokens.length;
  const values = new Uint8Array(rows * length);
  for (let t = 0; t < rows; t++) {
    const token = tokens[t]!;
    const text = padLeft ? token.padStart(length, zero) : token.padEnd(length, zero);
    for (let i = 0; i < length; i++) values[t * length + i] = lookup[text.charCodeAt(i)]!;
  }
  const constantCharPositions: number[] = [];
  for (let i = 0; i < length; i++) {
    const first = values[i];
    let constant = true;
    for (let t = 1; t < rows && constant; t++) constant = values[t * length + i] === first;
    if (constant) constantCharPositions.push(i);
  }
  const matrix =
    alpha.bitsPerChar !== null
      ? powerOfTwoBits(values, rows, length, alpha.bitsPerChar)
      : bigIntegerBits(
          values,
          rows,
          length,
          alpha.size,
          keepConstantPositions ? [] : constantCharPositions,
        );
  const columns = transpose(matrix.data, rows, matrix.width);
  const nominalBits =
    alpha.bitsPerChar !== null
      ? columns.filter((c) => !isConstant(c)).length
      : (length - constantCharPositions.length) * Math.log2(alpha.size);
  return { ...matrix, rows, columns, nominalBits, constantCharPositions, padded };
}

function powerOfTwoBits(values: Uint8Array, rows: number, length: number, bitsPerChar: number) {
  const width = length * bitsPerChar;
  const data = new Uint8Array(rows * width);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < length; i++) {
      const v = values[t * length + i]!;
      const o = t * width + i * bitsPerChar;
      for (let b = 0; b < bitsPerChar; b++) data[o + b] = (v >> (bitsPerChar - 1 - b)) & 1;
    }
  }
  return { width, data, expectedOne: new Float64Array(width).fill(0.5) };
}

function bigIntegerBits(
  values: Uint8Array,
  rows: number,
  length: number,
  base: number,
  skipPositions: number[],
) {
  const skip = new Set(skipPositions);
  const positions = [...Array(length).keys()].filter((i) => !skip.has(i));
  const bigBase = BigInt(base);
  const modulus = bigBase ** BigInt(positions.length);
  const width = Math.max(1, (modulus - 1n).toString(2).length);
  // Digits are grouped into chunks that fit a double exactly, so most arithmetic stays in numbers.
  const chunk = Math.max(1, Math.floor(52 / Math.log2(base)));
  const chunkBase = BigInt(base ** chunk);
  const data = new Uint8Array(rows * width);
  for (let t = 0; t < rows; t++) {
    let value = 0n;
    for (let start = 0; start < positions.length; start += chunk) {
      const end = Math.min(positions.length, start + chunk);
      let part = 0;
      for (let k = start; k < end; k++) part = part * base + values[t * length + positions[k]!]!;
      value =
        value * (end - start === chunk ? chunkBase : bigBase ** BigInt(end - start)) + BigInt(part);
    }
    const binary = value.toString(2);
    const o = t * width + (width - binary.length);
    for (let i = 0; i < binary.length; i++) data[o + i] = binary.charCodeAt(i) - 48;
  }
  return { width, data, expectedOne: expectedOnes(modulus, width) };
}

/** P(bit j = 1) for an integer uniform on [0, modulus), most significant bit first. */
function expectedOnes(modulus: bigint, width: number): Float64Array {
  const out = new Float64Array(width);
  const scale = 2n ** 53n;
  for (let k = 0; k < width; k++) {
    const j = BigInt(width - 1 - k);
    const period = 2n ** (j + 1n);
    const half = 2n ** j;
    const rest = modulus % period;
    const ones = (modulus / period) * half + (rest > half ? rest - half : 0n);
    out[k] = Number((ones * scale) / modulus) / 2 ** 53;
  }
  return out;
}

function transpose(data: Uint8Array, rows: number, width: number): Uint8Array[] {
  const columns: Uint8Array[] = [];
  for (let j = 0; j < width; j++) {
    const column = new Uint8Array(rows);
    for (let t = 0; t < rows; t++) column[t] = data[t * width + j]!;
    columns.push(column);
  }
  return columns;
}

/**
 * Whether a bit column never changes.
 *
 * @example isConstant(Uint8Array.from([1, 1, 1])) // true
 */
export function isConstant(column: Uint8Array): boolean {
  const first = column[0];
  for (let i = 1; i < column.length; i++) if (column[i] !== first) return false;
  return true;
}
