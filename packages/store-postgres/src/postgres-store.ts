import type {
  DpopJtiEntry,
  EndReason,
  EndSelector,
  EventPage,
  InvalidationChannel,
  InvalidationEvents,
  ServiceKeyRecord,
  SessionEvent,
  SessionRecord,
  SessionStore,
} from '@tessera/core';
import { dispatchInvalidationMessage, TesseraError } from '@tessera/core';
import type { Client, ClientConfig, Pool } from 'pg';
import pg from 'pg';
import { listenForInvalidations } from './invalidation-channel.js';
import { postgresNodeLeaseVerbs } from './node-leases.js';
import { postgresOperatorVerbs } from './operators.js';
import { poolQuery } from './query.js';
import { schemaNames } from './schema-name.js';
import {
  hashBytes,
  requireHashBytes,
  type SessionRow,
  sessionColumns,
  toSession,
} from './session-row.js';
import { appendEventWithOutboxSql, postgresWebhookVerbs } from './webhook-outbox.js';

export interface PostgresStoreOptions {
  /** The application's pool (see `createPool`). The store never ends it. */
  pool: Pool;
  /**
   * The schema holding the tables, migrated with `migrate({ pool, schema })`. Also names the
   * invalidation channel (`<schema>_invalidate`), so that two deployments sharing a database
   * in different schemas do not hear each other.
   * @default 'tessera'
   */
  schema?: string;
  /**
   * Makes the dedicated connection that LISTENs for invalidations (a pooled connection cannot
   * hold a LISTEN). Called again on every reconnection.
   * @default a `pg.Client` with the pool's connection options
   */
  listenClient?: () => Client;
  /** First delay before reconnecting the LISTEN connection; doubles up to the maximum. @default 100 */
  reconnectMinDelayMillis?: number;
  /** @default 5000 */
  reconnectMaxDelayMillis?: number;
  /** How often the LISTEN connection proves it is alive. @default 5000 */
  heartbeatIntervalMillis?: number;
  /** Rows deleted per statement by `purge`: short transactions, bounded locks. @default 5000 */
  purgeBatchSize?: number;
}

/** What `subscribeInvalidations` accepts besides the listener. */
export interface InvalidationOptions {
  /**
   * Called each time LISTEN is (re)established, before `connected()` turns true. Invalidations
   * sent while the channel was down are lost, so a cache must forget everything here.
   */
  onConnected?: () => void;
  onInvalidation?: InvalidationEvents['onInvalidation'];
  onAck?: InvalidationEvents['onAck'];
}

interface EventRow {
  id: string;
  type: SessionEvent['type'];
  at: number;
  session_id: string;
  user_id: string;
  reason: EndReason | null;
  device_id: string | null;
  ip: string | null;
  data: SessionEvent['data'];
}

interface ServiceKeyRow {
  id: string;
  name: string;
  scopes: ServiceKeyRecord['scopes'];
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
}

const CURSOR = /^[0-9]{1,18}$/;

/**
 * A `SessionStore` on PostgreSQL. Each verb is one SQL statement (its own transaction), so each
 * is atomic without explicit transactions; every write is committed, hence durable, before the
 * promise resolves. Every end and rotation also calls `pg_notify` in that same statement: the
 * notification is delivered when, and only if, the change commits.
 *
 * @example
 * const pool = createPool('postgres://tessera@db:5432/tessera');
 * await migrate({ pool });
 * const tessera = createTessera({ store: createPostgresStore({ pool }) });
 */
