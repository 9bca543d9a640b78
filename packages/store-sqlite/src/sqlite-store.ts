import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  type EventPage,
  type NewSessionEvent,
  type RotationPatch,
  type SessionEvent,
  type SessionRecord,
  type SessionStore,
  TesseraError,
} from '@tessera/core';
import type BetterSqlite3 from 'better-sqlite3';
import { migrateSchema } from './migrate.js';
import { sqliteOperatorVerbs } from './operators.js';
import {
  rowToEvent,
  rowToServiceKey,
  rowToSession,
  serviceKeyToRow,
  sessionToRow,
} from './rows.js';
import {
  EVENT_FILTERS,
  type EventFilterKey,
  type EventQueryParams,
  prepareStatements,
} from './statements.js';
import { translateError } from './translate-error.js';
import { prepareWebhookFanOut, sqliteWebhookVerbs } from './webhook-outbox.js';

export interface SqliteStoreOptions {
  /**
   * An open better-sqlite3 database. The application owns it: the store never closes it.
   * `openSqliteDatabase(path)` opens one with the recommended settings (WAL and friends).
   */
  database: BetterSqlite3.Database;
  /**
   * Rows a purge deletes per transaction. Between batches the write lock is released and the
   * event loop runs, so a large purge never stalls requests or other writers for long.
   * @default 5000
   */
  purgeBatchSize?: number;
}

/**
 * The embedded `SessionStore` on SQLite (better-sqlite3 12). Applies the schema migrations at
 * creation (throws `invalid_config` on a database from a newer version).
 *
 * better-sqlite3 is synchronous: each verb runs to completion before its promise is even
 * returned, so no two verbs interleave inside this process, and SQLite's write lock serialises
 * them against other processes on the same file. That is what makes the compare-and-swap and
 * the multi-statement verbs (each in a transaction) atomic.
 *
 * @example
 * import { createTessera } from '@tessera/core';
 * import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
 *
 * const database = openSqliteDatabase('./tessera.db');
 * const tessera = createTessera({ store: createSqliteStore({ database }) });
 */
