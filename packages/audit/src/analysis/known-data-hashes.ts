/**
 * Detects tokens that are hashes of data an attacker knows or can guess: md5/sha1/sha256/sha512
 * of the username, a sequence number, the issue time, or simple concatenations. Such tokens
 * pass every statistical test (Burp warns that "a hash of a counter" does), so they are found by
 * recomputing the candidates. Hex and base64 encodings are both covered by comparing bytes, and
 * a token that is a truncated digest matches too.
 */
import { hash } from 'node:crypto';
import type { PatternFinding } from './report-types.js';

export interface KnownDataInput {
  tokens: readonly string[];
  knownInputs?: readonly (readonly string[])[] | undefined;
  issuedAt?: readonly number[] | undefined;
}

const ALGORITHMS = ['md5', 'sha1', 'sha256', 'sha512'] as const;
const SEPARATORS = ['', ':', '-', '_', '.', '|', ' ', '/', ','];
/** Tokens checked against their own known inputs: a pattern shows in any of them. */
const KNOWN_INPUT_TOKENS = 200;
/** Tokens checked against the timestamps around their capture time. */
const TIMESTAMP_TOKENS = 10;
const TIMESTAMP_WINDOW_MS = 1_000;
/** Shortest digest prefix (hex characters) a match needs: 64 bits, never by chance. */
const MIN_MATCH_HEX = 16;

/**
 * Looks for tokens equal to (a prefix of) a digest of known inputs, sequence numbers or
 * timestamps near the capture time.
 *
 * @example
 * // md5('alice1'), md5('alice2') ... with knownInputs [['alice', '1'], ['alice', '2'], ...]
 * findKnownDataHashes({ tokens, knownInputs })[0]?.kind // 'hash-of-known-data'
 */
export function findKnownDataHashes(input: KnownDataInput): PatternFinding[] {
  const hexTokens = input.tokens.map(tokenHex);
  const usable = hexTokens.filter((h) => h !== null).length;
  if (usable === 0) return [];
  const findings: PatternFinding[] = [];

  const checked = spread(input.tokens.length, KNOWN_INPUT_TOKENS);
  let matched = 0;
  const algorithmsSeen = new Set<string>();
  for (const t of checked) {
    const hex = hexTokens[t];
    if (hex === null || hex === undefined) continue;
    const hit = matchAny(hex, candidatesFor(t, input.knownInputs?.[t] ?? []));
    if (hit !== null) {
      matched++;
      algorithmsSeen.add(hit);
    }
  }
  if (matched > 0) {
    findings.push({
      kind: 'hash-of-known-data',
      detail: `${matched} of ${checked.length} checked tokens are ${[...algorithmsSeen].join('/')} digests of known data (username, sequence number or a concatenation of them)`,
    });
  }

  const bySequence = sequenceDigests(input.tokens.length);
  let sequenceHits = 0;
  for (const hex of hexTokens)
    if (hex !== null && bySequence.has(hex.slice(0, MIN_MATCH_HEX))) sequenceHits++;
  if (sequenceHits > 0) {
    findings.push({
      kind: 'hash-of-known-data',
      detail: `${sequenceHits} tokens are digests of small integers (a hashed counter)`,
    });
  }

  if (input.issuedAt !== undefined) {
    let timeHits = 0;
    const sampled = spread(Math.min(input.tokens.length, input.issuedAt.length), TIMESTAMP_TOKENS);
    for (const t of sampled) {
      const hex = hexTokens[t];
      const at = input.issuedAt[t];
      if (hex === null || hex === undefined || at === undefined) continue;
      if (matchAny(hex, timestampCandidates(at)) !== null) timeHits++;
    }
    if (timeHits > 0) {
      findings.push({
        kind: 'hash-of-known-data',
        detail: `${timeHits} of ${sampled.length} checked tokens are digests of a timestamp within ±1 s of capture`,
      });
    }
  }
  return findings;
}

/** The token's bytes as lowercase hex, when it is hex or base64 of at least 8 bytes. */
function tokenHex(token: string): string | null {
  if (/^[0-9a-fA-F]+$/.test(token) && token.length % 2 === 0) {
    return token.length >= MIN_MATCH_HEX ? token.toLowerCase() : null;
  }
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(token)) {
    const bytes = Buffer.from(
      token.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
      'base64url',
    );
    return bytes.length >= MIN_MATCH_HEX / 2 ? bytes.toString('hex') : null;
  }
  return null;
}

/** Indexes spread evenly over the sample. */
function spread(total: number, wanted: number): number[] {
  if (total <= wanted) return [...Array(total).keys()];
  return Array.from({ length: wanted }, (_, i) => Math.floor((i * total) / wanted));
}

function candidatesFor(index: number, known: readonly string[]): Set<string> {
  const out = new Set<string>();
  const sequence = [String(index), String(index + 1)];
  for (const a of known) {
    out.add(a);
    for (const s of sequence) {
      out.add(a + s);
      out.add(s + a);
    }
    for (const b of known) {
      if (a === b) continue;
      for (const sep of SEPARATORS) out.add(a + sep + b);
    }
  }
  return out;
}

function timestampCandidates(atMs: number): Set<string> {
  const out = new Set<string>();
  for (let d = -TIMESTAMP_WINDOW_MS; d <= TIMESTAMP_WINDOW_MS; d++) out.add(String(atMs + d));
  const seconds = Math.floor(atMs / 1_000);
  for (let d = -2; d <= 2; d++) out.add(String(seconds + d));
  return out;
}

function matchAny(hex: string, candidates: Set<string>): string | null {
  for (const text of candidates) {
    for (const algorithm of ALGORITHMS) {
      const digest = hash(algorithm, text, 'hex');
      if (matches(hex, digest)) return algorithm;
    }
  }
  return null;
}

function matches(tokenHexValue: string, digest: string): boolean {
  if (tokenHexValue.length <= digest.length) return digest.startsWith(tokenHexValue);
  return tokenHexValue.includes(digest);
}

/** Algorithms tried on bare sequence numbers (sha512 digests are rarely used as tokens). */
const SEQUENCE_ALGORITHMS = ['md5', 'sha1', 'sha256'] as const;

/** The digests of small integers never change, so they are computed once per process. */
let sequenceCache: { top: number; digests: Set<string> } | null = null;

/** Digest prefixes of 0..max(N + 1,000, 10,000): a counter started with the server. A counter
 * with an unknown offset is found only through `knownInputs`. */
function sequenceDigests(sampleSize: number): Set<string> {
  const top = Math.max(sampleSize + 1_000, 10_000);
  if (sequenceCache !== null && sequenceCache.top >= top) return sequenceCache.digests;
  const digests = new Set<string>();
  for (let i = 0; i <= top; i++) {
    const text = String(i);
    for (const algorithm of SEQUENCE_ALGORITHMS) {
      digests.add(hash(algorithm, text, 'hex').slice(0, MIN_MATCH_HEX));
    }
  }
  sequenceCache = { top, digests };
  return digests;
}
