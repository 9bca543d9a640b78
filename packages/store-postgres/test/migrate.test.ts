import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isTesseraError } from '@tessera/core';
import { createPool, migrate, SCHEMA_VERSION } from '@tessera/store-postgres';
import { MIGRATIONS } from '../src/migrations.js';
import { dropSchema, POSTGRES_URL, uniqueSchema } from './helpers.js';

const pool = createPool(POSTGRES_URL, { maxConnections: 4 });
const other = createPool(POSTGRES_URL, { maxConnections: 4 });
const schemas: string[] = [];

function freshSchema(): string {
  const schema = uniqueSchema('migrate');
  schemas.push(schema);
  return schema;
}

async function versions(schema: string): Promise<number[]> {
  const { rows } = await pool.query<{ version: number }>(
    `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
  );
  return rows.map((r) => r.version);
}

const ALL = MIGRATIONS.map((m) => m.version);

after(async () => {
  for (const schema of schemas) await dropSchema(pool, schema);
  await Promise.all([pool.end(), other.end()]);
});

describe('migrate', () => {
  it('creates the schema, applies every migration once, and does nothing the second time', async () => {
    const schema = freshSchema();
    assert.deepEqual(await migrate({ pool, schema }), {
      schema,
      from: 0,
      to: SCHEMA_VERSION,
      applied: ALL,
    });
    assert.deepEqual(await migrate({ pool, schema }), {
      schema,
      from: SCHEMA_VERSION,
      to: SCHEMA_VERSION,
      applied: [],
    });
    assert.deepEqual(await versions(schema), ALL);
  });

  it('lets two nodes migrate the same database at once, each migration applied once', async () => {
    const schema = freshSchema();
    const results = await Promise.all([
      migrate({ pool, schema }),
      migrate({ pool: other, schema }),
      migrate({ pool: other, schema }),
    ]);
    // The advisory lock serialises them: each migration is applied by exactly one of them (one
    // transaction per migration, so with several migrations the work may be shared).
    assert.deepEqual(
      results.flatMap((r) => r.applied).sort((a, b) => a - b),
      ALL,
    );
    assert.deepEqual(await versions(schema), ALL);
  });

  it('refuses a database that newer code has migrated, changing nothing', async () => {
    const schema = freshSchema();
    await migrate({ pool, schema });
    await pool.query(
      `INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, 'from the future')`,
      [SCHEMA_VERSION + 1],
    );
    await assert.rejects(migrate({ pool, schema }), (error) =>
      isTesseraError(error, 'invalid_config'),
    );
    assert.deepEqual(await versions(schema), [...ALL, SCHEMA_VERSION + 1]);
  });

  it('refuses a schema name that could carry SQL', async () => {
    await assert.rejects(migrate({ pool, schema: 'x"; DROP SCHEMA public; --' }), (error) =>
      isTesseraError(error, 'invalid_config'),
    );
  });

  it('rejects as unavailable when the database cannot be reached', async () => {
    const nowhere = createPool('postgres://postgres@127.0.0.1:1/test', {
      connectionTimeoutMillis: 500,
    });
    try {
      await assert.rejects(migrate({ pool: nowhere, schema: freshSchema() }), (error) =>
        isTesseraError(error, 'store_unavailable'),
      );
    } finally {
      await nowhere.end();
    }
  });
});
