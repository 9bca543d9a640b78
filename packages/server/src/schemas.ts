import type {} from '@fastify/swagger'; // route schema fields: summary, tags, security, …
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { EVENT_TYPES } from '@tessera/core';
import { TESSERA_REASONS } from './refusal-reason.js';

/*
 * TypeBox schemas of every request and answer. Request schemas are validated by ajv with
 * `additionalProperties: false` and no type coercion of bodies (see validation.ts), so an
 * unknown field or a wrong type is a 400 that names the field. Answer schemas compile to
 * fast-json-stringify serializers: faster than JSON.stringify, and a field not listed here can
 * never leak into an answer.
 */

const CLOSED = { additionalProperties: false } as const;

/** A string from a fixed list, as one `enum` keyword (clearer errors than TypeBox's `anyOf`). */
function stringEnum<T extends string>(
  values: readonly T[],
  options: { description?: string } = {},
) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

function nullable<T extends TSchema>(schema: T) {
  // One `type: [x, 'null']` keyword rather than `anyOf`: fast-json-stringify serializes it
  // without trying each branch.
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema['type'], 'null'] });
}

const DateTime = Type.String({ format: 'date-time', description: 'ISO-8601, UTC' });
const Token = Type.String({ minLength: 1, maxLength: 512 });
const UserId = Type.String({ minLength: 1, maxLength: 256 });
const SessionId = Type.String({ minLength: 1, maxLength: 64 });
const AuthMethods = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 });

export const END_REASONS_FOR_USER = [
  'logout_all',
  'password_changed',
  'privilege_changed',
  'account_disabled',
  'admin',
] as const;
export type UserEndReason = (typeof END_REASONS_FOR_USER)[number];

// ---------------------------------------------------------------- answers

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'machine-readable code (RFC 6749 §5.2 style)' }),
    error_description: Type.Optional(Type.String()),
    tessera_reason: Type.Optional(
      stringEnum(TESSERA_REASONS, {
        description:
          'Only on 401 invalid_token (access-token routes) and 400 invalid_grant (/v1/token), and only when the presented token matched a session: access_token_expired (the session is alive: refresh), or why the session is over (idle_timeout, absolute_timeout, or its end reason: logout, logout_all, password_changed, privilege_changed, account_disabled, device_lost, admin, refresh_token_reuse, session_limit). Absent for malformed or unknown tokens.',
      }),
    ),
  },
  { ...CLOSED, description: 'Every failure has this shape.' },
);

export const DeviceJson = Type.Object(
  {
    id: nullable(Type.String()),
    name: nullable(Type.String()),
    platform: nullable(Type.String()),
    app_version: nullable(Type.String()),
    ip: nullable(Type.String()),
    user_agent: nullable(Type.String()),
  },
  CLOSED,
);

const sessionProperties = {
  id: Type.String({ description: 'public session id; never a credential' }),
  user_id: Type.String(),
  policy: Type.String(),
  created_at: DateTime,
  last_active_at: DateTime,
  idle_expires_at: DateTime,
  absolute_expires_at: DateTime,
  authenticated_at: DateTime,
  auth_methods: Type.Array(Type.String()),
  device: DeviceJson,
};

export const SessionJson = Type.Object(sessionProperties, CLOSED);

export const OwnSessionJson = Type.Object(
  {
    ...sessionProperties,
    current: Type.Boolean({ description: 'true for the session of the presented access token' }),
  },
  CLOSED,
);

export const SessionList = Type.Object({ sessions: Type.Array(SessionJson) }, CLOSED);
export const OwnSessionList = Type.Object({ sessions: Type.Array(OwnSessionJson) }, CLOSED);

/** RFC 9449 §5: `DPoP` when the session is bound to a key. */
const TokenType = stringEnum(['Bearer', 'DPoP'] as const, {
  description: '"DPoP" when the session is bound to a key (RFC 9449 §5), else "Bearer"',
});

export const IssuedJson = Type.Object(
  {
    session: SessionJson,
    access_token: Type.String(),
    refresh_token: Type.String(),
    token_type: TokenType,
    expires_in: Type.Integer({ description: 'seconds until the access token expires' }),
  },
  CLOSED,
);

export const TokenJson = Type.Object(
  {
    access_token: Type.String(),
    token_type: TokenType,
    expires_in: Type.Integer(),
    refresh_token: Type.String(),
  },
  { ...CLOSED, description: 'RFC 6749 §5.1' },
);

export const IntrospectionJson = Type.Object(
  {
    active: Type.Boolean(),
    sub: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    auth_time: Type.Optional(Type.Integer()),
    policy: Type.Optional(Type.String()),
    token_type: Type.Optional(
      Type.String({ description: '"Bearer", "DPoP" (bound access token) or "refresh_token"' }),
    ),
    cnf: Type.Optional(
      Type.Object(
        { jkt: Type.String({ description: 'RFC 7638 thumbprint of the bound key' }) },
        { ...CLOSED, description: 'RFC 9449 §6.2: present when the session is DPoP-bound' },
      ),
    ),
  },
  { ...CLOSED, description: 'RFC 7662 §2.2; an inactive token is exactly {"active": false}' },
);

