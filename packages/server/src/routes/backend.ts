import type { Static } from '@sinclair/typebox';
import type { Tessera } from '@tessera/core';
import type { FastifyInstance } from 'fastify';
import { serviceKeyGuard } from '../auth.js';
import { refuseGrantProof } from '../dpop.js';
import { dpopBindingOf } from '../dpop-binding.js';
import { eventJson, issuedJson, sessionJson } from '../json.js';
import {
  CreateSessionBody,
  DeviceParams,
  EndedJson,
  EndUserSessionsBody,
  ErrorBody,
  EventPageJson,
  EventsQuery,
  IssuedJson,
  NoBody,
  NoQuery,
  SessionList,
  SessionParams,
  StepUpBody,
  UserParams,
} from '../schemas.js';

const SERVICE_KEY = [{ serviceKey: [] }];
const FAILURES = { '4xx': ErrorBody, '5xx': ErrorBody };
export const NOT_FOUND = { error: 'not_found', error_description: 'no live session with this id' };

/**
 * Backend-facing routes (DESIGN.md §5): the application's servers call these with a service key
 * (`Authorization: Bearer tsk_…`) that carries the route's scope. `DELETE /v1/sessions/:id` is
 * registered by the client routes, which dispatch service keys to `endSessionAsAdmin`.
 */
