import { createHash, timingSafeEqual } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import { type Clock, systemClock } from './clock.js';
import type { DpopNonces } from './dpop-nonce.js';
import { TesseraError } from './errors.js';
import type { SessionStore } from './store.js';

/**
 * Signature algorithms a DPoP proof may use. Asymmetric only (RFC 9449 §4.3 check 5): `none`
 * and the HMAC family are never accepted, whatever the configuration says.
 */
export const DPOP_ASYMMETRIC_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
] as const;
export type DpopAlgorithm = (typeof DPOP_ASYMMETRIC_ALGORITHMS)[number];

/** Why a proof was refused; codes are API (they appear in logs and tests). */
export type DpopFailureCode =
  | 'missing'
  | 'multiple'
  | 'malformed'
  | 'bad_typ'
  | 'bad_alg'
  | 'bad_jwk'
  | 'private_jwk'
  | 'bad_signature'
  | 'missing_claim'
  | 'bad_htm'
  | 'bad_htu'
  | 'bad_iat'
  | 'bad_ath'
  | 'key_mismatch'
  | 'replayed'
  | 'nonce_required';

export type DpopProofResult =
  | {
      ok: true;
      /** RFC 7638 SHA-256 thumbprint of the proof's key (what `cnf.jkt` / `dpop_jkt` holds). */
      jkt: string;
      jti: string;
      /** The proof's `iat`, epoch seconds. */
      iat: number;
    }
  | {
      ok: false;
      /** The RFC 9449 error code to answer with (§5, §7.1, §8, §9). */
      error: 'invalid_dpop_proof' | 'use_dpop_nonce';
      code: DpopFailureCode;
      /** A sentence for `error_description`; never includes the proof. */
      description: string;
      /** With `use_dpop_nonce`: the nonce to send in the `DPoP-Nonce` header. */
      nonce?: string;
    };

/** One request whose DPoP proof is to be checked. */
export interface DpopProofRequest {
  /** The `DPoP` header(s) as received: undefined when absent, an array when repeated. */
  proof: string | readonly string[] | undefined;
  /** The request's method, for `htm` (§4.3 check 8). */
  method: string;
  /** The request's full target URI; its query and fragment are ignored (§4.3 check 9). */
  url: string | URL;
  /** The access token presented with the request: then `ath` must match it (§4.3 check 12). */
  accessToken?: string;
  /** The thumbprint the token or session is bound to: the proof's key must have it. */
  expectedJkt?: string;
}

export interface DpopVerifierOptions {
  /** The store whose `rememberDpopJti` is the replay cache shared by every node. */
  store: Pick<SessionStore, 'rememberDpopJti'>;
  /** @default systemClock */
  clock?: Clock;
  /**
   * Accepted `alg` values, a subset of `DPOP_ASYMMETRIC_ALGORITHMS`.
   * @default ['ES256', 'EdDSA', 'Ed25519']
   */
  algorithms?: readonly string[];
  /** How old a proof's `iat` may be (RFC 9449 §11.1: seconds to minutes). @default 60 */
  maxAgeSeconds?: number;
  /** How far a proof's `iat` may be ahead of our clock (client clock skew). @default 5 */
  clockSkewSeconds?: number;
  /** Server nonces: when given, every proof must carry a current one (§8, §9, §11.3). */
  nonces?: DpopNonces;
}

/** Checks DPoP proofs (RFC 9449 §4.3). */
export interface DpopVerifier {
  /** The accepted algorithms, for `algs="…"` in `WWW-Authenticate` and metadata. */
  readonly algorithms: readonly string[];
  /** The nonce to hand out now, or undefined without server nonces. */
  currentNonce(): string | undefined;
  /**
   * Runs every check of §4.3 and, last, records the proof's `jti` in the replay cache: expected
   * failures are values; a store failure rejects (`store_unavailable`: the caller fails closed).
   */
  verify(request: DpopProofRequest): Promise<DpopProofResult>;
}

/** A proof is a few hundred bytes; anything far larger is refused before any parsing. */
const MAX_PROOF_CHARS = 8192;
/** JWK members that only a private (or symmetric) key has (RFC 7517 §9.2, RFC 7518 §6). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
const B64URL_SHA256 = /^[A-Za-z0-9_-]{43}$/;

/** True for a string shaped like an RFC 7638 SHA-256 thumbprint (43 base64url characters). */
export function isJwkThumbprint(value: unknown): value is string {
  return typeof value === 'string' && B64URL_SHA256.test(value);
}

