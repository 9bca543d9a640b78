import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isTesseraError } from '@tessera/core';
import { sampleSession } from '@tessera/core/testing';
import {
  createSqliteStore,
  MIGRATIONS,
  migrateSchema,
  openSqliteDatabase,
} from '@tessera/store-sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { EVENT_FILTERS, prepareStatements } from '../src/statements.js';
import { tempDir } from './helpers.js';

const LATEST = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

function versions(database: BetterSqlite3.Database): number[] {
  return database
    .prepare<[], { version: number }>('SELECT version FROM tessera_schema_migrations ORDER BY 1')
    .all()
    .map((row) => row.version);
}

describe('schema migrations', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('brings a fresh database to the latest version', () => {
    const database = openSqliteDatabase(dir.path());
    createSqliteStore({ database });
    assert.deepEqual(
      versions(database),
      MIGRATIONS.map((m) => m.version),
    );
    database.close();
  });

  it('does nothing when the database is opened again, and keeps its data', async () => {
    const first = openSqliteDatabase(dir.path());
    const session = sampleSession();
    await createSqliteStore({ database: first }).createSession(session);
    first.close();

    const second = openSqliteDatabase(dir.path());
    assert.deepEqual(migrateSchema(second), { from: LATEST, to: LATEST });
    const store = createSqliteStore({ database: second });
    assert.deepEqual(await store.getSession(session.id), session);
    assert.equal(versions(second).length, MIGRATIONS.length);
    second.close();
  });

  it('refuses a database written by a newer version, naming both versions', () => {
    const database = openSqliteDatabase(dir.path());
    createSqliteStore({ database });
    database
      .prepare('INSERT INTO tessera_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(LATEST + 1, 'from the future', 0);
    assert.throws(
      () => createSqliteStore({ database }),
      (error) =>
        isTesseraError(error, 'invalid_config') &&
        error.message.includes(`schema version ${LATEST + 1}`) &&
        error.message.includes(`(${LATEST})`),
    );
    database.close();
  });

  it('applies missing migrations all or nothing', () => {
    const database = openSqliteDatabase(dir.path());
    const broken = [
      ...MIGRATIONS,
      { version: LATEST + 1, name: 'adds a column', sql: 'ALTER TABLE tessera_events ADD x TEXT' },
      { version: LATEST + 2, name: 'fails', sql: 'THIS IS NOT SQL' },
    ];
    assert.throws(() => migrateSchema(database, broken));
    // Nothing of the failed run stayed: not the tables, not the version rows.
    const tables = database
      .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'tessera_%' AND type = 'table'")
      .all();
    assert.deepEqual(tables, []);
    assert.deepEqual(migrateSchema(database), { from: 0, to: LATEST });
    assert.deepEqual(migrateSchema(database, broken.slice(0, MIGRATIONS.length + 1)), {
      from: LATEST,
      to: LATEST + 1,
    });
    database.close();
  });

  it('opens the file in WAL mode with the documented pragmas', () => {
    const database = openSqliteDatabase(dir.path(), { busyTimeoutMs: 1234 });
    assert.equal(database.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(database.pragma('synchronous', { simple: true }), 1); // NORMAL
    assert.equal(database.pragma('busy_timeout', { simple: true }), 1234);
    assert.equal(database.pragma('foreign_keys', { simple: true }), 1);
    database.close();
    const full = openSqliteDatabase(dir.path(), { synchronous: 'FULL' });
    assert.equal(full.pragma('synchronous', { simple: true }), 2);
    full.close();
  });
});

describe('indexes', () => {
  /** Statements that read a whole table on purpose. */
  const WHOLE_TABLE = new Set(['ping', 'serviceKeys']);

  function plan(database: BetterSqlite3.Database, source: string): string {
    // Bind NULL to every parameter: the plan does not depend on the values.
    const names = [...source.matchAll(/@(\w+)/g)].map((m) => m[1] as string);
    const statement = database.prepare(`EXPLAIN QUERY PLAN ${source}`);
    const rows = (
      names.length > 0
        ? statement.all(Object.fromEntries(names.map((n) => [n, null])))
        : statement.all(...Array.from(source.matchAll(/\?/g), () => null))
    ) as { detail: string }[];
    return rows.map((row) => row.detail).join('\n');
  }

  it('serves every lookup, update and purge from an index, never a table scan', () => {
    const database = openSqliteDatabase(':memory:');
    createSqliteStore({ database });
    const statements = prepareStatements(database);
    const sources: [string, string][] = [];
    for (const [name, value] of Object.entries(statements)) {
      if (typeof value === 'function' || WHOLE_TABLE.has(name)) continue;
      sources.push([name, (value as unknown as { source: string }).source]);
    }
    // Every combination of event filters.
    const keys = EVENT_FILTERS.map((f) => f.key);
    for (let mask = 0; mask < 1 << keys.length; mask++) {
      const chosen = keys.filter((_, i) => mask & (1 << i));
      const source = (statements.eventQuery(chosen) as unknown as { source: string }).source;
      sources.push([`eventQuery(${chosen.join(',')})`, source]);
    }
    assert.ok(sources.length > 40);
    for (const [name, source] of sources) {
      const detail = plan(database, source);
      assert.doesNotMatch(detail, /\bSCAN tessera_/, `${name} scans a table:\n${detail}`);
    }
    database.close();
  });
});
