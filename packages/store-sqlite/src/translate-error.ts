import { TesseraError } from '@tessera/core';
import BetterSqlite3 from 'better-sqlite3';

/**
 * Maps what better-sqlite3 throws to the codes of the store contract: a unique clash is a
 * `store_conflict` (a duplicate id or token hash must never overwrite a session), any other
 * SQLite failure (busy, I/O, disk full, closed connection) is `store_unavailable`, which the
 * server answers with 503 and `/readyz` reports. Anything else is a bug and passes unchanged.
 */
export function translateError(error: unknown, database: BetterSqlite3.Database): unknown {
  if (error instanceof TesseraError) return error;
  if (error instanceof BetterSqlite3.SqliteError) {
    if (
      error.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
      error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
    ) {
      return new TesseraError('store_conflict', `SQLite refused a duplicate: ${error.message}`, {
        cause: error,
      });
    }
    return new TesseraError(
      'store_unavailable',
      `SQLite failed (${error.code}): ${error.message}`,
      {
        cause: error,
      },
    );
  }
  if (!database.open) {
    return new TesseraError('store_unavailable', 'the SQLite database is closed', {
      cause: error,
    });
  }
  return error;
}
