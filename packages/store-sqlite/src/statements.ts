import type BetterSqlite3 from 'better-sqlite3';
import type { EventRow, ServiceKeyRow, SessionRow } from './rows.js';

/** Named parameters of the compare-and-swap rotation. */
export interface RotateParams {
  id: string;
  expected_generation: number;
  generation: number;
  access_token_hash: string;
  access_expires_at: number;
  refresh_token_hash: string;
  rotated_at: number;
  successor_sealed: string | null;
  last_active_at: number;
  idle_expires_at: number;
  /** NULL keeps the stored value (refresh); set by step-up only. */
  authenticated_at: number | null;
  auth_methods: string | null;
}

export type EventRowInput = Omit<EventRow, 'id'>;

/** The filters of an event query, in the order they appear in the SQL. */
export const EVENT_FILTERS = [
  { key: 'userId', sql: 'user_id = @userId' },
  { key: 'sessionId', sql: 'session_id = @sessionId' },
  { key: 'type', sql: 'type = @type' },
  { key: 'since', sql: 'at >= @since' },
  { key: 'until', sql: 'at < @until' },
] as const;

export type EventFilterKey = (typeof EVENT_FILTERS)[number]['key'];
export type EventQueryParams = Partial<Record<EventFilterKey, string | number>> & {
  after: number;
  limit: number;
};

