import { type Clock, isTesseraError, systemClock } from '@tessera/core';
import {
  AuthorityUnavailableError,
  type ForwardedProof,
  type SessionAuthority,
} from './authority.js';
import { readAuthorization } from './authorization-header.js';
import type { DpopProofVerifier } from './dpop-proof-check.js';
import type { RequestView } from './http-request.js';
import { type Refusal, unavailable } from './refusal.js';
import {
  checkRequirements,
  checkRequirementsOptions,
  type SessionRequirements,
} from './session-requirements.js';
import type { SessionView } from './session-view.js';
import { type ChallengeParams, challenge } from './www-authenticate.js';

/** The DPoP verifier's replay cache is a store verb: its outage is "cannot tell" too. */
const isStoreOutage = (error: unknown) => isTesseraError(error, 'store_unavailable');

/** A request as the bearer guard needs it: also its URL, for DPoP `htu`. */
export interface BearerRequestView extends RequestView {
  /** The absolute request URL as the client addressed it, without query or fragment. */
  url: string;
  /** True when the URL's query string names `access_token` (RFC 6750 §2.3, refused). */
  tokenInQuery: boolean;
}

export interface SessionGuardOptions {
  authority: SessionAuthority;
  /**
   * Checks DPoP proofs (RFC 9449): `createDpopVerifier({ store })` from `@tessera/core`, over
   * the service's store, so the `jti` replay cache is the one every node shares. Without one, a
   * bound session is always refused (never accepted as a bearer token).
   */
  dpop?: DpopProofVerifier;
  /**
   * The public origin of this API (`https://api.example.com`) when it runs behind a proxy that
   * changes the host or scheme: DPoP proofs are checked against it. @default the request's own
   */
  publicOrigin?: string;
  /** @default 'tessera' */
  realm?: string;
  /** @default systemClock */
  clock?: Clock;
}

/** Per-route options of bearer mode. */
export interface BearerRequirements extends SessionRequirements {
  /**
   * Ask the source of truth on every request: no introspection cache, so a revocation anywhere
   * is seen at once. For routes that move money or change credentials.
   * @default false
   */
  strict?: boolean;
}

export type GuardResult =
  | { ok: true; session: SessionView; scheme: 'Bearer' | 'DPoP' }
  | { ok: false; refusal: Refusal };

export interface SessionGuard {
  check(request: BearerRequestView, requirements?: BearerRequirements): Promise<GuardResult>;
  readonly realm: string;
}

/**
 * The framework-agnostic core of `requireSession()`: reads the access token from the
 * `Authorization` header only (RFC 6750 §2.1; never a query string or body), validates it with
 * the authority, checks the DPoP proof of a bound session, then the route's requirements.
 */