/** base64url(SHA-256(accessToken)): the `ath` claim of RFC 9449 §4.2. */
export function accessTokenHashForDpop(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/**
 * The form of a URI that `htu` is compared in (RFC 9449 §4.3 check 9): scheme, host and port
 * (lower case, default port dropped, by WHATWG URL parsing) and path (dot segments resolved),
 * without query and fragment. Null when it does not parse as an http(s) URL.
 */
export function normalizeHtu(value: string | URL): string | null {
  let url: URL;
  try {
    url = typeof value === 'string' ? new URL(value) : new URL(value.href);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function fail(code: DpopFailureCode, description: string): Extract<DpopProofResult, { ok: false }> {
  return { ok: false, error: 'invalid_dpop_proof', code, description };
}

/**
 * Builds the DPoP proof verifier. Use one per process: it keeps no state of its own (the replay
 * cache is in the store, nonces are stateless), so any number of nodes agree.
 *
 * @example
 * const dpop = createDpopVerifier({ store, clock });
 * const result = await dpop.verify({
 *   proof: request.headers.dpop,
 *   method: 'GET',
 *   url: 'https://auth.example.com/v1/session',
 *   accessToken,
 *   expectedJkt: session.dpopJkt,
 * });
 * if (!result.ok) reply.code(401).header('www-authenticate', `DPoP error="${result.error}"`);
 */
export function createDpopVerifier(options: DpopVerifierOptions): DpopVerifier {
  const {
    store,
    clock = systemClock,
    algorithms = ['ES256', 'EdDSA', 'Ed25519'],
    maxAgeSeconds = 60,
    clockSkewSeconds = 5,
    nonces,
  } = options;
  for (const alg of algorithms) {
    if (!(DPOP_ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TesseraError(
        'invalid_config',
        `DPoP algorithm "${alg}" is not allowed (asymmetric only: ${DPOP_ASYMMETRIC_ALGORITHMS.join(', ')})`,
      );
    }
  }
  if (algorithms.length === 0) {
    throw new TesseraError('invalid_config', 'DPoP needs at least one algorithm');
  }
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 1 || maxAgeSeconds > 600) {
    throw new TesseraError(
      'invalid_config',
      `dpop max_age_seconds must be a whole number from 1 to 600 (got ${maxAgeSeconds})`,
    );
  }
  if (!Number.isInteger(clockSkewSeconds) || clockSkewSeconds < 0 || clockSkewSeconds > 300) {
    throw new TesseraError(
      'invalid_config',
      `dpop clock_skew_seconds must be a whole number from 0 to 300 (got ${clockSkewSeconds})`,
    );
  }
  const allowed = new Set(algorithms);

  async function verify(request: DpopProofRequest): Promise<DpopProofResult> {
    // §4.3 check 1: exactly one DPoP header. Node joins repeated unknown headers with ", ",
    // which no compact JWS contains, so a comma means two headers as well.
    const { proof: raw } = request;
    if (raw === undefined || raw === '') {
      return fail('missing', 'a DPoP proof is required (DPoP header)');
    }
    if (typeof raw !== 'string') {
      if (raw.length !== 1) return fail('multiple', 'exactly one DPoP header is allowed');
    }
    const proof = typeof raw === 'string' ? raw : (raw[0] as string);
    if (proof.includes(',')) return fail('multiple', 'exactly one DPoP header is allowed');
    if (proof.length > MAX_PROOF_CHARS || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(proof)) {
      return fail('malformed', 'the DPoP proof is not a compact JWS');
    }

    // §4.3 checks 2, 4, 5, 7: a well-formed header with the right typ, an allowed asymmetric
    // alg and a public jwk. Checked before any key is imported or signature computed.
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      return fail('malformed', 'the DPoP proof header is not valid JSON');
    }
    if (header.typ !== 'dpop+jwt') return fail('bad_typ', 'the DPoP proof typ must be dpop+jwt');
    const alg = header.alg;
    if (typeof alg !== 'string' || !allowed.has(alg)) {
      return fail('bad_alg', `the DPoP proof alg must be one of ${algorithms.join(', ')}`);
    }
    const jwk = header.jwk as Record<string, unknown> | undefined;
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
      return fail('bad_jwk', 'the DPoP proof header must carry the public key as jwk');
    }
    if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
      return fail('private_jwk', 'the DPoP proof jwk must not contain private key members');
    }

    // §4.3 check 6: the signature verifies with that jwk (jose also refuses a jwk whose key type
    // does not fit alg, and any key that is not public).
    let payload: Record<string, unknown>;
    try {
      const key = await importJWK(jwk as JWK, alg);
      if (key instanceof Uint8Array || key.type !== 'public') {
        return fail('bad_jwk', 'the DPoP proof jwk must be a public key');
      }
      ({ payload } = await jwtVerify(proof, key, {
        algorithms: [alg],
        typ: 'dpop+jwt',
        currentDate: new Date(clock.now()),
      }));
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) {
        return fail('bad_signature', 'the DPoP proof signature does not verify');
      }
      if (error instanceof errors.JOSENotSupported || error instanceof errors.JWKInvalid) {
        return fail('bad_jwk', 'the DPoP proof jwk is not a usable key for its alg');
      }
      if (error instanceof errors.JOSEError) {
        return fail('malformed', 'the DPoP proof is not a valid JWT');
      }
      if (error instanceof TypeError) {
        return fail('bad_jwk', 'the DPoP proof jwk is not a usable key for its alg');
      }
      throw error;
    }

    // §4.3 check 3: the claims every proof has, of the right types.
    const { jti, htm, htu, iat, ath, nonce } = payload;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 1024) {
      return fail('missing_claim', 'the DPoP proof needs a jti');
    }
    if (typeof htm !== 'string') return fail('missing_claim', 'the DPoP proof needs htm');
    if (typeof htu !== 'string') return fail('missing_claim', 'the DPoP proof needs htu');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) {
      return fail('missing_claim', 'the DPoP proof needs a numeric iat');
    }

    // §4.3 checks 8 and 9.
    if (htm !== request.method) return fail('bad_htm', 'the DPoP proof htm is not this method');
    const target = normalizeHtu(request.url);
    if (target === null || normalizeHtu(htu) !== target) {
      return fail('bad_htu', 'the DPoP proof htu is not this URL');
    }

    // §4.3 check 11, §11.1: a short acceptance window around our clock.
    const nowMs = clock.now();
    const iatMs = iat * 1000;
    if (iatMs < nowMs - maxAgeSeconds * 1000 || iatMs > nowMs + clockSkewSeconds * 1000) {
      return fail('bad_iat', 'the DPoP proof iat is outside the acceptance window');
    }

    // §4.3 check 12: bound to the presented access token, and made with the bound key.
    if (request.accessToken !== undefined) {
      if (typeof ath !== 'string') return fail('missing_claim', 'the DPoP proof needs ath');
      const expected = Buffer.from(accessTokenHashForDpop(request.accessToken));
      const given = Buffer.from(ath);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return fail('bad_ath', 'the DPoP proof ath is not the hash of this access token');
      }
    }
    const jkt = await calculateJwkThumbprint(jwk as JWK, 'sha256');
    if (request.expectedJkt !== undefined && jkt !== request.expectedJkt) {
      return fail('key_mismatch', 'the DPoP proof is not signed by the key the token is bound to');
    }

    // §4.3 check 10, §11.3: with server nonces, every proof carries a current one.
    if (nonces && !nonces.accepts(nonce)) {
      return {
        ok: false,
        error: 'use_dpop_nonce',
        code: 'nonce_required',
        description: 'the DPoP proof must carry the nonce of the DPoP-Nonce header',
        nonce: nonces.current(),
      };
    }

    // Last, so that a proof refused for any other reason does not use up its jti. The digest
    // covers the key too: two clients never collide on each other's jti (§11.1).
    const first = await store.rememberDpopJti({
      digest: createHash('sha256').update(`${jkt}:${jti}`).digest('hex'),
      at: nowMs,
      expiresAt: iatMs + maxAgeSeconds * 1000 + 1000,
    });
    if (!first) return fail('replayed', 'the DPoP proof was already used (jti)');
    return { ok: true, jkt, jti, iat };
  }

  return {
    algorithms: [...algorithms],
    currentNonce: () => nonces?.current(),
    verify,
  };
}
