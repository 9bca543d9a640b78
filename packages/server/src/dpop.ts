import {
  createDpopNonces,
  createDpopVerifier,
  type DpopProofResult,
  type DpopVerifier,
  type Tessera,
  TesseraError,
} from '@tessera/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** DPoP (RFC 9449) settings of the service. */
export interface DpopServerOptions {
  /** Accepted proof algorithms (asymmetric only). @default ['ES256', 'EdDSA', 'Ed25519'] */
  algorithms?: string[];
  /** How old a proof's `iat` may be. @default 60 */
  maxAgeSeconds?: number;
  /** How far ahead of our clock a proof's `iat` may be. @default 5 */
  clockSkewSeconds?: number;
  /**
   * Turns server nonces on (RFC 9449 §8, §9): the MAC key (≥ 32 bytes), the same on every node.
   * Every proof must then carry a current nonce; refusals answer `use_dpop_nonce` with one.
   */
  nonceSecret?: string;
  /** How long one nonce is handed out (accepted for two such slots). @default 300 */
  nonceSlotSeconds?: number;
}

/** What the routes need to check proofs, built once per server. */
export interface DpopContext {
  readonly verifier: DpopVerifier;
  /** The `htu` a proof sent to this request must carry: the public URL, without query. */
  requestUrl(request: FastifyRequest): string;
  /** `algs="…"` for the `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1). */
  readonly algs: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    tesseraDpop: DpopContext;
  }
}

/**
 * Builds the DPoP context of a server. `publicUrl` is the service's URL as clients see it
 * (`https://auth.example.com`, or with a path prefix if a proxy mounts it below one): `htu` is
 * compared with it. Without it the URL is rebuilt from the request (scheme from the connection
 * or, with `trustProxy`, `X-Forwarded-Proto`; host from `Host`), which is right only when
 * clients reach the service directly or through a proxy that keeps both.
 */
export function createDpopContext(
  tessera: Tessera,
  publicUrl: string | undefined,
  options: DpopServerOptions = {},
): DpopContext {
  let base: string | null = null;
  if (publicUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(publicUrl);
    } catch {
      throw new TesseraError(
        'invalid_config',
        `public_url must be an absolute URL (got ${publicUrl})`,
      );
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
      throw new TesseraError(
        'invalid_config',
        `public_url must be an http(s) URL without query or fragment (got ${publicUrl})`,
      );
    }
    base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  }
  const { nonceSecret, nonceSlotSeconds, ...verifierOptions } = options;
  const nonces =
    nonceSecret === undefined
      ? undefined
      : createDpopNonces({
          secret: nonceSecret,
          clock: tessera.clock,
          ...(nonceSlotSeconds === undefined ? {} : { slotSeconds: nonceSlotSeconds }),
        });
  const verifier = createDpopVerifier({
    store: tessera.store,
    clock: tessera.clock,
    ...verifierOptions,
    ...(nonces ? { nonces } : {}),
  });
  return {
    verifier,
    algs: verifier.algorithms.join(' '),
    requestUrl(request) {
      const path = request.url.split('?', 1)[0] as string;
      return base === null ? `${request.protocol}://${request.host}${path}` : `${base}${path}`;
    },
  };
}

/** Makes the context reachable from every route (`request.server.tesseraDpop`). */
export function registerDpop(app: FastifyInstance, context: DpopContext): void {
  app.decorate('tesseraDpop', context);
}

/** The token of an `Authorization: DPoP <token>` header (RFC 9449 §7.1), or null. */
export function dpopSchemeToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined || header.length < 6) return null;
  if (header.charCodeAt(4) !== 32 || header.slice(0, 4).toLowerCase() !== 'dpop') return null;
  return header.slice(5).trim();
}

/** Checks the request's `DPoP` header for this route's method and URL. */
export function verifyRequestProof(
  request: FastifyRequest,
  accessToken?: string,
): Promise<DpopProofResult> {
  const context = request.server.tesseraDpop;
  return context.verifier.verify({
    proof: request.headers.dpop,
    method: request.method,
    url: context.requestUrl(request),
    ...(accessToken === undefined ? {} : { accessToken }),
  });
}

/** The `DPoP-Nonce` header to send with an answer, when server nonces are on (RFC 9449 §8). */
export function sendNonce(reply: FastifyReply, nonce?: string): FastifyReply {
  const value = nonce ?? reply.server.tesseraDpop.verifier.currentNonce();
  if (value !== undefined) reply.header('dpop-nonce', value);
  return reply;
}

/** `WWW-Authenticate: DPoP error="…", error_description="…", algs="…"` (RFC 9449 §7.1). */
export function dpopChallenge(reply: FastifyReply, error: string, description: string): string {
  const { algs } = reply.server.tesseraDpop;
  return `DPoP error="${error}", error_description="${description}", algs="${algs}"`;
}

type Refusal = { error: string; description: string; nonce?: string | undefined };

/** A resource route's refusal of a DPoP request: 401 with the DPoP challenge. */
export function refuseResourceProof(reply: FastifyReply, refusal: Refusal) {
  return sendNonce(reply, refusal.nonce)
    .code(401)
    .header('www-authenticate', dpopChallenge(reply, refusal.error, refusal.description))
    .send({ error: refusal.error, error_description: refusal.description });
}

/** The token endpoint's (or a backend route's) refusal of a proof: 400 (RFC 9449 §5, §8). */
export function refuseGrantProof(reply: FastifyReply, refusal: Refusal) {
  return sendNonce(reply, refusal.nonce)
    .code(400)
    .send({ error: refusal.error, error_description: refusal.description });
}

/** The refusal for a verified proof made with another key than the one the token is bound to. */
export const WRONG_KEY: Refusal = {
  error: 'invalid_dpop_proof',
  description: 'the token is bound to a key: a DPoP proof made with that key is required',
};
