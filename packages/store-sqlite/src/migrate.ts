import { TesseraError } from '@tessera/core';
import type BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './schema.js';

/** What `migrateSchema` did: the schema version before and after. */
export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Brings the database to the latest schema this code knows, applying the missing migrations in
 * order, all in one transaction: either every step lands or none does.
 *
 * The version lives in a table of our own rather than in `PRAGMA user_version`, because the
 * database may belong to an application that uses `user_version` for its own schema.
 *
 * `BEGIN IMMEDIATE` takes the write lock before the version is read, so two processes starting
 * on the same file at once cannot both apply the same migration: the second waits
 * (`busy_timeout`), then sees the new version and does nothing.
 *
 * Refuses (`invalid_config`) a database whose version is newer than this code: a downgrade would
 * run old code on a schema it does not understand.
 */
export function migrateSchema(
  database: BetterSqlite3.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): MigrationResult {
  // Strictly increasing from 1. Versions are assigned to pieces of work ahead of time, so a
  // list may briefly skip one while that piece is unmerged; a released list never gains an entry
  // below its newest, so "apply every version above the stored one, in order" stays exact.
  migrations.forEach((migration, index) => {
    const previous = index === 0 ? 0 : (migrations[index - 1]?.version ?? 0);
    if (!Number.isInteger(migration.version) || migration.version <= previous) {
      throw new Error(`migration "${migration.name}" must have a version above ${previous}`);
    }
  });
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const apply = database.transaction((): MigrationResult => {
    database.exec(`CREATE TABLE IF NOT EXISTS tessera_schema_migrations (
      version INTEGER PRIMARY KEY NOT NULL,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const row = database
      .prepare<[], { version: number | null }>(
        'SELECT MAX(version) AS version FROM tessera_schema_migrations',
      )
      .get();
    const current = row?.version ?? 0;
    if (current > latest) {
      throw new TesseraError(
        'invalid_config',
        `the SQLite database has Tessera schema version ${current}, newer than this ` +
          `@tessera/store-sqlite knows (${latest}): upgrade @tessera/store-sqlite, or point it ` +
          'at another database file',
      );
    }
    const record = database.prepare<[number, string, number]>(
      'INSERT INTO tessera_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    for (const migration of migrations.filter((m) => m.version > current)) {
      database.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }
    return { from: current, to: Math.max(current, latest) };
  });
  return apply.immediate();
}