export function createSessionGuard(options: SessionGuardOptions): SessionGuard {
  const { authority, dpop, realm = 'tessera', clock = systemClock } = options;
  const algs = (dpop?.algorithms ?? ['ES256', 'EdDSA']).join(' ');
  const publicOrigin = options.publicOrigin?.replace(/\/+$/, '');

  /** RFC 6750 §3 + RFC 9449 §7.1: one challenge per scheme the API accepts. */
  function challenges(params: ChallengeParams, scheme?: 'Bearer' | 'DPoP'): string {
    const bearer = challenge('Bearer', { realm, ...params });
    const dpopChallenge = challenge('DPoP', { realm, algs, ...params });
    if (scheme === 'Bearer') return bearer;
    if (scheme === 'DPoP') return dpopChallenge;
    const acceptsDpop = dpop !== undefined || authority.checksDpopProofs === true;
    return acceptsDpop ? `${bearer}, ${dpopChallenge}` : bearer;
  }

  function refuse(
    status: 400 | 401,
    error: string | null,
    description: string,
    scheme?: 'Bearer' | 'DPoP',
    extra: { tesseraReason?: string; headers?: Record<string, string> } = {},
  ): GuardResult {
    const params = error === null ? {} : { error, error_description: description };
    return {
      ok: false,
      refusal: {
        status,
        error: error ?? 'invalid_token',
        description,
        headers: {
          'www-authenticate': challenges(params, scheme),
          'cache-control': 'no-store',
          ...extra.headers,
        },
        setCookies: [],
        ...(extra.tesseraReason === undefined ? {} : { tesseraReason: extra.tesseraReason }),
      },
    };
  }

  function proofRefusal(proof: {
    error: string;
    description: string;
    nonce?: string;
  }): GuardResult {
    return refuse(401, proof.error, proof.description, 'DPoP', {
      ...(proof.nonce === undefined ? {} : { headers: { 'dpop-nonce': proof.nonce } }),
    });
  }

  function keyRefusal(scheme: 'Bearer' | 'DPoP'): GuardResult {
    return scheme === 'Bearer'
      ? refuse(
          401,
          'invalid_token',
          'this access token is DPoP-bound: send it with a DPoP proof',
          'DPoP',
        )
      : refuse(
          401,
          'invalid_token',
          'the DPoP proof is not by the key this token is bound to',
          'DPoP',
        );
  }

  function htu(request: BearerRequestView): string {
    if (publicOrigin === undefined) return request.url;
    const url = new URL(request.url);
    return `${publicOrigin}${url.pathname}`;
  }

  return {
    realm,
    async check(request, requirements = {}) {
      checkRequirementsOptions(requirements);
      if (request.tokenInQuery) {
        // Tokens in URLs end up in logs and Referer headers (RFC 6750 §5.3).
        return refuse(
          400,
          'invalid_request',
          'send the access token in the Authorization header, never in the URL',
        );
      }
      const presented = readAuthorization(request.header('authorization'));
      if (presented.kind === 'absent') return refuse(401, null, 'this route needs an access token');
      if (presented.kind === 'malformed')
        return refuse(400, 'invalid_request', presented.description);
      const { scheme, token } = presented;
      let session: SessionView;
      try {
        // A DPoP request proves possession first (RFC 9449 §7.1): the proof's key is what the
        // session's binding is compared with, and a bad proof learns nothing about the token.
        let provenJkt: string | undefined;
        let forwarded: ForwardedProof | undefined;
        if (scheme === 'DPoP') {
          const proofHeader = request.header('dpop');
          if (dpop !== undefined) {
            const proof = await dpop.verify({
              proof: proofHeader,
              method: request.method.toUpperCase(),
              url: htu(request),
              accessToken: token,
            });
            if (!proof.ok) return proofRefusal(proof);
            provenJkt = proof.jkt;
          } else if (authority.checksDpopProofs === true) {
            if (proofHeader === undefined || proofHeader.includes(',')) {
              return proofRefusal({
                error: 'invalid_dpop_proof',
                description: 'send exactly one DPoP proof',
              });
            }
            forwarded = {
              proof: proofHeader,
              method: request.method.toUpperCase(),
              url: htu(request),
            };
          } else {
            return refuse(
              401,
              'invalid_token',
              'this API does not accept DPoP-bound tokens',
              'Bearer',
            );
          }
        }
        const verdict = await authority.validate(token, {
          fresh: requirements.strict === true,
          ...(provenJkt === undefined ? {} : { dpopJkt: provenJkt }),
          ...(forwarded === undefined ? {} : { dpopProof: forwarded }),
        });
        if (!verdict.ok) {
          if (verdict.reason === 'bad_proof' && verdict.proof) return proofRefusal(verdict.proof);
          if (verdict.reason === 'key_mismatch') return keyRefusal(scheme);
          const description =
            verdict.reason === 'expired'
              ? 'the access token has expired: refresh it'
              : 'the access token is not valid';
          return refuse(401, 'invalid_token', description, undefined, {
            ...(verdict.tesseraReason === undefined
              ? {}
              : { tesseraReason: verdict.tesseraReason }),
          });
        }
        // The service checked the forwarded proof against the session's key.
        if (forwarded !== undefined && verdict.session.jkt !== null)
          provenJkt = verdict.session.jkt;
        session = verdict.session;
        // Checked here too, whatever the authority did: a remote one only reports `cnf.jkt`.
        // A bound token as Bearer, a proof by another key, or a proof on an unbound token: all
        // refused (RFC 9449 §7.1, §7.2).
        if (session.jkt !== provenJkt && !(session.jkt === null && provenJkt === undefined)) {
          return keyRefusal(scheme);
        }
      } catch (error) {
        if (error instanceof AuthorityUnavailableError || isStoreOutage(error)) {
          return { ok: false, refusal: unavailable() };
        }
        throw error;
      }
      const unmet = checkRequirements(session, requirements, { now: clock.now(), scheme, realm });
      if (unmet !== null) return { ok: false, refusal: unmet };
      return { ok: true, session, scheme };
    },
  };
}
