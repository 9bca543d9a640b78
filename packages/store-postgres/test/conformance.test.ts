import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { generateId, generateToken, hashToken, isTesseraError } from '@tessera/core';
import { runStoreConformance, sampleSession } from '@tessera/core/testing';
import { createPool, createPostgresStore, migrate } from '@tessera/store-postgres';
import { dropSchema, POSTGRES_URL, TABLES, uniqueSchema } from './helpers.js';

const pool = createPool(POSTGRES_URL, { maxConnections: 8 });
const schema = uniqueSchema('conformance');

before(async () => {
  await migrate({ pool, schema });
});

after(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

runStoreConformance({
  name: 'postgres',
  async makeStore() {
    const store = createPostgresStore({ pool, schema });
    return {
      store,
      async cleanup() {
        await store.close();
        // Emptying the tables is much cheaper than a schema per test.
        await pool.query(`TRUNCATE ${TABLES(schema)}`);
      },
    };
  },
  extra(current) {
    it('treats a malformed hash as unknown on lookup and refuses to store one', async () => {
      const store = current();
      const session = sampleSession();
      await store.createSession(session);
      // A valid digest followed by junk must not be truncated into the valid digest.
      assert.equal(await store.findByAccessTokenHash(`${session.accessTokenHash}zz`), null);
      assert.equal(await store.findByAccessTokenHash(session.accessTokenHash.toUpperCase()), null);
      assert.equal(await store.findByRefreshTokenHash('not-a-hash'), null);
      await assert.rejects(
        store.createSession(sampleSession({ accessTokenHash: 'abc' })),
        (error) => isTesseraError(error, 'invalid_argument'),
      );
    });

    it('refuses an access token hash that another session holds, as a conflict', async () => {
      const store = current();
      const session = sampleSession();
      await store.createSession(session);
      await assert.rejects(
        store.createSession(sampleSession({ accessTokenHash: session.accessTokenHash })),
        (error) => isTesseraError(error, 'store_conflict'),
      );
    });

    it('leaves a session untouched when any part of its rotation fails', async () => {
      const store = current();
      const a = sampleSession();
      const b = sampleSession();
      await store.createSession(a);
      await store.createSession(b);
      const clash = {
        generation: 1,
        accessTokenHash: hashToken(generateToken('access')),
        accessExpiresAt: a.accessExpiresAt + 1,
        refreshTokenHash: b.refreshTokenHash,
        rotatedAt: a.rotatedAt + 1,
        successorSealed: 'sealed',
        lastActiveAt: a.lastActiveAt + 1,
        idleExpiresAt: a.idleExpiresAt + 1,
      };
      await assert.rejects(store.rotateSession(a.id, 0, clash));
      assert.deepEqual(await store.getSession(a.id), a);
      assert.equal((await store.findByAccessTokenHash(a.accessTokenHash))?.id, a.id);
    });

    it('refuses a cursor that no page handed out', async () => {
      await assert.rejects(current().queryEvents({ after: '1; DROP TABLE x' }), (error) =>
        isTesseraError(error, 'invalid_argument'),
      );
    });

    it('tells the operator to migrate when the schema does not exist', async () => {
      const store = createPostgresStore({ pool, schema: `${schema}_missing` });
      await assert.rejects(store.getSession(generateId()), (error) =>
        isTesseraError(error, 'invalid_config'),
      );
    });

    it('refuses a schema name that is not a plain identifier', () => {
      for (const bad of ['Tessera', 'a"b', 'x; DROP TABLE y', '', 'a'.repeat(49)]) {
        assert.throws(
          () => createPostgresStore({ pool, schema: bad }),
          (error) => isTesseraError(error, 'invalid_config'),
        );
      }
    });

    it('has an index for every lookup the store makes', async () => {
      const client = await pool.connect();
      try {
        // With sequential scans priced out, a plan still holding one means no index serves
        // the query at all.
        await client.query('BEGIN');
        await client.query('SET LOCAL enable_seqscan = off');
        const s = `"${schema}"`;
        const lookups: Record<string, string> = {
          'access hash': `SELECT * FROM ${s}.sessions WHERE access_token_hash = '\\x00'`,
          'refresh hash': `SELECT * FROM ${s}.refresh_tokens WHERE hash = '\\x00'`,
          'user sessions': `SELECT * FROM ${s}.sessions WHERE user_id = 'u' ORDER BY created_at`,
          'user device': `SELECT * FROM ${s}.sessions WHERE user_id = 'u' AND device->>'id' = 'd' AND ended_at IS NULL`,
          'session purge': `SELECT id FROM ${s}.sessions WHERE COALESCE(ended_at, idle_expires_at) < 5 LIMIT 10`,
          'token cascade': `SELECT * FROM ${s}.refresh_tokens WHERE session_id = 'x'`,
          'service key': `SELECT * FROM ${s}.service_keys WHERE key_hash = '\\x00'`,
          'user events': `SELECT * FROM ${s}.events WHERE user_id = 'u' AND id > 5 ORDER BY id LIMIT 10`,
          'session events': `SELECT * FROM ${s}.events WHERE session_id = 'x' AND id > 5 ORDER BY id LIMIT 10`,
          'type events': `SELECT * FROM ${s}.events WHERE type = 'session.ended' AND id > 5 ORDER BY id LIMIT 10`,
          'event purge': `SELECT id FROM ${s}.events WHERE at < 5 LIMIT 10`,
        };
        for (const [name, sql] of Object.entries(lookups)) {
          const { rows } = await client.query(`EXPLAIN ${sql}`);
          const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
          assert.doesNotMatch(plan, /Seq Scan/, `${name}:\n${plan}`);
        }
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  },
});
