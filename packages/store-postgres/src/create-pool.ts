import type { Pool, PoolConfig } from 'pg';
import pg from 'pg';

export interface CreatePoolOptions {
  /**
   * How long to wait for a new connection. Short, so that when PostgreSQL is unreachable every
   * verb rejects promptly instead of queueing (fail closed).
   * @default 2000
   */
  connectionTimeoutMillis?: number;
  /**
   * Server-side cap on one statement (`statement_timeout`). Every Tessera statement is a
   * point lookup or a small batch; a longer one means the server is in trouble.
   * @default 5000
   */
  statementTimeoutMillis?: number;
  /**
   * Client-side cap on one round trip (`query_timeout`): catches a server that stopped
   * answering without closing the socket. Longer than the statement timeout so that the server
   * cancels first when it can, which keeps the connection reusable.
   * @default 6000
   */
  queryTimeoutMillis?: number;
  /** @default 10 */
  maxConnections?: number;
  /** Called with errors of idle connections (for example when the server restarts). */
  onError?: (error: Error) => void;
  /** Anything else `pg.Pool` accepts; wins over the settings above. */
  poolConfig?: PoolConfig;
}

/**
 * A `pg.Pool` with the settings Tessera relies on to fail closed and recover by itself: short
 * connect and query timeouts, TCP keep-alive, and an `error` listener. Without that listener
 * an idle connection dropped by a restarting server emits an unhandled `error` and ends the
 * process; with it the pool discards the connection and opens a new one on next use.
 * The caller owns the pool and ends it.
 *
 * @example
 * const pool = createPool('postgres://tessera@db.internal:5432/tessera');
 * await migrate({ pool });
 * const store = createPostgresStore({ pool });
 */
export function createPool(url: string, options: CreatePoolOptions = {}): Pool {
  const {
    connectionTimeoutMillis = 2000,
    statementTimeoutMillis = 5000,
    queryTimeoutMillis = 6000,
    maxConnections = 10,
    onError = () => {},
    poolConfig = {},
  } = options;
  const pool = new pg.Pool({
    connectionString: url,
    connectionTimeoutMillis,
    statement_timeout: statementTimeoutMillis,
    query_timeout: queryTimeoutMillis,
    idle_in_transaction_session_timeout: statementTimeoutMillis * 2,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    max: maxConnections,
    idleTimeoutMillis: 30_000,
    application_name: 'tessera',
    ...poolConfig,
  });
  pool.on('error', onError);
  return pool;
}
