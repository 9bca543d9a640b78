import type { Static } from '@sinclair/typebox';
import { hashToken, type Tessera } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { serviceKeyGuard } from '../auth.js';
import { refuseGrantProof, sendNonce, verifyRequestProof, WRONG_KEY } from '../dpop.js';
import { epochSeconds } from '../json.js';
import { tesseraReason } from '../refusal-reason.js';
import {
  ErrorBody,
  IntrospectBody,
  IntrospectionJson,
  NoQuery,
  TokenBody,
  TokenHintBody,
  TokenJson,
} from '../schemas.js';

/** Limits for one route, as @fastify/rate-limit reads them from the route config. */
export interface RouteRateLimit {
  max: number;
  timeWindow: number;
}

export interface OAuthRouteOptions {
  tessera: Tessera;
  /** false when rate limiting is off. */
  tokenRateLimit: RouteRateLimit | false;
  revokeRateLimit: RouteRateLimit | false;
}

const CONSUMES = ['application/x-www-form-urlencoded', 'application/json'];
const FAILURES = { '4xx': ErrorBody, '5xx': ErrorBody };
const INACTIVE = { active: false } as const;

/**
 * The OAuth-shaped endpoints: token (RFC 6749 refresh grant), revocation (RFC 7009) and
 * introspection (RFC 7662). They accept form bodies as the RFCs define them, and JSON; the
 * caller registers @fastify/formbody in their scope.
 */
