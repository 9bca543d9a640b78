import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** `tsa_` access token, `tsr_` refresh token, `tsk_` backend service key. */
export type TokenKind = 'access' | 'refresh' | 'service_key';

const PREFIX: Record<TokenKind, string> = {
  access: 'tsa_',
  refresh: 'tsr_',
  service_key: 'tsk_',
};

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 62^43 > 2^256, so 43 base62 characters hold 256 bits. */
const BODY_LENGTH = 43;
/** 62^6 > 2^32, so 6 base62 characters hold a CRC32. */
const CHECKSUM_LENGTH = 6;
const TOKEN_LENGTH = 4 + BODY_LENGTH + CHECKSUM_LENGTH;
const BASE62_CHAR = /^[0-9A-Za-z]+$/;

function toBase62(value: bigint, length: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out.padStart(length, '0');
}

/** Base62 of the CRC32, with plain number arithmetic: this runs on every presented token. */
function checksum(prefixAndBody: string): string {
  let rest = crc32(prefixAndBody);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/**
 * A new token: prefix + 256 bits from the OS CSPRNG (`crypto.randomBytes`) in base62 + a CRC32
 * checksum. Never derived from time, ids or `Math.random` (OWASP MASVS-AUTH, ASVS 5.0 7.2.3).
 * The prefix and checksum let secret scanners recognise a leaked token and let us refuse
 * garbage without a store read.
 *
 * @example
 * const token = generateToken('access'); // 'tsa_…' (53 characters)
 */
export function generateToken(kind: TokenKind): string {
  const body = toBase62(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_LENGTH);
  const head = PREFIX[kind] + body;
  return head + checksum(head);
}

/**
 * True when `token` has the shape of a Tessera token of this kind and its checksum matches.
 * Pure computation: a malformed token is refused without touching the store.
 *
 * @example
 * isWellFormedToken('tsa_abc', 'access'); // false
 */
export function isWellFormedToken(token: unknown, kind: TokenKind): token is string {
  if (typeof token !== 'string' || token.length !== TOKEN_LENGTH) return false;
  if (!token.startsWith(PREFIX[kind])) return false;
  const rest = token.slice(4);
  if (!BASE62_CHAR.test(rest)) return false;
  const head = token.slice(0, 4 + BODY_LENGTH);
  return token.slice(4 + BODY_LENGTH) === checksum(head);
}

/** Which kind a well-formed token is, or null. */
export function tokenKindOf(token: unknown): TokenKind | null {
  for (const kind of Object.keys(PREFIX) as TokenKind[]) {
    if (isWellFormedToken(token, kind)) return kind;
  }
  return null;
}

/** True when a string looks like any Tessera credential (used to refuse tokens in URLs). */
export function looksLikeToken(value: string): boolean {
  return /\bts[akr]_[0-9A-Za-z]{8,}/.test(value);
}

/** SHA-256 hex of a token: the only form in which the store ever holds it. */
export function hashToken(token: string): string {
  // The one-shot `crypto.hash` skips the Hash object that `createHash` allocates: this runs on
  // every presented token.
  return hash('sha256', token, 'hex');
}

/**
 * Constant-time equality of two hex digests. The store looks rows up by hash; comparing again
 * here without an early exit keeps any adapter's comparison from becoming a timing oracle.
 */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/** A public identifier: 128 random bits in base62 (22 characters). Safe to log; not a credential. */
export function generateId(): string {
  return toBase62(BigInt(`0x${randomBytes(16).toString('hex')}`), 22);
}
