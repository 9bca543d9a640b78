import { type SessionStore, TesseraError } from '@tessera/core';
import { CliError, describeError, runtimeError } from './errors.js';
import { redactStoreUrl, type StoreLocation } from './store-url.js';

export interface OpenedStore {
  store: SessionStore;
  /** Closes the store, then the connection the CLI opened for it (the store does not own it). */
  close(): Promise<void>;
  /** PostgreSQL, when migrations ran: the schema and the versions this call applied. */
  migrated?: { schema: string; from: number; to: number; applied: number[] };
}

export interface OpenStoreOptions {
  /** PostgreSQL: apply migrations before use. @default true */
  migrate?: boolean;
  /** Give up connecting after this long, instead of retrying forever. @default 10000 */
  connectTimeoutMs?: number;
}

/**
 * Opens the store a location names. Each adapter is imported only when used, so a SQLite
 * deployment never loads the PostgreSQL or Redis drivers.
 *
 * @example
 * const { store, close } = await openStore(parseStoreUrl('sqlite:./tessera.db'));
 */
export async function openStore(
  location: StoreLocation,
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  const { migrate = true, connectTimeoutMs = 10_000 } = options;
  switch (location.kind) {
    case 'sqlite': {
      const { openSqliteDatabase, createSqliteStore } = await import('@tessera/store-sqlite');
      let database: ReturnType<typeof openSqliteDatabase>;
      try {
        // Opening applies the SQLite schema migrations (the store migrates itself).
        database = openSqliteDatabase(location.path);
      } catch (error) {
        throw runtimeError(
          `cannot open SQLite database ${location.path}: ${describeError(error)} — check the path, that its directory exists and is writable`,
          { cause: error },
        );
      }
      const store = createSqliteStore({ database });
      return {
        store,
        close: async () => {
          await store.close();
          database.close();
        },
      };
    }
    case 'redis':
    case 'redis-cluster': {
      const { connectRedis, createRedisStore } = await import('@tessera/store-redis');
      // Rejects with `store_unavailable` after the timeout; reconnects by itself once connected.
      const client = await connectRedis(location.url, { connectTimeoutMs });
      const store = createRedisStore(
        location.prefix === undefined ? { client } : { client, prefix: location.prefix },
      );
      return {
        store,
        close: async () => {
          await store.close();
          await client.close();
        },
      };
    }
    case 'postgres': {
      const {
        createPool,
        migrate: migrateSchema,
        createPostgresStore,
      } = await import('@tessera/store-postgres');
      const pool = createPool(location.url);
      const where = redactStoreUrl(location.url);
      try {
        const schema = location.schema === undefined ? {} : { schema: location.schema };
        let migrated: OpenedStore['migrated'];
        if (migrate) {
          migrated = await withTimeout(
            migrateSchema({ pool, ...schema }),
            connectTimeoutMs,
            `cannot migrate PostgreSQL at ${where}`,
          );
        }
        const store = createPostgresStore({ pool, ...schema });
        await withTimeout(store.ping(), connectTimeoutMs, `cannot reach PostgreSQL at ${where}`);
        return {
          store,
          close: async () => {
            await store.close();
            await pool.end();
          },
          ...(migrated ? { migrated } : {}),
        };
      } catch (error) {
        await pool.end().catch(() => {});
        throw error;
      }
    }
  }
}

/** Rejects with a one-line runtime error when `promise` fails or takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          runtimeError(
            `${what}: no answer within ${ms / 1000} s — check that it runs and the store URL is right`,
          ),
        ),
      ms,
    );
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } catch (error) {
    // Already one clear line: the store's own `store_unavailable`, or ours.
    if (error instanceof CliError || error instanceof TesseraError) throw error;
    throw runtimeError(
      `${what}: ${describeError(error)} — check that it runs and the store URL is right`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}
