import { type Clock, systemClock } from './clock.js';
import { TesseraError } from './errors.js';
import { memoryNodeLeases } from './memory-node-leases.js';
import { type EndSelector, matchesEventQuery, type SessionStore } from './store.js';
import type {
  EventPage,
  OperatorRecord,
  ServiceKeyRecord,
  SessionEvent,
  SessionRecord,
} from './types.js';
import { memoryWebhookOutbox, webhookVerbs } from './webhooks-memory.js';

export interface MemoryStoreOptions {
  /** The clock of node leases (the "store's clock"). @default systemClock */
  clock?: Clock;
}

/**
 * A store in process memory: for tests and for single-process experiments. Everything is lost
 * when the process exits, so a server never defaults to it. Several engines on one memory
 * store behave as several nodes on one shared store: invalidation channel and node leases
 * included.
 *
 * @example
 * const tessera = createTessera({ store: createMemoryStore() });
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const leases = memoryNodeLeases(options.clock ?? systemClock);
  const outbox = memoryWebhookOutbox();
  const sessions = new Map<string, SessionRecord>();
  const byAccess = new Map<string, string>();
  const byRefresh = new Map<string, { sessionId: string; generation: number }>();
  const refreshOf = new Map<string, string[]>();
  const events: SessionEvent[] = [];
  const keys = new Map<string, ServiceKeyRecord>();
  /** DPoP replay cache: digest → expiresAt. */
  const dpopJtis = new Map<string, number>();
  const operators = new Map<string, OperatorRecord>();
  let secret: string | null = null;
  let eventSeq = 0;

  const copy = <T>(value: T): T => structuredClone(value);
  // Sessions are copied on every lookup (validate's hot path): a shallow copy of the record and
  // of its two nested values is all it takes to keep callers from mutating the store.
  const copySession = (s: SessionRecord): SessionRecord => ({
    ...s,
    authMethods: [...s.authMethods],
    device: { ...s.device },
  });

  function live(id: string): SessionRecord | null {
    const session = sessions.get(id);
    return session && session.endedAt === null ? session : null;
  }

  function end(session: SessionRecord, reason: SessionRecord['endReason'], at: number) {
    session.endedAt = at;
    session.endReason = reason;
    leases.announce(session.id);
    return copy(session);
  }

  const store = {
    async createSession(session) {
      if (sessions.has(session.id) || byAccess.has(session.accessTokenHash)) {
        throw new TesseraError('store_conflict', `session ${session.id} already exists`);
      }
      sessions.set(session.id, copy(session));
      byAccess.set(session.accessTokenHash, session.id);
      byRefresh.set(session.refreshTokenHash, {
        sessionId: session.id,
        generation: session.generation,
      });
      refreshOf.set(session.id, [session.refreshTokenHash]);
    },

    async getSession(id) {
      const session = sessions.get(id);
      return session ? copySession(session) : null;
    },

    async findByAccessTokenHash(hash) {
      const id = byAccess.get(hash);
      const session = id === undefined ? undefined : sessions.get(id);
      return session ? copySession(session) : null;
    },

    async findByRefreshTokenHash(hash) {
      const entry = byRefresh.get(hash);
      const session = entry && sessions.get(entry.sessionId);
      return entry && session
        ? { session: copySession(session), generation: entry.generation }
        : null;
    },

    async rotateSession(id, expectedGeneration, patch) {
      const session = live(id);
      if (!session || session.generation !== expectedGeneration) return false;
      byAccess.delete(session.accessTokenHash);
      Object.assign(session, copy(patch));
      byAccess.set(patch.accessTokenHash, id);
      byRefresh.set(patch.refreshTokenHash, { sessionId: id, generation: patch.generation });
      refreshOf.get(id)?.push(patch.refreshTokenHash);
      leases.announce(id);
      return true;
    },

    async touchSession(id, lastActiveAt, idleExpiresAt) {
      const session = live(id);
      if (!session) return;
      session.lastActiveAt = Math.max(session.lastActiveAt, lastActiveAt);
      session.idleExpiresAt = Math.max(session.idleExpiresAt, idleExpiresAt);
    },

    async endSession(id, reason, at) {
      const session = live(id);
      return session ? end(session, reason, at) : null;
    },

    async endSessionsForUser(userId, reason, at, selector: EndSelector = {}) {
      const ended: SessionRecord[] = [];
      for (const session of sessions.values()) {
        if (session.userId !== userId || session.endedAt !== null) continue;
        if (selector.exceptSessionId === session.id) continue;
        if (selector.deviceId !== undefined && session.device.id !== selector.deviceId) continue;
        ended.push(end(session, reason, at));
      }
      return ended;
    },

    async listSessionsForUser(userId, now) {
      return [...sessions.values()]
        .filter(
          (s) =>
            s.userId === userId &&
            s.endedAt === null &&
            now < s.idleExpiresAt &&
            now < s.absoluteExpiresAt,
        )
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
        .map(copy);
    },

    async appendEvent(event) {
      eventSeq += 1;
      const stored: SessionEvent = { ...copy(event), id: String(eventSeq) };
      events.push(stored);
      outbox.fanOut(stored);
      return copy(stored);
    },

    async queryEvents(query): Promise<EventPage> {
      const limit = query.limit ?? 100;
      const after = query.after === undefined ? 0 : Number(query.after);
      const matching = events.filter((e) => Number(e.id) > after && matchesEventQuery(e, query));
      const page = matching.slice(0, limit).map(copy);
      const last = page[page.length - 1];
      return { events: page, nextCursor: matching.length > limit && last ? last.id : null };
    },

    async purge(sessionsBefore, eventsBefore) {
      let removedSessions = 0;
      for (const session of [...sessions.values()]) {
        if ((session.endedAt ?? session.idleExpiresAt) >= sessionsBefore) continue;
        sessions.delete(session.id);
        byAccess.delete(session.accessTokenHash);
        for (const hash of refreshOf.get(session.id) ?? []) byRefresh.delete(hash);
        refreshOf.delete(session.id);
        removedSessions += 1;
      }
      for (const [digest, expiresAt] of dpopJtis) {
        if (expiresAt < sessionsBefore) dpopJtis.delete(digest);
      }
      const before = events.length;
      const kept = events.filter((e) => e.at >= eventsBefore);
      events.splice(0, events.length, ...kept);
      return { sessions: removedSessions, events: before - kept.length };
    },

    async rememberDpopJti({ digest, at, expiresAt }) {
      const known = dpopJtis.get(digest);
      if (known !== undefined && known > at) return false;
      dpopJtis.set(digest, expiresAt);
      return true;
    },

    async createServiceKey(key) {
      if (keys.has(key.id))
        throw new TesseraError('store_conflict', `service key ${key.id} exists`);
      keys.set(key.id, copy(key));
    },

    async findServiceKeyByHash(hash) {
      for (const key of keys.values()) if (key.keyHash === hash) return copy(key);
      return null;
    },

    async listServiceKeys() {
      return [...keys.values()].sort((a, b) => a.createdAt - b.createdAt).map(copy);
    },

    async revokeServiceKey(id, at) {
      const key = keys.get(id);
      if (!key || key.revokedAt !== null) return false;
      key.revokedAt = at;
      return true;
    },

    async countLiveSessionsByPolicy(now) {
      const counts: Record<string, number> = {};
      for (const s of sessions.values()) {
        if (s.endedAt !== null || now >= s.idleExpiresAt || now >= s.absoluteExpiresAt) continue;
        counts[s.policy] = (counts[s.policy] ?? 0) + 1;
      }
      return counts;
    },

    async createOperator(operator) {
      const taken = [...operators.values()].some((o) => o.name === operator.name);
      if (operators.has(operator.id) || taken) {
        throw new TesseraError('store_conflict', `operator ${operator.name} exists`);
      }
      operators.set(operator.id, copy(operator));
    },

    async getOperator(id) {
      const operator = operators.get(id);
      return operator ? copy(operator) : null;
    },

    async findOperatorByName(name) {
      for (const operator of operators.values()) if (operator.name === name) return copy(operator);
      return null;
    },

    async listOperators() {
      return [...operators.values()]
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
        .map(copy);
    },

    async setOperatorPassword(id, passwordHash, at) {
      const operator = operators.get(id);
      if (!operator) return false;
      Object.assign(operator, {
        passwordHash,
        passwordChangedAt: at,
        failedSignIns: 0,
        lastFailedSignInAt: null,
      });
      return true;
    },

    async setOperatorDisabled(id, at) {
      const operator = operators.get(id);
      if (!operator || (operator.disabledAt === null) === (at === null)) return false;
      operator.disabledAt = at;
      return true;
    },

    async recordOperatorFailure(id, at) {
      const operator = operators.get(id);
      if (!operator) return null;
      operator.failedSignIns += 1;
      operator.lastFailedSignInAt = at;
      return copy(operator);
    },

    async recordOperatorSignIn(id, at) {
      const operator = operators.get(id);
      if (!operator) return;
      Object.assign(operator, { failedSignIns: 0, lastFailedSignInAt: null, lastSignInAt: at });
    },

    async consoleSecret(candidate) {
      secret ??= candidate;
      return secret;
    },

    async ping() {},

    ...leases.verbs,
    ...webhookVerbs(outbox),

    async close() {
      leases.closeAll();
    },
  } satisfies SessionStore;
  return store;
}
