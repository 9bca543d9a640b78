/**
 * Puts a sample into the shape the analysis reads: known structure removed when every token
 * has it, base64 padding dropped, and the prefix and suffix that all tokens share cut off.
 */
import { describeRandomPart, type RandomPartKind } from './random-part.js';

/** A sample ready for analysis. */
export interface Prepared {
  /** Tokens after known structure was removed (same for every token) and base64 padding. */
  extracted: string[];
  kind: RandomPartKind | 'mixed';
  prefixLength: number;
  suffixLength: number;
  /** The part analysed: `extracted` without the prefix and suffix all tokens share. */
  bodies: string[];
  notes: string[];
}

/**
 * Prepares a sample. Structure is removed only when every token has the same structure (the
 * same brand prefix, all signed cookies...), since a random body can look like `abc_…`.
 *
 * @example prepareSample(['tsa_ab12', 'tsa_cd34']).bodies // ['ab12', 'cd34']
 */
export function prepareSample(tokens: string[]): Prepared {
  const parts = tokens.map(describeRandomPart);
  const first = parts[0]!;
  const uniform = parts.every(
    (p) => p.kind === first.kind && p.kind !== 'jwt' && p.prefix === first.prefix,
  );
  const notes: string[] = [];
  let extracted = uniform ? parts.map((p) => p.value) : tokens.map((t) => t.trim());
  if (uniform && first.kind !== 'plain') {
    const what: Record<RandomPartKind, string> = {
      plain: '',
      jwt: '',
      'signed-cookie': 'signed cookies: the value before the signature was analysed',
      uuid: 'UUIDs: dashes removed',
      prefixed: `a ${first.prefix?.length ?? 0}-character brand prefix was removed`,
    };
    notes.push(what[first.kind]);
  } else if (!uniform) {
    notes.push('tokens differ in structure: analysed as received');
  }
  if (
    extracted.every((t) => /^[A-Za-z0-9+/_-]*={0,2}$/.test(t)) &&
    extracted.some((t) => t.endsWith('='))
  ) {
    extracted = extracted.map((t) => t.replace(/=+$/, ''));
    notes.push('base64 padding removed');
  }
  const minLength = extracted.reduce((m, t) => Math.min(m, t.length), Number.POSITIVE_INFINITY);
  let prefixLength = 0;
  while (
    prefixLength < minLength &&
    extracted.every((t) => t[prefixLength] === extracted[0]![prefixLength])
  ) {
    prefixLength++;
  }
  let suffixLength = 0;
  const at = (t: string, k: number) => t[t.length - 1 - k];
  while (
    suffixLength < minLength - prefixLength &&
    extracted.every((t) => at(t, suffixLength) === at(extracted[0]!, suffixLength))
  ) {
    suffixLength++;
  }
  const bodies = extracted.map((t) => t.slice(prefixLength, t.length - suffixLength));
  return {
    extracted,
    kind: uniform ? first.kind : 'mixed',
    prefixLength,
    suffixLength,
    bodies,
    notes,
  };
}