export function createSqliteStore(options: SqliteStoreOptions): SessionStore {
  const { database, purgeBatchSize = 5000 } = options;
  if (!Number.isInteger(purgeBatchSize) || purgeBatchSize < 1) {
    throw new TesseraError(
      'invalid_config',
      `purgeBatchSize must be a whole number ≥ 1 (got ${JSON.stringify(purgeBatchSize)})`,
    );
  }
  migrateSchema(database);
  const sql = prepareStatements(database);

  /** Runs one verb's synchronous database work, mapping failures to the contract's codes. */
  function guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw translateError(error, database);
    }
  }

  const eventParams = (event: NewSessionEvent) => ({
    type: event.type,
    at: event.at,
    session_id: event.sessionId,
    user_id: event.userId,
    reason: event.reason,
    device_id: event.deviceId,
    ip: event.ip,
    data: JSON.stringify(event.data),
  });
  const fanOutWebhooks = prepareWebhookFanOut(database);
  // The event and its webhook deliveries commit together (the transactional outbox).
  const insertEvents = database.transaction((events: NewSessionEvent[]) =>
    events.map((event) => {
      const id = sql.insertEvent.run(eventParams(event)).lastInsertRowid;
      fanOutWebhooks(id, event);
      return String(id);
    }),
  );
  interface PendingEvent {
    event: NewSessionEvent;
    resolve(event: SessionEvent): void;
    reject(error: unknown): void;
  }
  let pendingEvents: PendingEvent[] = [];
  /**
   * Group commit: one transaction for the events appended in one turn. A caller's promise
   * settles only after the commit that holds its event, exactly as with one commit each. If the
   * batch fails, each event is tried on its own, so one event's failure is its caller's alone.
   */
  function flushEvents(): void {
    const batch = pendingEvents;
    pendingEvents = [];
    let ids: string[];
    try {
      ids = guard(() => insertEvents(batch.map((entry) => entry.event)));
    } catch {
      for (const entry of batch) flushOne(entry);
      return;
    }
    for (const [i, entry] of batch.entries()) {
      entry.resolve({ ...structuredClone(entry.event), id: ids[i] as string });
    }
  }
  function flushOne(entry: PendingEvent): void {
    let id: string;
    try {
      id = guard(() => insertEvents([entry.event]))[0] as string;
    } catch (error) {
      entry.reject(error);
      return;
    }
    entry.resolve({ ...structuredClone(entry.event), id });
  }

  const createSession = database.transaction((session: SessionRecord) => {
    sql.insertSession.run(sessionToRow(session));
    sql.insertRefreshToken.run(session.refreshTokenHash, session.id, session.generation);
  });

  const rotateSession = database.transaction(
    (id: string, expectedGeneration: number, patch: RotationPatch) => {
      const { changes } = sql.rotateSession.run({
        id,
        expected_generation: expectedGeneration,
        generation: patch.generation,
        access_token_hash: patch.accessTokenHash,
        access_expires_at: patch.accessExpiresAt,
        refresh_token_hash: patch.refreshTokenHash,
        rotated_at: patch.rotatedAt,
        successor_sealed: patch.successorSealed,
        last_active_at: patch.lastActiveAt,
        idle_expires_at: patch.idleExpiresAt,
        authenticated_at: patch.authenticatedAt ?? null,
        auth_methods: patch.authMethods ? JSON.stringify(patch.authMethods) : null,
      });
      if (changes !== 1) return false;
      // Same transaction as the swap: the new refresh token is findable exactly when the
      // session says it is current. The older hashes stay, so a replay is recognised.
      sql.insertRefreshToken.run(patch.refreshTokenHash, id, patch.generation);
      return true;
    },
  );

  const purgeSessionBatch = database.transaction(
    (statement: typeof sql.deleteEndedSessions, before: number): number => {
      const ids = statement.all(before, purgeBatchSize).map((row) => row.id);
      if (ids.length > 0) sql.deleteRefreshTokensOf.run(JSON.stringify(ids));
      return ids.length;
    },
  );

  /** Deletes batch after batch until a batch comes back short; yields between batches. */
  async function drain(deleteBatch: () => number): Promise<number> {
    let total = 0;
    for (;;) {
      const removed = guard(deleteBatch);
      total += removed;
      if (removed < purgeBatchSize) return total;
      await yieldToEventLoop();
    }
  }

  const store = {
    async createSession(session) {
      guard(() => createSession(session));
    },

    async getSession(id) {
      const row = guard(() => sql.sessionById.get(id));
      return row ? rowToSession(row) : null;
    },

    async findByAccessTokenHash(hash) {
      const row = guard(() => sql.sessionByAccessHash.get(hash));
      return row ? rowToSession(row) : null;
    },

    async findByRefreshTokenHash(hash) {
      const row = guard(() => sql.sessionByRefreshHash.get(hash));
      return row ? { session: rowToSession(row), generation: row.issued_generation } : null;
    },

    async rotateSession(id, expectedGeneration, patch) {
      return guard(() => rotateSession(id, expectedGeneration, patch));
    },

    async touchSession(id, lastActiveAt, idleExpiresAt) {
      guard(() => sql.touchSession.run(lastActiveAt, idleExpiresAt, id));
    },

    async endSession(id, reason, at) {
      const row = guard(() => sql.endSession.get(at, reason, id));
      return row ? rowToSession(row) : null;
    },

    async endSessionsForUser(userId, reason, at, selector = {}) {
      // One UPDATE … RETURNING: every chosen session ends in the same implicit transaction,
      // and a session created concurrently is either ended or untouched, never half-seen.
      const params = {
        at,
        reason,
        user_id: userId,
        except_id: selector.exceptSessionId ?? null,
      };
      const { deviceId } = selector;
      const rows = guard(() =>
        deviceId === undefined
          ? sql.endSessionsForUser.all(params)
          : sql.endSessionsForDevice.all({ ...params, device_id: deviceId }),
      );
      // RETURNING has no defined order; give callers a stable one (oldest first).
      return rows
        .map(rowToSession)
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    async listSessionsForUser(userId, now) {
      return guard(() => sql.liveSessionsForUser.all({ user_id: userId, now })).map(rowToSession);
    },

    appendEvent(event) {
      return new Promise<SessionEvent>((resolve, reject) => {
        pendingEvents.push({ event, resolve, reject });
        // Every event appended during this turn of the event loop (all the requests read in
        // one poll) is committed by one transaction: a commit, not a row, is what costs.
        if (pendingEvents.length === 1) setImmediate(flushEvents);
      });
    },

    async queryEvents(query): Promise<EventPage> {
      const limit = query.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 0) {
        throw new TesseraError('invalid_argument', `limit must be a whole number ≥ 0`);
      }
      let after = 0;
      if (query.after !== undefined) {
        if (!/^\d{1,15}$/.test(query.after)) {
          throw new TesseraError('invalid_argument', 'after is not a cursor from a previous page');
        }
        after = Number(query.after);
      }
      const params: EventQueryParams = { after, limit: limit + 1 };
      const filters: EventFilterKey[] = [];
      for (const { key } of EVENT_FILTERS) {
        const value = query[key];
        if (value === undefined) continue;
        filters.push(key);
        params[key] = value;
      }
      // One row more than asked tells whether another page exists.
      const rows = guard(() => sql.eventQuery(filters).all(params));
      const events = rows.slice(0, limit).map(rowToEvent);
      const last = events[events.length - 1];
      return { events, nextCursor: rows.length > limit && last ? last.id : null };
    },

    async purge(sessionsBefore, eventsBefore) {
      const sessions =
        (await drain(() => purgeSessionBatch(sql.deleteEndedSessions, sessionsBefore))) +
        (await drain(() => purgeSessionBatch(sql.deleteIdleSessions, sessionsBefore)));
      const events = await drain(() => sql.deleteEvents.run(eventsBefore, purgeBatchSize).changes);
      guard(() => sql.deleteDpopJtis.run(sessionsBefore));
      return { sessions, events };
    },

    async rememberDpopJti({ digest, at, expiresAt }) {
      return (
        guard(() => sql.rememberDpopJti.run({ digest, at, expires_at: expiresAt })).changes === 1
      );
    },

    async createServiceKey(key) {
      guard(() => sql.insertServiceKey.run(serviceKeyToRow(key)));
    },

    async findServiceKeyByHash(hash) {
      const row = guard(() => sql.serviceKeyByHash.get(hash));
      return row ? rowToServiceKey(row) : null;
    },

    async listServiceKeys() {
      return guard(() => sql.serviceKeys.all()).map(rowToServiceKey);
    },

    async revokeServiceKey(id, at) {
      return guard(() => sql.revokeServiceKey.run(at, id)).changes === 1;
    },

    ...sqliteOperatorVerbs(database, guard),
    ...sqliteWebhookVerbs(database, guard),

    async ping() {
      guard(() => sql.ping.get());
    },

    /**
     * SQLite sends no messages, but it can be asked: `PRAGMA data_version` changes whenever
     * another connection (the CLI, another process on the same file) commits. Asking it before
     * every cached answer makes a node-local cache exact: any outside write clears the cache
     * (reported as a reconnect), and this process's own ends and rotations are dropped by the
     * engine itself. The listener is never called for that reason. If the database cannot
     * answer, the channel reports itself down and the cache is bypassed.
     */
    subscribeInvalidations(_listener, events = {}) {
      const version = () => sql.dataVersion.get();
      let seen = version();
      let closed = false;
      return {
        exact: true,
        everyWrite: true,
        connected() {
          if (closed) return false;
          try {
            const current = version();
            if (current !== seen) {
              seen = current;
              events.onConnected?.();
            }
            return true;
          } catch {
            return false;
          }
        },
        async close() {
          closed = true;
        },
      };
    },

    /**
     * Nothing to release: the store opened nothing. The application closes the database it
     * passed in (after the store), because it may share it with other code.
     */
    async close() {},
  } satisfies SessionStore;
  return store;
}
