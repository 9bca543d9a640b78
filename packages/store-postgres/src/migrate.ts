import { TesseraError } from '@tessera/core';
import type { Pool, PoolClient } from 'pg';
import { MIGRATIONS } from './migrations.js';
import { schemaNames } from './schema-name.js';
import { toStoreError } from './sql-errors.js';

export interface MigrateOptions {
  /** The application's pool; migrate borrows one connection and gives it back. */
  pool: Pool;
  /** @default 'tessera' */
  schema?: string;
}

export interface MigrateResult {
  schema: string;
  /** Schema version found (0: none). */
  from: number;
  /** Schema version now: the newest this code knows. */
  to: number;
  /** Versions applied by this call, in order (empty when already up to date). */
  applied: number[];
}

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Brings the schema up to date: creates it if needed and applies the missing migrations in
 * order, each in its own transaction together with its row in `schema_migrations`, so a failure
 * leaves the schema at the last complete version. Idempotent.
 *
 * Safe when several nodes start at once: every transaction first takes a transaction-scoped
 * advisory lock named after the schema, and reads the version only once it holds the lock, so
 * the nodes apply each migration exactly once, one after the other, and the lock cannot outlive
 * a crashed node (it ends with the transaction).
 *
 * A database migrated by newer code is refused (`invalid_config`): older code would misread it.
 *
 * @example
 * const pool = createPool(process.env.DATABASE_URL!);
 * const { applied } = await migrate({ pool, schema: 'tessera' });
 */
export async function migrate({
  pool,
  schema = 'tessera',
}: MigrateOptions): Promise<MigrateResult> {
  const { quoted } = schemaNames(schema);
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toStoreError(error);
  }
  let failure: unknown;
  try {
    let from: number | undefined;
    const applied: number[] = [];
    for (;;) {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `tessera.migrate:${schema}`,
      ]);
      // Checked before creating, so that a role without CREATE on the database can still run
      // against a schema a DBA created for it.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
           version    integer PRIMARY KEY,
           name       text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ version: number }>(
        `SELECT coalesce(max(version), 0)::integer AS version FROM ${quoted}.schema_migrations`,
      );
      const current = rows[0]?.version ?? 0;
      from ??= current;
      if (current > SCHEMA_VERSION) {
        throw new TesseraError(
          'invalid_config',
          `schema "${schema}" is at version ${current}, newer than this Tessera (${SCHEMA_VERSION}): upgrade Tessera`,
        );
      }
      // The lowest version above the stored one: versions are assigned to pieces of work ahead
      // of time, so the list may skip one while that piece is unmerged (never once released).
      const next = MIGRATIONS.find((m) => m.version > current);
      if (!next) {
        await client.query('COMMIT');
        return { schema, from, to: current, applied };
      }
      await client.query(next.sql(quoted));
      await client.query(
        `INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`,
        [next.version, next.name],
      );
      await client.query('COMMIT');
      applied.push(next.version);
    }
  } catch (error) {
    failure = error;
    await client.query('ROLLBACK').catch(() => {});
    throw toStoreError(error);
  } finally {
    // A connection that failed mid-transaction is destroyed rather than returned to the pool.
    client.release(
      failure instanceof Error && !(failure instanceof TesseraError) ? failure : undefined,
    );
  }
}
