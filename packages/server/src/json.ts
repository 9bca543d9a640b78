import type { IssuedSession, SessionEvent, SessionRecord } from '@tessera/core';

/*
 * Records → snake_case JSON answers. Only public fields are copied: token hashes, the sealed
 * successor and the generation never leave the server.
 */

/*
 * ISO-8601 strings by epoch ms, memoized: a session's times rarely change between two requests
 * (created, authenticated and absolute never do), and six `Date#toISOString` calls were a
 * visible share of the `GET /v1/session` hot path. Bounded: cleared when full.
 */
const ISO_CACHE_SIZE = 4096;
const isoCache = new Map<number, string>();
function iso(epochMs: number): string {
  let text = isoCache.get(epochMs);
  if (text === undefined) {
    if (isoCache.size >= ISO_CACHE_SIZE) isoCache.clear();
    text = new Date(epochMs).toISOString();
    isoCache.set(epochMs, text);
  }
  return text;
}

/** A session as the HTTP API shows it. */
export function sessionJson(session: SessionRecord) {
  const { device } = session;
  return {
    id: session.id,
    user_id: session.userId,
    policy: session.policy,
    created_at: iso(session.createdAt),
    last_active_at: iso(session.lastActiveAt),
    idle_expires_at: iso(session.idleExpiresAt),
    absolute_expires_at: iso(session.absoluteExpiresAt),
    authenticated_at: iso(session.authenticatedAt),
    auth_methods: session.authMethods,
    device: {
      id: device.id ?? null,
      name: device.name ?? null,
      platform: device.platform ?? null,
      app_version: device.appVersion ?? null,
      ip: device.ip ?? null,
      user_agent: device.userAgent ?? null,
    },
  };
}

/** A create or step-up answer: the session and its new token pair. */
export function issuedJson(issued: IssuedSession) {
  return {
    session: sessionJson(issued.session),
    access_token: issued.accessToken,
    refresh_token: issued.refreshToken,
    token_type: issued.session.dpopJkt === undefined ? ('Bearer' as const) : ('DPoP' as const),
    expires_in: issued.expiresIn,
  };
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** An event as the HTTP API shows it; `data` keys are snake_case too. */
export function eventJson(event: SessionEvent) {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event.data)) data[snake(key)] = value;
  return {
    id: event.id,
    type: event.type,
    at: iso(event.at),
    session_id: event.sessionId,
    user_id: event.userId,
    reason: event.reason,
    device_id: event.deviceId,
    ip: event.ip,
    data,
  };
}

/** Epoch milliseconds → whole epoch seconds, as RFC 7662 and JWT claims use. */
export const epochSeconds = (epochMs: number) => Math.floor(epochMs / 1000);
