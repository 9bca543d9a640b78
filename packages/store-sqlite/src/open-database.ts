import { TesseraError } from '@tessera/core';
import BetterSqlite3 from 'better-sqlite3';

export interface OpenSqliteDatabaseOptions {
  /**
   * How long a statement waits for another connection's write lock before failing with
   * SQLITE_BUSY (another process on the same file, such as the CLI next to the server).
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * `NORMAL` makes every committed write survive a crash or `kill -9` of the process; only an
   * operating-system crash or power loss can lose the last commits. `FULL` also survives those,
   * at the price of an fsync per commit.
   * @default 'NORMAL'
   */
  synchronous?: 'NORMAL' | 'FULL';
}

/**
 * Opens (creating if needed) a SQLite file with the settings the store is designed for. The
 * caller owns the returned database and closes it (`database.close()`) after the store.
 *
 * - `journal_mode=WAL`: readers never block the writer nor the writer the readers, so
 *   validations keep flowing while a purge or a refresh writes; WAL is persistent in the file.
 * - `synchronous=NORMAL` (default): in WAL mode a commit is appended to the WAL file with a
 *   `write()` before the call returns, so it sits in the operating system's page cache and
 *   survives the death of the process, `kill -9` included — "ending is durable before the call
 *   returns" holds against process crashes. What NORMAL gives up is the fsync at each commit:
 *   an OS crash or power cut may lose the last commits (never corrupt the file). Choose `FULL`
 *   where that matters more than write throughput.
 * - `busy_timeout`: wait for a competing writer instead of failing at once.
 * - `foreign_keys=ON`: refresh-token rows cannot outlive their session.
 *
 * @example
 * const database = openSqliteDatabase('./tessera.db');
 * const store = createSqliteStore({ database });
 * // … on shutdown:
 * await store.close();
 * database.close();
 */
export function openSqliteDatabase(
  path: string,
  options: OpenSqliteDatabaseOptions = {},
): BetterSqlite3.Database {
  const { busyTimeoutMs = 5000, synchronous = 'NORMAL' } = options;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new TesseraError('invalid_config', `busyTimeoutMs must be a whole number ≥ 0`);
  }
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new TesseraError('invalid_config', `synchronous must be "NORMAL" or "FULL"`);
  }
  const database = new BetterSqlite3(path, { timeout: busyTimeoutMs });
  try {
    const mode = database.pragma('journal_mode = WAL', { simple: true });
    // An in-memory database answers "memory"; a file that cannot do WAL (some network file
    // systems) would silently keep a rollback journal, so say so instead.
    if (mode !== 'wal' && !database.memory) {
      throw new TesseraError(
        'invalid_config',
        `SQLite could not put ${path} in WAL mode (journal_mode is ${String(mode)}): use a ` +
          'local file system',
      );
    }
    database.pragma(`synchronous = ${synchronous}`);
    database.pragma(`busy_timeout = ${busyTimeoutMs}`);
    database.pragma('foreign_keys = ON');
  } catch (error) {
    database.close();
    throw error;
  }
  return database;
}