export const EndedJson = Type.Object({ ended: Type.Integer({ minimum: 0 }) }, CLOSED);

export const EventJson = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    at: DateTime,
    session_id: Type.String(),
    user_id: Type.String(),
    reason: nullable(Type.String()),
    device_id: nullable(Type.String()),
    ip: nullable(Type.String()),
    data: Type.Object({}, { additionalProperties: true }),
  },
  CLOSED,
);

export const EventPageJson = Type.Object(
  { events: Type.Array(EventJson), next_cursor: nullable(Type.String()) },
  CLOSED,
);

// ---------------------------------------------------------------- requests

/** Marks the optional empty body in the OpenAPI document (see build-server.ts). */
export const NO_BODY_DESCRIPTION = 'optional: no body, or an empty JSON object';

/** For routes that take no body: nothing, or an empty JSON object. */
export const NoBody = Type.Unsafe<Record<string, never> | null>({
  type: ['object', 'null'],
  properties: {},
  additionalProperties: false,
  description: NO_BODY_DESCRIPTION,
});

export const NoQuery = Type.Object({}, CLOSED);

const DpopProof = Type.String({
  minLength: 1,
  maxLength: 8192,
  description: 'a DPoP proof JWT (RFC 9449 §4.2), as the client sent it in its DPoP header',
});
const DpopHtm = Type.String({
  minLength: 1,
  maxLength: 16,
  description: 'the method of the request the proof came with',
});
const DpopHtu = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'the full URL of the request the proof came with',
});
const DpopJkt = Type.String({
  pattern: '^[A-Za-z0-9_-]{43}$',
  description: 'RFC 7638 SHA-256 JWK thumbprint, base64url (RFC 9449 §6.1)',
});

export const CreateSessionBody = Type.Object(
  {
    user_id: UserId,
    policy: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    auth_methods: Type.Optional(AuthMethods),
    device: Type.Optional(
      Type.Object(
        {
          id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          name: Type.Optional(Type.String({ maxLength: 256 })),
          platform: Type.Optional(Type.String({ maxLength: 64 })),
          app_version: Type.Optional(Type.String({ maxLength: 64 })),
        },
        CLOSED,
      ),
    ),
    ip: Type.Optional(Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$' })),
    user_agent: Type.Optional(Type.String({ maxLength: 512 })),
    dpop_jkt: Type.Optional(DpopJkt),
    dpop_proof: Type.Optional(DpopProof),
    dpop_htm: Type.Optional(DpopHtm),
    dpop_htu: Type.Optional(DpopHtu),
  },
  CLOSED,
);

export const TokenBody = Type.Object(
  {
    grant_type: Type.String({ maxLength: 64 }),
    refresh_token: Type.Optional(Type.String({ maxLength: 512 })),
    client_id: Type.Optional(
      Type.String({ maxLength: 256, description: 'accepted and ignored (public clients)' }),
    ),
  },
  CLOSED,
);

export const TokenHintBody = Type.Object(
  {
    token: Token,
    token_type_hint: Type.Optional(
      Type.String({ maxLength: 64, description: 'accepted; the token prefix decides' }),
    ),
  },
  CLOSED,
);

export const IntrospectBody = Type.Object(
  {
    token: Token,
    token_type_hint: Type.Optional(
      Type.String({ maxLength: 64, description: 'accepted; the token prefix decides' }),
    ),
    dpop_proof: Type.Optional(DpopProof),
    dpop_htm: Type.Optional(DpopHtm),
    dpop_htu: Type.Optional(DpopHtu),
  },
  CLOSED,
);

export const EndUserSessionsBody = Type.Object(
  {
    reason: stringEnum(END_REASONS_FOR_USER),
    except_session_id: Type.Optional(SessionId),
  },
  CLOSED,
);

export const StepUpBody = Type.Object(
  {
    auth_methods: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      minItems: 1,
      maxItems: 16,
    }),
  },
  CLOSED,
);

export const UserParams = Type.Object({ user_id: UserId }, CLOSED);
export const DeviceParams = Type.Object(
  { user_id: UserId, device_id: Type.String({ minLength: 1, maxLength: 256 }) },
  CLOSED,
);
export const SessionParams = Type.Object({ id: SessionId }, CLOSED);

export const SessionQuery = Type.Object(
  {
    max_auth_age: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 315_360_000,
        description: 'seconds; older authentication → 401 insufficient_user_authentication',
      }),
    ),
  },
  CLOSED,
);

/** ISO-8601 date-time with an explicit offset; the calendar is checked by `Date.parse`. */
export const ISO_DATE_TIME =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$';

export const EventsQuery = Type.Object(
  {
    user_id: Type.Optional(UserId),
    session_id: Type.Optional(SessionId),
    type: Type.Optional(stringEnum(EVENT_TYPES)),
    since: Type.Optional(
      Type.String({
        pattern: ISO_DATE_TIME,
        description: 'ISO-8601 date-time with offset, e.g. 2026-01-01T00:00:00Z',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  CLOSED,
);