/** The tiny seam every statement goes through: run, get one row, get all rows. */
export interface Prepared<P extends unknown[], R> {
  run(...params: P): { changes: number; lastInsertRowid: number | bigint };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

const SESSION_COLUMNS = [
  'id',
  'user_id',
  'policy',
  'created_at',
  'last_active_at',
  'idle_expires_at',
  'absolute_expires_at',
  'authenticated_at',
  'auth_methods',
  'device_id',
  'device_name',
  'device_platform',
  'device_app_version',
  'device_ip',
  'device_user_agent',
  'generation',
  'access_token_hash',
  'access_expires_at',
  'refresh_token_hash',
  'rotated_at',
  'successor_sealed',
  'ended_at',
  'end_reason',
  'dpop_jkt',
] as const satisfies readonly (keyof SessionRow)[];

/**
 * Every statement of the store, prepared once when the store is created, so a request pays
 * only for binding and stepping, and a typo in SQL fails at start-up rather than mid-request.
 * This is the only file with SQL in it besides the schema.
 */
export function prepareStatements(db: BetterSqlite3.Database) {
  const prepare = <P extends unknown[], R = never>(source: string): Prepared<P, R> =>
    db.prepare<P, R>(source);
  const sessionSelect = `SELECT ${SESSION_COLUMNS.join(', ')} FROM tessera_sessions`;
  const deleteBatch = (where: string) =>
    // A batch at a time (rowid subselect with LIMIT): a purge of millions of rows never holds
    // the write lock for long, so other writers (another process on the file) get their turn.
    prepare<[number, number], { id: string }>(
      `DELETE FROM tessera_sessions WHERE rowid IN (
           SELECT rowid FROM tessera_sessions WHERE ${where} LIMIT ?
         ) RETURNING id`,
    );

  const eventQueries = new Map<string, Prepared<[EventQueryParams], EventRow>>();

  return {
    /** Changes whenever another connection (another process) commits to the database. */
    // Plucked: asked before every cached answer, so no row object is made for it.
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck() as Prepared<[], number>,
    ping: prepare<[], number>('SELECT 1'),

    insertSession: prepare<[SessionRow], never>(
      `INSERT INTO tessera_sessions (${SESSION_COLUMNS.join(', ')})
       VALUES (${SESSION_COLUMNS.map((c) => `@${c}`).join(', ')})`,
    ),
    insertRefreshToken: prepare<[string, string, number], never>(
      'INSERT INTO tessera_refresh_tokens (hash, session_id, generation) VALUES (?, ?, ?)',
    ),
    sessionById: prepare<[string], SessionRow>(`${sessionSelect} WHERE id = ?`),
    sessionByAccessHash: prepare<[string], SessionRow>(
      `${sessionSelect} WHERE access_token_hash = ?`,
    ),
    sessionByRefreshHash: prepare<[string], SessionRow & { issued_generation: number }>(
      `SELECT ${SESSION_COLUMNS.map((c) => `s.${c}`).join(', ')}, r.generation AS issued_generation
       FROM tessera_refresh_tokens AS r
       JOIN tessera_sessions AS s ON s.id = r.session_id
       WHERE r.hash = ?`,
    ),
    // The compare-and-swap: only a live session still at the expected generation changes.
    // Two racing rotations both run this; SQLite serialises writers, so the second one finds
    // the generation already moved and changes no row.
    rotateSession: prepare<[RotateParams], never>(
      `UPDATE tessera_sessions SET
         generation = @generation,
         access_token_hash = @access_token_hash,
         access_expires_at = @access_expires_at,
         refresh_token_hash = @refresh_token_hash,
         rotated_at = @rotated_at,
         successor_sealed = @successor_sealed,
         last_active_at = @last_active_at,
         idle_expires_at = @idle_expires_at,
         authenticated_at = COALESCE(@authenticated_at, authenticated_at),
         auth_methods = COALESCE(@auth_methods, auth_methods)
       WHERE id = @id AND generation = @expected_generation AND ended_at IS NULL`,
    ),
    // MAX(): a late, slower request must never pull the idle deadline (or the last activity)
    // back; `ended_at IS NULL`: an ended session stays ended, touching it changes nothing.
    touchSession: prepare<[number, number, string], never>(
      `UPDATE tessera_sessions SET
         last_active_at = MAX(last_active_at, ?),
         idle_expires_at = MAX(idle_expires_at, ?)
       WHERE id = ? AND ended_at IS NULL`,
    ),
    endSession: prepare<[number, string, string], SessionRow>(
      `UPDATE tessera_sessions SET ended_at = ?, end_reason = ?
       WHERE id = ? AND ended_at IS NULL
       RETURNING ${SESSION_COLUMNS.join(', ')}`,
    ),
    // `id IS NOT @except_id` is true for every row when no session is excepted (NULL).
    endSessionsForUser: prepare<
      [{ at: number; reason: string; user_id: string; except_id: string | null }],
      SessionRow
    >(
      `UPDATE tessera_sessions SET ended_at = @at, end_reason = @reason
       WHERE user_id = @user_id AND ended_at IS NULL AND id IS NOT @except_id
       RETURNING ${SESSION_COLUMNS.join(', ')}`,
    ),
    endSessionsForDevice: prepare<
      [
        {
          at: number;
          reason: string;
          user_id: string;
          device_id: string;
          except_id: string | null;
        },
      ],
      SessionRow
    >(
      `UPDATE tessera_sessions SET ended_at = @at, end_reason = @reason
       WHERE user_id = @user_id AND device_id = @device_id AND ended_at IS NULL
         AND id IS NOT @except_id
       RETURNING ${SESSION_COLUMNS.join(', ')}`,
    ),
    liveSessionsForUser: prepare<[{ user_id: string; now: number }], SessionRow>(
      `${sessionSelect}
       WHERE user_id = @user_id AND ended_at IS NULL
         AND idle_expires_at > @now AND absolute_expires_at > @now
       ORDER BY created_at, id`,
    ),

    insertEvent: prepare<[EventRowInput], never>(
      `INSERT INTO tessera_events (type, at, session_id, user_id, reason, device_id, ip, data)
       VALUES (@type, @at, @session_id, @user_id, @reason, @device_id, @ip, @data)`,
    ),
    /**
     * The statement for one combination of event filters, prepared on first use and kept.
     * `id > @after` is always present (0 without a cursor), so every query is an index range.
     */
    eventQuery(filters: readonly EventFilterKey[]) {
      const cacheKey = filters.join(',');
      let statement = eventQueries.get(cacheKey);
      if (!statement) {
        const where = EVENT_FILTERS.filter((f) => filters.includes(f.key)).map((f) => f.sql);
        statement = prepare<[EventQueryParams], EventRow>(
          `SELECT id, type, at, session_id, user_id, reason, device_id, ip, data
           FROM tessera_events
           WHERE ${['id > @after', ...where].join(' AND ')}
           ORDER BY id LIMIT @limit`,
        );
        eventQueries.set(cacheKey, statement);
      }
      return statement;
    },

    deleteEndedSessions: deleteBatch('ended_at < ?'),
    deleteIdleSessions: deleteBatch('ended_at IS NULL AND idle_expires_at < ?'),
    // Explicit, not only ON DELETE CASCADE: the application owns the connection and may not
    // have turned `foreign_keys` on.
    deleteRefreshTokensOf: prepare<[string], never>(
      `DELETE FROM tessera_refresh_tokens
       WHERE session_id IN (SELECT value FROM json_each(?))`,
    ),
    deleteEvents: prepare<[number, number], never>(
      `DELETE FROM tessera_events WHERE id IN (
         SELECT id FROM tessera_events WHERE at < ? LIMIT ?
       )`,
    ),

    // Inserts the digest, or takes over an entry that had expired by `at`; 0 changes = replay.
    rememberDpopJti: prepare<[{ digest: string; at: number; expires_at: number }], never>(
      `INSERT INTO tessera_dpop_jtis (digest, expires_at) VALUES (@digest, @expires_at)
       ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at
       WHERE tessera_dpop_jtis.expires_at <= @at`,
    ),
    deleteDpopJtis: prepare<[number], never>('DELETE FROM tessera_dpop_jtis WHERE expires_at < ?'),

    insertServiceKey: prepare<[ServiceKeyRow], never>(
      `INSERT INTO tessera_service_keys (id, name, scopes, key_hash, created_at, revoked_at)
       VALUES (@id, @name, @scopes, @key_hash, @created_at, @revoked_at)`,
    ),
    serviceKeyByHash: prepare<[string], ServiceKeyRow>(
      'SELECT id, name, scopes, key_hash, created_at, revoked_at FROM tessera_service_keys WHERE key_hash = ?',
    ),
    serviceKeys: prepare<[], ServiceKeyRow>(
      `SELECT id, name, scopes, key_hash, created_at, revoked_at FROM tessera_service_keys
       ORDER BY created_at, id`,
    ),
    revokeServiceKey: prepare<[number, string], never>(
      'UPDATE tessera_service_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
