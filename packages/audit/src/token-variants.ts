import { randomInt } from 'node:crypto';
import { extractRandomPart } from './analysis/randomness.js';

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function classOf(ch: string): string | null {
  if (DIGITS.includes(ch)) return DIGITS;
  if (LOWER.includes(ch)) return LOWER;
  if (UPPER.includes(ch)) return UPPER;
  return null;
}

/** Another character of the same class (digit, lower, upper), so format checks still pass. */
export function flipChar(ch: string): string {
  const cls = classOf(ch);
  if (cls) return cls[(cls.indexOf(ch) + 1) % cls.length]!;
  if (ch === '-') return '_';
  if (ch === '_') return '-';
  return 'A';
}

/** Where the random part of a token sits, so changes land in it (not in a fixed prefix). */
export function randomSpan(token: string): { start: number; end: number } {
  const random = extractRandomPart(token);
  const start = random.length > 0 ? token.indexOf(random) : -1;
  if (start < 0 || random.length < 4) return { start: 0, end: token.length };
  return { start, end: start + random.length };
}

export interface TokenVariant {
  label: string;
  value: string;
}

/**
 * Tampered, truncated and never-issued variants of a reference token (reference §3.3 SH-TOK-05).
 * The last character is never flipped: in base64 it may carry only padding bits that a lenient
 * decoder ignores, which would make a correct server look broken.
 *
 * @example referenceVariants('tsa_abc123…').map((v) => v.label)
 */
export function referenceVariants(token: string): TokenVariant[] {
  const { start, end } = randomSpan(token);
  const length = end - start;
  const positions = [...new Set([start, start + Math.floor(length / 2), Math.max(start, end - 2)])];
  const flipped = positions.map((i) => ({
    label: `one character changed at position ${i}`,
    value: token.slice(0, i) + flipChar(token[i] ?? 'a') + token.slice(i + 1),
  }));
  const neverIssued = [...token]
    .map((ch, i) => {
      if (i < start || i >= end) return ch;
      const cls = classOf(ch);
      return cls ? cls[randomInt(cls.length)]! : ch;
    })
    .join('');
  return [
    ...flipped,
    { label: 'truncated by two characters', value: token.slice(0, -2) },
    { label: 'never issued (same format, random characters)', value: neverIssued },
    { label: 'empty value', value: '' },
  ].filter((v) => v.value !== token);
}