export function registerOAuthRoutes(app: FastifyInstance, options: OAuthRouteOptions): void {
  const { tessera, tokenRateLimit, revokeRateLimit } = options;

  app.post<{ Body: Static<typeof TokenBody> }>(
    '/v1/token',
    {
      config: tokenRateLimit ? { rateLimit: tokenRateLimit } : {},
      schema: {
        summary: 'Refresh: exchange the refresh token for a new pair (RFC 6749 §6)',
        description:
          'The refresh token rotates on every use. Presenting the previous one again within the grace window returns the same new pair; presenting a rotated token later ends the session (reuse detection). Every failure is `invalid_grant`, whatever the cause; `tessera_reason` tells the holder of a token that matched a session why. A DPoP-bound session (RFC 9449 §5) needs a `DPoP` proof header made with its key: `invalid_dpop_proof` otherwise, `use_dpop_nonce` (with a `DPoP-Nonce` header) when server nonces are on; its answers say `token_type: "DPoP"`.',
        tags: ['client'],
        consumes: CONSUMES,
        querystring: NoQuery,
        body: TokenBody,
        response: { 200: TokenJson, ...FAILURES },
      },
    },
    async (request, reply) => {
      const { grant_type, refresh_token } = request.body;
      if (grant_type !== 'refresh_token') {
        return reply.code(400).send({
          error: 'unsupported_grant_type',
          error_description: 'only grant_type=refresh_token is supported',
        });
      }
      if (refresh_token === undefined) {
        return reply
          .code(400)
          .send({ error: 'invalid_request', error_description: 'body/refresh_token is required' });
      }
      // RFC 9449 §5: a proof, when sent, is checked whatever the token; a bound session then
      // rotates only with a proof from its key (the engine compares the thumbprints).
      let dpopJkt: string | undefined;
      if (request.headers.dpop !== undefined) {
        const proof = await verifyRequestProof(request);
        if (!proof.ok) return refuseGrantProof(reply, proof);
        dpopJkt = proof.jkt;
      }
      const result = await tessera.refresh(
        refresh_token,
        dpopJkt === undefined ? undefined : { dpopJkt },
      );
      if (!result.ok && result.reason === 'dpop_binding_mismatch') {
        return refuseGrantProof(reply, WRONG_KEY);
      }
      if (!result.ok) {
        // One `error` for unknown, expired, ended and reused tokens (RFC 6749 §5.2). Only when
        // the token matched a session does `tessera_reason` tell its holder why (a stranger
        // cannot send such a token): see refusal-reason.ts.
        const reason = tesseraReason(
          result.reason,
          // Only an ended session needs a second read, for its end reason: refusals are rare,
          // so the engine's result stays as it is for every other caller.
          result.reason === 'ended'
            ? (await tessera.store.findByRefreshTokenHash(hashToken(refresh_token)))?.session
                .endReason
            : undefined,
        );
        return reply.code(400).send({
          error: 'invalid_grant',
          error_description: 'the refresh token is invalid, expired or revoked',
          ...(reason === undefined ? {} : { tessera_reason: reason }),
        });
      }
      if (dpopJkt !== undefined) sendNonce(reply);
      return {
        access_token: result.accessToken,
        token_type: result.session.dpopJkt === undefined ? 'Bearer' : 'DPoP',
        expires_in: result.expiresIn,
        refresh_token: result.refreshToken,
      };
    },
  );

  app.post<{ Body: Static<typeof TokenHintBody> }>(
    '/v1/revoke',
    {
      config: revokeRateLimit ? { rateLimit: revokeRateLimit } : {},
      schema: {
        summary: 'Log out: revoke an access or refresh token (RFC 7009)',
        description:
          'Ends the whole session the token belongs to, so both of its tokens stop working at once. Answers 200 with an empty body also for unknown or invalid tokens (RFC 7009 §2.2).',
        tags: ['client'],
        consumes: CONSUMES,
        querystring: NoQuery,
        body: TokenHintBody,
        response: { 200: { type: 'null', description: 'empty body' }, ...FAILURES },
      },
    },
    async (request, reply) => {
      await tessera.revoke(request.body.token);
      return reply.code(200).send();
    },
  );

  app.post<{ Body: Static<typeof IntrospectBody> }>(
    '/v1/introspect',
    {
      onRequest: serviceKeyGuard(tessera, 'introspect'),
      schema: {
        summary: 'Is this token active? (RFC 7662)',
        description:
          'For a backend (service key with the introspect scope). An access token is validated exactly as on GET /v1/session, which counts as activity. A refresh token is looked at without rotating it. Anything else answers exactly {"active": false}. A DPoP-bound token answers `token_type: "DPoP"` and `cnf: {jkt}` (RFC 9449 §6.2). A resource server may forward the proof it received (`dpop_proof`, with the request\'s `dpop_htm` and `dpop_htu`): it is then checked here (signature, htm, htu, iat, ath, jti replay, nonce, bound key), and a failure answers 400 `invalid_dpop_proof` or `use_dpop_nonce` (+ `DPoP-Nonce`).',
        tags: ['backend'],
        security: [{ serviceKey: [] }],
        consumes: CONSUMES,
        querystring: NoQuery,
        body: IntrospectBody,
        response: { 200: IntrospectionJson, ...FAILURES },
      },
    },
    async (request, reply) => {
      // The prefix decides, not token_type_hint (RFC 7662 §2.1 lets the server ignore it).
      const { token, dpop_proof, dpop_htm, dpop_htu } = request.body;
      if (token.startsWith('tsa_')) {
        // A resource server may forward the DPoP proof it received (with the method and URL it
        // received it on): the proof is then checked here, `ath` and the replay cache included,
        // and a bound token is active only with a proof from its key. Without a proof the
        // binding is reported (`cnf.jkt`, RFC 9449 §6.2) for the resource server to enforce.
        let dpopJkt: string | undefined;
        if (dpop_proof !== undefined) {
          if (dpop_htm === undefined || dpop_htu === undefined) {
            return reply.code(400).send({
              error: 'invalid_request',
              error_description: 'body/dpop_proof needs body/dpop_htm and body/dpop_htu',
            });
          }
          const proof = await request.server.tesseraDpop.verifier.verify({
            proof: dpop_proof,
            method: dpop_htm,
            url: dpop_htu,
            accessToken: token,
          });
          if (!proof.ok) return refuseGrantProof(reply, proof);
          dpopJkt = proof.jkt;
        }
        // Fresh: a resource server may act on this answer for a while, so it must reflect an end
        // made on any node a moment ago. Only an exact cache may answer it (SQLite's
        // data_version, or node leases on Redis and PostgreSQL); otherwise the store does.
        const result = await tessera.validate(
          token,
          dpopJkt === undefined
            ? { fresh: true, ignoreDpopBinding: true }
            : { fresh: true, dpopJkt },
        );
        if (!result.ok && result.reason === 'dpop_binding_mismatch') {
          return refuseGrantProof(reply, WRONG_KEY);
        }
        if (!result.ok) return INACTIVE;
        const s = result.session;
        return {
          active: true,
          sub: s.userId,
          sid: s.id,
          exp: epochSeconds(Math.min(s.accessExpiresAt, s.idleExpiresAt)),
          iat: epochSeconds(s.rotatedAt),
          auth_time: epochSeconds(s.authenticatedAt),
          policy: s.policy,
          token_type: s.dpopJkt === undefined ? 'Bearer' : 'DPoP',
          ...(s.dpopJkt === undefined ? {} : { cnf: { jkt: s.dpopJkt } }),
        };
      }
      if (token.startsWith('tsr_')) {
        const s = await tessera.inspectRefreshToken(token);
        if (s === null) return INACTIVE;
        return {
          active: true,
          sub: s.userId,
          sid: s.id,
          // A refresh token lives as long as the session stays active (idle ≤ absolute).
          exp: epochSeconds(s.idleExpiresAt),
          iat: epochSeconds(s.rotatedAt),
          auth_time: epochSeconds(s.authenticatedAt),
          policy: s.policy,
          token_type: 'refresh_token',
          ...(s.dpopJkt === undefined ? {} : { cnf: { jkt: s.dpopJkt } }),
        };
      }
      return INACTIVE;
    },
  );
}
