import { TesseraError } from '@tessera/core';

/**
 * SQLSTATE classes that mean "the database cannot serve us right now", as opposed to a bug in
 * our SQL: connection exceptions (08), insufficient resources (53), operator intervention such
 * as shutdown or a statement timeout (57), and transaction rollbacks from contention (40).
 */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '40']);

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Maps a `pg` failure to the error the contract promises. A clash on a unique key is a
 * `store_conflict`; a missing schema or table means nobody ran the migrations, a configuration
 * problem; anything without a SQLSTATE (refused connection, connect or read timeout, socket
 * closed) or with an "unavailable" class is `store_unavailable`, which the server answers with
 * 503 so that nothing is authenticated while the database is away (fail closed). Other errors
 * are bugs and are rethrown untouched.
 */
export function toStoreError(error: unknown): unknown {
  if (error instanceof TesseraError) return error;
  const state = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  if (state === '23505') {
    return new TesseraError('store_conflict', `postgres: ${message}`, { cause: error });
  }
  if (state === '3F000' || state === '42P01') {
    return new TesseraError(
      'invalid_config',
      `postgres: ${message} (run the migrations: tessera migrate)`,
      { cause: error },
    );
  }
  if (state === undefined || UNAVAILABLE_CLASSES.has(state.slice(0, 2))) {
    return new TesseraError('store_unavailable', `postgres: ${message}`, { cause: error });
  }
  return error;
}