export function createPostgresStore(options: PostgresStoreOptions) {
  const {
    pool,
    schema = 'tessera',
    listenClient = () =>
      new pg.Client({
        ...(pool.options as ClientConfig),
        connectionTimeoutMillis: pool.options.connectionTimeoutMillis ?? 5000,
        keepAlive: true,
      }),
    reconnectMinDelayMillis = 100,
    reconnectMaxDelayMillis = 5000,
    heartbeatIntervalMillis = 5000,
    purgeBatchSize = 5000,
  } = options;
  const { quoted: s, channel } = schemaNames(schema);
  const query = poolQuery(pool);
  const channels = new Set<InvalidationChannel>();
  const SESSION = sessionColumns('t');

  async function one(text: string, values: unknown[]): Promise<SessionRecord | null> {
    const { rows } = await query<SessionRow>(text, values);
    return rows[0] ? toSession(rows[0]) : null;
  }

  async function deleteInBatches(
    table: string,
    where: string,
    before: number,
    key = 'id',
  ): Promise<number> {
    let removed = 0;
    for (;;) {
      // One short statement per batch: a huge single DELETE would hold its locks and bloat
      // the WAL in one go. SKIP LOCKED lets purges on several nodes share the work instead of
      // queueing behind each other. The subquery is a range scan on the matching index.
      const { rowCount } = await query(
        `DELETE FROM ${s}.${table} WHERE ${key} IN (
           SELECT ${key} FROM ${s}.${table} WHERE ${where} < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, purgeBatchSize],
      );
      removed += rowCount ?? 0;
      if ((rowCount ?? 0) < purgeBatchSize) return removed;
    }
  }

  const store = {
    async createSession(session: SessionRecord) {
      // One statement: the session and its first refresh token appear together or not at all.
      await query(
        `WITH created AS (
           INSERT INTO ${s}.sessions (id, user_id, policy, created_at, last_active_at,
             idle_expires_at, absolute_expires_at, authenticated_at, auth_methods, device,
             generation, access_token_hash, access_expires_at, refresh_token_hash, rotated_at,
             successor_sealed, ended_at, end_reason, dpop_jkt)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19)
           RETURNING id, refresh_token_hash, generation)
         INSERT INTO ${s}.refresh_tokens (hash, session_id, generation)
         SELECT refresh_token_hash, id, generation FROM created`,
        [
          session.id,
          session.userId,
          session.policy,
          session.createdAt,
          session.lastActiveAt,
          session.idleExpiresAt,
          session.absoluteExpiresAt,
          session.authenticatedAt,
          session.authMethods,
          JSON.stringify(session.device),
          session.generation,
          requireHashBytes(session.accessTokenHash, 'accessTokenHash'),
          session.accessExpiresAt,
          requireHashBytes(session.refreshTokenHash, 'refreshTokenHash'),
          session.rotatedAt,
          session.successorSealed,
          session.endedAt,
          session.endReason,
          session.dpopJkt ?? null,
        ],
      );
    },

    getSession(id: string) {
      return one(`SELECT ${SESSION} FROM ${s}.sessions t WHERE t.id = $1`, [id]);
    },

    async findByAccessTokenHash(hash: string) {
      const bytes = hashBytes(hash);
      if (!bytes) return null;
      return one(`SELECT ${SESSION} FROM ${s}.sessions t WHERE t.access_token_hash = $1`, [bytes]);
    },

    async findByRefreshTokenHash(hash: string) {
      const bytes = hashBytes(hash);
      if (!bytes) return null;
      const { rows } = await query<SessionRow & { issued_generation: number }>(
        `SELECT ${SESSION}, r.generation AS issued_generation
           FROM ${s}.refresh_tokens r JOIN ${s}.sessions t ON t.id = r.session_id
          WHERE r.hash = $1`,
        [bytes],
      );
      const row = rows[0];
      return row ? { session: toSession(row), generation: row.issued_generation } : null;
    },

    async rotateSession(id: string, expectedGeneration: number, patch) {
      // Compare-and-swap in one statement. Under READ COMMITTED a concurrent rotation of the
      // same row waits for the row lock, then re-checks the WHERE clause against the committed
      // row: its generation no longer matches, so it updates nothing and exactly one wins.
      // The old access hash disappears with the UPDATE; the new refresh hash joins the
      // session's older ones; the notification is sent only if this commits.
      const { rowCount } = await query(
        `WITH rotated AS (
           UPDATE ${s}.sessions SET
             generation = $3, access_token_hash = $4, access_expires_at = $5,
             refresh_token_hash = $6, rotated_at = $7, successor_sealed = $8,
             last_active_at = $9, idle_expires_at = $10,
             authenticated_at = COALESCE($11, authenticated_at),
             auth_methods = COALESCE($12, auth_methods)
           WHERE id = $1 AND generation = $2 AND ended_at IS NULL
           RETURNING id),
         issued AS (
           INSERT INTO ${s}.refresh_tokens (hash, session_id, generation)
           SELECT $6, id, $3 FROM rotated
           RETURNING session_id)
         SELECT pg_notify($13, session_id) FROM issued`,
        [
          id,
          expectedGeneration,
          patch.generation,
          requireHashBytes(patch.accessTokenHash, 'accessTokenHash'),
          patch.accessExpiresAt,
          requireHashBytes(patch.refreshTokenHash, 'refreshTokenHash'),
          patch.rotatedAt,
          patch.successorSealed,
          patch.lastActiveAt,
          patch.idleExpiresAt,
          patch.authenticatedAt ?? null,
          patch.authMethods ?? null,
          channel,
        ],
      );
      return rowCount === 1;
    },

    async touchSession(id: string, lastActiveAt: number, idleExpiresAt: number) {
      // GREATEST keeps both instants monotonic when touches from several nodes cross; the
      // extra condition skips writing a row that would not change.
      await query(
        `UPDATE ${s}.sessions SET
           last_active_at = GREATEST(last_active_at, $2),
           idle_expires_at = GREATEST(idle_expires_at, $3)
         WHERE id = $1 AND ended_at IS NULL
           AND (last_active_at < $2 OR idle_expires_at < $3)`,
        [id, lastActiveAt, idleExpiresAt],
      );
    },

    endSession(id: string, reason: EndReason, at: number) {
      return one(
        `WITH ended AS (
           UPDATE ${s}.sessions t SET ended_at = $2, end_reason = $3
           WHERE t.id = $1 AND t.ended_at IS NULL
           RETURNING ${SESSION})
         SELECT ended.*, pg_notify($4, ended.id)::text AS notified FROM ended`,
        [id, at, reason, channel],
      );
    },

    async endSessionsForUser(
      userId: string,
      reason: EndReason,
      at: number,
      selector: EndSelector = {},
    ) {
      const values: unknown[] = [userId, at, reason, channel];
      let filters = '';
      if (selector.exceptSessionId !== undefined) {
        values.push(selector.exceptSessionId);
        filters += ` AND t.id <> $${values.length}`;
      }
      if (selector.deviceId !== undefined) {
        values.push(selector.deviceId);
        filters += ` AND t.device->>'id' = $${values.length}`;
      }
      const { rows } = await query<SessionRow>(
        `WITH ended AS (
           UPDATE ${s}.sessions t SET ended_at = $2, end_reason = $3
           WHERE t.user_id = $1 AND t.ended_at IS NULL${filters}
           RETURNING ${SESSION})
         SELECT ended.*, pg_notify($4, ended.id)::text AS notified FROM ended
         ORDER BY ended.created_at, ended.id`,
        values,
      );
      return rows.map(toSession);
    },

    async listSessionsForUser(userId: string, now: number) {
      const { rows } = await query<SessionRow>(
        `SELECT ${SESSION} FROM ${s}.sessions t
          WHERE t.user_id = $1 AND t.ended_at IS NULL
            AND t.idle_expires_at > $2 AND t.absolute_expires_at > $2
          ORDER BY t.created_at, t.id`,
        [userId, now],
      );
      return rows.map(toSession);
    },

    async appendEvent(event) {
      // The event and its webhook deliveries in one statement (the transactional outbox).
      const { rows } = await query<{ id: string }>(appendEventWithOutboxSql(s), [
        event.type,
        event.at,
        event.sessionId,
        event.userId,
        event.reason,
        event.deviceId,
        event.ip,
        JSON.stringify(event.data),
      ]);
      return { ...structuredClone(event), id: rows[0]!.id };
    },

    async queryEvents(eventQuery): Promise<EventPage> {
      const { limit = 100, after } = eventQuery;
      if (!Number.isInteger(limit) || limit < 1) {
        throw new TesseraError('invalid_argument', 'limit must be a whole number ≥ 1');
      }
      if (after !== undefined && !CURSOR.test(after)) {
        throw new TesseraError('invalid_argument', 'after is not a cursor from a previous page');
      }
      const values: unknown[] = [];
      const where: string[] = [];
      const filter = (sql: string, value: unknown) => {
        values.push(value);
        where.push(sql.replace('?', `$${values.length}`));
      };
      if (eventQuery.userId !== undefined) filter('user_id = ?', eventQuery.userId);
      if (eventQuery.sessionId !== undefined) filter('session_id = ?', eventQuery.sessionId);
      if (eventQuery.type !== undefined) filter('type = ?', eventQuery.type);
      if (eventQuery.since !== undefined) filter('at >= ?', eventQuery.since);
      if (eventQuery.until !== undefined) filter('at < ?', eventQuery.until);
      if (after !== undefined) filter('id > ?::bigint', after);
      values.push(limit + 1);
      const { rows } = await query<EventRow>(
        `SELECT id::text AS id, type, at, session_id, user_id, reason, device_id, ip, data
           FROM ${s}.events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY id LIMIT $${values.length}`,
        values,
      );
      // One row more than asked tells whether another page exists.
      const page = rows.slice(0, limit).map(
        (row): SessionEvent => ({
          id: row.id,
          type: row.type,
          at: row.at,
          sessionId: row.session_id,
          userId: row.user_id,
          reason: row.reason,
          deviceId: row.device_id,
          ip: row.ip,
          data: row.data,
        }),
      );
      const last = page[page.length - 1];
      return { events: page, nextCursor: rows.length > limit && last ? last.id : null };
    },

    async purge(sessionsBefore: number, eventsBefore: number) {
      // A session counts as dead from its end, or from its idle deadline while never ended
      // (the idle deadline is never after the absolute one); the index is on that expression.
      const sessions = await deleteInBatches(
        'sessions',
        'COALESCE(ended_at, idle_expires_at)',
        sessionsBefore,
      );
      const events = await deleteInBatches('events', 'at', eventsBefore);
      await deleteInBatches('dpop_jtis', 'expires_at', sessionsBefore, 'digest');
      return { sessions, events };
    },

    async rememberDpopJti({ digest, at, expiresAt }: DpopJtiEntry) {
      // One statement, atomic across nodes: inserts the digest, or takes over an entry that had
      // expired by `at`; a conflict with a live entry changes nothing (rowCount 0: a replay).
      const { rowCount } = await query(
        `INSERT INTO ${s}.dpop_jtis (digest, expires_at) VALUES ($1, $2)
         ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE ${s}.dpop_jtis.expires_at <= $3`,
        [requireHashBytes(digest, 'digest'), expiresAt, at],
      );
      return rowCount === 1;
    },

    async createServiceKey(key: ServiceKeyRecord) {
      await query(
        `INSERT INTO ${s}.service_keys (id, name, scopes, key_hash, created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          key.id,
          key.name,
          key.scopes,
          requireHashBytes(key.keyHash, 'keyHash'),
          key.createdAt,
          key.revokedAt,
        ],
      );
    },

    async findServiceKeyByHash(hash: string) {
      const bytes = hashBytes(hash);
      if (!bytes) return null;
      const { rows } = await query<ServiceKeyRow>(
        `SELECT id, name, scopes, encode(key_hash, 'hex') AS key_hash, created_at, revoked_at
           FROM ${s}.service_keys WHERE key_hash = $1`,
        [bytes],
      );
      return rows[0] ? toServiceKey(rows[0]) : null;
    },

    async listServiceKeys() {
      const { rows } = await query<ServiceKeyRow>(
        `SELECT id, name, scopes, encode(key_hash, 'hex') AS key_hash, created_at, revoked_at
           FROM ${s}.service_keys ORDER BY created_at, id`,
      );
      return rows.map(toServiceKey);
    },

    async revokeServiceKey(id: string, at: number) {
      const { rowCount } = await query(
        `UPDATE ${s}.service_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`,
        [id, at],
      );
      return rowCount === 1;
    },

    ...postgresOperatorVerbs(query, s),
    ...postgresWebhookVerbs(query, s),

    ...postgresNodeLeaseVerbs(query, s, channel),

    async ping() {
      await query('SELECT 1');
    },

    /**
     * Calls `listener` with the id of every session any node ends or rotates, over a dedicated
     * LISTEN connection that reconnects by itself. `connected()` is false while that
     * connection is not listening: a cache must then be bypassed.
     */
    subscribeInvalidations(
      listener: (sessionId: string) => void,
      invalidationOptions: InvalidationOptions = {},
    ): InvalidationChannel {
      const subscription = listenForInvalidations({
        makeClient: listenClient,
        channel,
        // Plain session ids from the end and rotation statements, and the node-lease messages.
        listener: (message) => dispatchInvalidationMessage(message, listener, invalidationOptions),
        onConnected: invalidationOptions.onConnected,
        reconnectMinDelayMillis,
        reconnectMaxDelayMillis,
        heartbeatIntervalMillis,
      });
      channels.add(subscription);
      return {
        connected: () => subscription.connected(),
        async close() {
          channels.delete(subscription);
          await subscription.close();
        },
      };
    },

    /** Closes the LISTEN connections this store opened; the pool is the application's. */
    async close() {
      const open = [...channels];
      channels.clear();
      await Promise.all(open.map((c) => c.close()));
    },
  } satisfies SessionStore;
  return store;
}

function toServiceKey(row: ServiceKeyRow): ServiceKeyRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    keyHash: row.key_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
