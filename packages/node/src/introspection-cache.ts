import { hashToken } from '@tessera/core';
import type { SessionView } from './session-view.js';

/** Longest a positive introspection answer may be reused. */
export const MAX_INTROSPECTION_CACHE_SECONDS = 30;

export interface IntrospectionCache {
  get(accessToken: string, now: number): SessionView | undefined;
  put(accessToken: string, view: SessionView, now: number): void;
  /** Forgets the session this access token belongs to (a revoke or step-up through us). */
  forgetToken(accessToken: string): void;
  forgetSession(sessionId: string): void;
  forgetUser(userId: string): void;
  readonly size: number;
}

/**
 * A short cache of *positive* introspection answers, keyed by the token's SHA-256 (the token
 * itself is never kept). Why it is revocation-safe: an entry lives at most `ttlSeconds` (≤ 30,
 * default 5) and never past the token's own expiry, so a session revoked elsewhere is refused
 * here within that bound; revocations made through this backend drop their entries at once.
 * Refusals are never cached, so nothing is ever refused longer than the service refuses it.
 * Bounded in size: the oldest entries go first.
 */
export function createIntrospectionCache(
  ttlSeconds: number,
  maxEntries = 10_000,
): IntrospectionCache {
  if (
    !Number.isInteger(ttlSeconds) ||
    ttlSeconds < 0 ||
    ttlSeconds > MAX_INTROSPECTION_CACHE_SECONDS
  ) {
    throw new TypeError(
      `cacheTtlSeconds must be a whole number from 0 to ${MAX_INTROSPECTION_CACHE_SECONDS} (got ${JSON.stringify(ttlSeconds)})`,
    );
  }
  const entries = new Map<string, { view: SessionView; until: number }>();
  const ttlMs = ttlSeconds * 1000;
  const dropWhere = (match: (view: SessionView) => boolean) => {
    for (const [key, entry] of entries) if (match(entry.view)) entries.delete(key);
  };
  return {
    get(accessToken, now) {
      if (ttlMs === 0) return undefined;
      const key = hashToken(accessToken);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (now >= entry.until) {
        entries.delete(key);
        return undefined;
      }
      return entry.view;
    },
    put(accessToken, view, now) {
      if (ttlMs === 0) return;
      const until = Math.min(now + ttlMs, view.expiresAt);
      if (until <= now) return;
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(hashToken(accessToken), { view, until });
    },
    forgetToken(accessToken) {
      const key = hashToken(accessToken);
      const entry = entries.get(key);
      entries.delete(key);
      if (entry) dropWhere((view) => view.sessionId === entry.view.sessionId);
    },
    forgetSession(sessionId) {
      dropWhere((view) => view.sessionId === sessionId);
    },
    forgetUser(userId) {
      dropWhere((view) => view.userId === userId);
    },
    get size() {
      return entries.size;
    },
  };
}
