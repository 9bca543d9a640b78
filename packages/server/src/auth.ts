import type {
  Scope,
  ServiceKeyRecord,
  SessionRecord,
  Tessera,
  ValidateFailure,
} from '@tessera/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { dpopSchemeToken, refuseResourceProof, verifyRequestProof, WRONG_KEY } from './dpop.js';
import { type TesseraReason, tesseraReason } from './refusal-reason.js';

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or null when there is
 * no such header. Tokens are taken from this header only: never from a query string or cookie.
 */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined || header.length < 8) return null;
  // Scheme names are case-insensitive (RFC 9110 §11.1); one space, then the token.
  if (header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') return null;
  return header.slice(7).trim();
}

/** RFC 6750 §3: no credentials at all → a bare challenge, without an error code. */
const BARE_CHALLENGE = 'Bearer realm="tessera"';

function challenge(error: string, description: string, extra = '', scheme = 'Bearer'): string {
  return `${scheme} error="${error}", error_description="${description}"${extra}`;
}

function unauthorized(
  reply: FastifyReply,
  error: string | null,
  description: string,
  reason?: TesseraReason,
  scheme = 'Bearer',
) {
  const algs = scheme === 'DPoP' ? `, algs="${reply.server.tesseraDpop.algs}"` : '';
  return reply
    .code(401)
    .header(
      'www-authenticate',
      error === null ? BARE_CHALLENGE : challenge(error, description, algs, scheme),
    )
    .send({
      error: error ?? 'unauthorized',
      error_description: description,
      ...(reason === undefined ? {} : { tessera_reason: reason }),
    });
}

/**
 * Authenticates a backend by its service key and checks one scope (`admin` implies every
 * scope). On failure it answers (401, or 403 `insufficient_scope`) and returns null.
 */
export async function requireServiceKey(
  tessera: Tessera,
  request: FastifyRequest,
  reply: FastifyReply,
  scope: Scope,
): Promise<ServiceKeyRecord | null> {
  const token = bearerToken(request);
  if (token === null) {
    unauthorized(reply, null, 'this route needs Authorization: Bearer <service key>');
    return null;
  }
  const key = await tessera.authenticateServiceKey(token);
  if (key === null) {
    unauthorized(reply, 'invalid_token', 'the service key is not valid');
    return null;
  }
  if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) {
    reply
      .code(403)
      .header(
        'www-authenticate',
        challenge('insufficient_scope', `needs scope ${scope}`, `, scope="${scope}"`),
      )
      .send({
        error: 'insufficient_scope',
        error_description: `this route needs the "${scope}" scope`,
      });
    return null;
  }
  return key;
}

/**
 * A route `onRequest` hook that requires a service key with `scope`. It runs before the body is
 * read or validated: an unauthenticated caller gets its 401 without the server parsing anything,
 * and learns nothing about what the route would accept.
 *
 * @example
 * app.post('/v1/sessions', { onRequest: serviceKeyGuard(tessera, 'sessions:write') }, handler);
 */
export function serviceKeyGuard(tessera: Tessera, scope: Scope) {
  return async function guard(request: FastifyRequest, reply: FastifyReply) {
    if (!(await requireServiceKey(tessera, request, reply, scope))) return reply;
  };
}

/**
 * Why an access token was refused, as told to the app. Malformed, unknown and rotated-out tokens
 * read the same, so the answer does not help anyone probing tokens; the others tell the app
 * whether refreshing can help (expired access token) or a new sign-in is needed.
 */
const REFUSAL: Record<
  Exclude<ValidateFailure, 'insufficient_authentication' | 'dpop_binding_mismatch'>,
  string
> = {
  malformed: 'The access token is not valid',
  unknown: 'The access token is not valid',
  ended: 'The session has ended',
  idle_timeout: 'The session has expired',
  absolute_timeout: 'The session has expired',
  access_token_expired: 'The access token has expired',
};

/**
 * Authenticates an app by its access token (this counts as activity and slides the idle
 * deadline). With `maxAuthAgeSeconds`, an authentication older than that is refused with the
 * RFC 9470 challenge so the app can ask the user to re-authenticate. On failure it answers 401
 * and returns null.
 */
export async function requireAccessToken(
  tessera: Tessera,
  request: FastifyRequest,
  reply: FastifyReply,
  maxAuthAgeSeconds?: number,
): Promise<SessionRecord | null> {
  let token = bearerToken(request);
  // RFC 9449 §7.1: `Authorization: DPoP <token>` plus a proof. Only this scheme runs the
  // proof check, so the Bearer hot path of unbound sessions costs nothing more.
  let dpopJkt: string | undefined;
  if (token === null) {
    token = dpopSchemeToken(request);
    if (token === null) {
      unauthorized(reply, null, 'this route needs Authorization: Bearer <access token>');
      return null;
    }
    const proof = await verifyRequestProof(request, token);
    if (!proof.ok) {
      refuseResourceProof(reply, proof);
      return null;
    }
    dpopJkt = proof.jkt;
  }
  const scheme = dpopJkt === undefined ? 'Bearer' : 'DPoP';
  const result = await tessera.validate(
    token,
    maxAuthAgeSeconds === undefined && dpopJkt === undefined
      ? undefined
      : {
          ...(maxAuthAgeSeconds === undefined ? {} : { maxAuthAgeSeconds }),
          ...(dpopJkt === undefined ? {} : { dpopJkt }),
        },
  );
  if (result.ok) return result.session;
  if (result.reason === 'dpop_binding_mismatch') {
    // A bound token without a proof from its key: as Bearer, a downgrade (RFC 9449 §7.2);
    // with DPoP, a proof from another key (§4.3 check 12). Either way the DPoP challenge.
    refuseResourceProof(
      reply,
      scheme === 'Bearer'
        ? {
            error: 'invalid_token',
            description: 'this token is bound to a key: use Authorization: DPoP with a proof',
          }
        : WRONG_KEY,
    );
    return null;
  }
  if (result.reason === 'insufficient_authentication') {
    const description = 'A more recent authentication is required';
    reply
      .code(401)
      .header(
        'www-authenticate',
        challenge(
          'insufficient_user_authentication',
          description,
          `, max_age=${maxAuthAgeSeconds}`,
          scheme,
        ),
      )
      .send({ error: 'insufficient_user_authentication', error_description: description });
    return null;
  }
  // The RFC 6750 challenge stays the same; the body tells the token's holder why (see
  // refusal-reason.ts): refresh, or sign in again and for what reason.
  unauthorized(
    reply,
    'invalid_token',
    REFUSAL[result.reason],
    tesseraReason(result.reason, result.session?.endReason),
    scheme,
  );
  return null;
}