export function registerBackendRoutes(app: FastifyInstance, tessera: Tessera): void {
  app.post<{ Body: Static<typeof CreateSessionBody> }>(
    '/v1/sessions',
    {
      onRequest: serviceKeyGuard(tessera, 'sessions:write'),
      schema: {
        summary: 'Create a session after the application authenticated the user',
        description:
          'Always mints a fresh session id and token pair (a client-supplied id is never adopted). `ip` and `user_agent` are those of the end user as the backend saw them, not of the backend. To bind the session to the app\'s key (RFC 9449 DPoP), send `dpop_jkt` (its RFC 7638 thumbprint), or forward the proof the app sent with its sign-in request as `dpop_proof` with that request\'s `dpop_htm` and `dpop_htu` (checked in full; a failure answers 400 `invalid_dpop_proof`); the answer then says `token_type: "DPoP"`.',
        tags: ['backend'],
        security: SERVICE_KEY,
        querystring: NoQuery,
        body: CreateSessionBody,
        response: { 201: IssuedJson, ...FAILURES },
      },
    },
    async (request, reply) => {
      const { user_id, policy, auth_methods, device, ip, user_agent } = request.body;
      const binding = await dpopBindingOf(request.body, request.server.tesseraDpop.verifier);
      if (!binding.ok) {
        return binding.error === 'invalid_request'
          ? reply.code(400).send({ error: binding.error, error_description: binding.description })
          : refuseGrantProof(reply, binding);
      }
      const issued = await tessera.create({
        ...(binding.jkt === undefined ? {} : { dpopJkt: binding.jkt }),
        userId: user_id,
        ...(policy === undefined ? {} : { policy }),
        ...(auth_methods === undefined ? {} : { authMethods: auth_methods }),
        device: {
          ...(device?.id === undefined ? {} : { id: device.id }),
          ...(device?.name === undefined ? {} : { name: device.name }),
          ...(device?.platform === undefined ? {} : { platform: device.platform }),
          ...(device?.app_version === undefined ? {} : { appVersion: device.app_version }),
          ...(ip === undefined ? {} : { ip }),
          ...(user_agent === undefined ? {} : { userAgent: user_agent }),
        },
      });
      return reply.code(201).send(issuedJson(issued));
    },
  );

  app.get<{ Params: Static<typeof UserParams> }>(
    '/v1/users/:user_id/sessions',
    {
      onRequest: serviceKeyGuard(tessera, 'sessions:read'),
      schema: {
        summary: "A user's live sessions, oldest first",
        tags: ['backend'],
        security: SERVICE_KEY,
        params: UserParams,
        querystring: NoQuery,
        response: { 200: SessionList, ...FAILURES },
      },
    },
    async (request) => {
      const sessions = await tessera.listForUser(request.params.user_id);
      return { sessions: sessions.map(sessionJson) };
    },
  );

  app.post<{ Params: Static<typeof UserParams>; Body: Static<typeof EndUserSessionsBody> }>(
    '/v1/users/:user_id/sessions/end',
    {
      onRequest: serviceKeyGuard(tessera, 'sessions:write'),
      schema: {
        summary: "End a user's sessions (password change, logout everywhere, …)",
        description:
          'Ends every live session of the user, except `except_session_id` when given (for example the session that changed the password).',
        tags: ['backend'],
        security: SERVICE_KEY,
        params: UserParams,
        querystring: NoQuery,
        body: EndUserSessionsBody,
        response: { 200: EndedJson, ...FAILURES },
      },
    },
    async (request) => {
      const { reason, except_session_id } = request.body;
      const ended = await tessera.endAllForUser(
        request.params.user_id,
        reason,
        except_session_id === undefined ? {} : { exceptSessionId: except_session_id },
      );
      return { ended: ended.length };
    },
  );

  app.post<{ Params: Static<typeof DeviceParams> }>(
    '/v1/users/:user_id/devices/:device_id/end',
    {
      onRequest: serviceKeyGuard(tessera, 'sessions:write'),
      schema: {
        summary: 'End every session of one device of a user (reason device_lost)',
        tags: ['backend'],
        security: SERVICE_KEY,
        params: DeviceParams,
        querystring: NoQuery,
        body: NoBody,
        response: { 200: EndedJson, ...FAILURES },
      },
    },
    async (request) => {
      const { user_id, device_id } = request.params;
      const ended = await tessera.endDevice(user_id, device_id, 'device_lost');
      return { ended: ended.length };
    },
  );

  app.post<{ Params: Static<typeof SessionParams>; Body: Static<typeof StepUpBody> }>(
    '/v1/sessions/:id/step-up',
    {
      onRequest: serviceKeyGuard(tessera, 'sessions:write'),
      schema: {
        summary: 'Record a fresh authentication and issue a new token pair',
        description:
          'Call after the user re-authenticated (RFC 9470 step-up). The old access and refresh tokens stop working at once.',
        tags: ['backend'],
        security: SERVICE_KEY,
        params: SessionParams,
        querystring: NoQuery,
        body: StepUpBody,
        response: { 200: IssuedJson, ...FAILURES },
      },
    },
    async (request, reply) => {
      const result = await tessera.stepUp(request.params.id, {
        authMethods: request.body.auth_methods,
      });
      if (!result.ok) return reply.code(404).send(NOT_FOUND);
      return issuedJson(result);
    },
  );

  app.get<{ Querystring: Static<typeof EventsQuery> }>(
    '/v1/events',
    {
      onRequest: serviceKeyGuard(tessera, 'sessions:read'),
      schema: {
        summary: 'Session events, oldest first, in pages',
        description:
          '`since` is an ISO-8601 date-time with an offset (for example 2026-01-01T00:00:00Z). Pass `next_cursor` as `cursor` for the next page; it is null on the last page.',
        tags: ['backend'],
        security: SERVICE_KEY,
        querystring: EventsQuery,
        response: { 200: EventPageJson, ...FAILURES },
      },
    },
    async (request, reply) => {
      const { user_id, session_id, type, since, limit = 100, cursor } = request.query;
      let sinceMs: number | undefined;
      if (since !== undefined) {
        sinceMs = Date.parse(since);
        if (Number.isNaN(sinceMs)) {
          return reply.code(400).send({
            error: 'invalid_request',
            error_description: 'querystring/since is not a valid date-time',
          });
        }
      }
      const page = await tessera.events({
        limit,
        ...(user_id === undefined ? {} : { userId: user_id }),
        ...(session_id === undefined ? {} : { sessionId: session_id }),
        ...(type === undefined ? {} : { type }),
        ...(sinceMs === undefined ? {} : { since: sinceMs }),
        ...(cursor === undefined ? {} : { after: cursor }),
      });
      return { events: page.events.map(eventJson), next_cursor: page.nextCursor };
    },
  );
}

/** `DELETE /v1/sessions/:id` with a service key: ends any session, reason `admin`. */
export async function endSessionAsAdmin(tessera: Tessera, sessionId: string) {
  // Through getLiveSession first: an expired session is settled with its real reason
  // (idle/absolute timeout) and answers 404, rather than being recorded as an admin end.
  if ((await tessera.getLiveSession(sessionId)) === null) return null;
  return (await tessera.end(sessionId, 'admin')) === null ? null : { ended: 1 };
}
