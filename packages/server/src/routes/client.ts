import type { Static } from '@sinclair/typebox';
import type { Tessera } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { bearerToken, requireAccessToken, serviceKeyGuard } from '../auth.js';
import { sessionJson } from '../json.js';
import {
  EndedJson,
  ErrorBody,
  NoBody,
  NoQuery,
  OwnSessionList,
  SessionJson,
  SessionParams,
  SessionQuery,
} from '../schemas.js';
import { endSessionAsAdmin, NOT_FOUND } from './backend.js';

const ACCESS_TOKEN: { [scheme: string]: string[] }[] = [
  { accessToken: [] },
  { dpopAccessToken: [] },
];
const FAILURES = { '4xx': ErrorBody, '5xx': ErrorBody };

/**
 * Client-facing routes: the app calls these with its access token (`Authorization: Bearer
 * tsa_…`). Each validation counts as activity and slides the idle deadline. A user only ever
 * sees and ends their own sessions; another user's session answers exactly like an unknown one.
 */
export function registerClientRoutes(app: FastifyInstance, tessera: Tessera): void {
  // The hot path: one validation and one serialization, nothing else.
  app.get<{ Querystring: Static<typeof SessionQuery> }>(
    '/v1/session',
    {
      schema: {
        summary: "The caller's session",
        description:
          'With `max_auth_age=N`, a session whose last authentication is older than N seconds answers 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=N` (RFC 9470): ask the user to re-authenticate, then have the backend call step-up.',
        tags: ['client'],
        security: ACCESS_TOKEN,
        querystring: SessionQuery,
        response: { 200: SessionJson, ...FAILURES },
      },
    },
    async (request, reply) => {
      const session = await requireAccessToken(tessera, request, reply, request.query.max_auth_age);
      return session === null ? reply : sessionJson(session);
    },
  );

  app.get(
    '/v1/sessions',
    {
      schema: {
        summary: "The caller's live sessions (all devices), the current one marked",
        tags: ['client'],
        security: ACCESS_TOKEN,
        querystring: NoQuery,
        response: { 200: OwnSessionList, ...FAILURES },
      },
    },
    async (request, reply) => {
      const current = await requireAccessToken(tessera, request, reply);
      if (current === null) return reply;
      const sessions = await tessera.listForUser(current.userId);
      return {
        sessions: sessions.map((s) => ({ ...sessionJson(s), current: s.id === current.id })),
      };
    },
  );

  app.delete(
    '/v1/sessions',
    {
      schema: {
        summary: "End all of the caller's other sessions (reason logout_all)",
        tags: ['client'],
        security: ACCESS_TOKEN,
        querystring: NoQuery,
        body: NoBody,
        response: { 200: EndedJson, ...FAILURES },
      },
    },
    async (request, reply) => {
      const current = await requireAccessToken(tessera, request, reply);
      if (current === null) return reply;
      const ended = await tessera.endAllForUser(current.userId, 'logout_all', {
        exceptSessionId: current.id,
      });
      return { ended: ended.length };
    },
  );

  const adminGuard = serviceKeyGuard(tessera, 'sessions:write');
  app.delete<{ Params: Static<typeof SessionParams> }>(
    '/v1/sessions/:id',
    {
      // One path, two callers, told apart by the credential's prefix (DESIGN.md §2): a service
      // key is checked here, before the body is read, like on every backend route.
      onRequest: (request, reply) =>
        bearerToken(request)?.startsWith('tsk_') ? adminGuard(request, reply) : Promise.resolve(),
      schema: {
        summary: 'End one session',
        description:
          "With an access token: one of the caller's own sessions (reason logout); any other id answers 404, whether it exists or not. With a service key (scope sessions:write): any live session (reason admin); 404 when unknown or already ended.",
        tags: ['client', 'backend'],
        security: [{ accessToken: [] }, { serviceKey: [] }],
        params: SessionParams,
        querystring: NoQuery,
        body: NoBody,
        response: { 200: EndedJson, ...FAILURES },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (bearerToken(request)?.startsWith('tsk_')) {
        // authenticated and scope-checked by the onRequest hook
        return (await endSessionAsAdmin(tessera, id)) ?? reply.code(404).send(NOT_FOUND);
      }
      const current = await requireAccessToken(tessera, request, reply);
      if (current === null) return reply;
      // Same lookup and same answer for "unknown" and "someone else's": nothing to tell apart.
      const target = await tessera.getLiveSession(id);
      if (target === null || target.userId !== current.userId) {
        return reply.code(404).send(NOT_FOUND);
      }
      const ended = await tessera.end(id, 'logout');
      return ended === null ? reply.code(404).send(NOT_FOUND) : { ended: 1 };
    },
  );
}
