import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { SAMPLE_EPOCH as T0 } from '@tessera/core/testing';
import { createPool, createPostgresStore, migrate } from '@tessera/store-postgres';
import { dropSchema, POSTGRES_URL, uniqueSchema } from './helpers.js';

// Seeding 50,000 rows in one statement can take longer than a production statement may.
const pool = createPool(POSTGRES_URL, {
  maxConnections: 4,
  statementTimeoutMillis: 120_000,
  queryTimeoutMillis: 121_000,
});
const schema = uniqueSchema('purge');
const s = `"${schema}"`;
const ROWS = 50_000;
const CUT = T0 + 2 * 60_000;

before(async () => {
  await migrate({ pool, schema });
});

after(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

async function count(table: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM ${s}.${table}`,
  );
  return rows[0]!.n;
}

/**
 * Four kinds of session, a quarter each, by `i % 4`:
 * 0 idle-expired before the cut, 1 ended before the cut (both purged);
 * 2 ended after the cut although idle-expired before it (kept: "ended" is what a late token
 * should still hear), 3 live (kept). Every session has two refresh tokens.
 */
async function seed(): Promise<void> {
  await pool.query(
    `INSERT INTO ${s}.sessions (id, user_id, policy, created_at, last_active_at,
       idle_expires_at, absolute_expires_at, authenticated_at, auth_methods, device, generation,
       access_token_hash, access_expires_at, refresh_token_hash, rotated_at, ended_at, end_reason)
     SELECT 's' || i, 'user-' || (i % 997), 'medium', $1::bigint, $1::bigint,
       CASE WHEN i % 4 IN (0, 2) THEN $1::bigint + 60000 ELSE $1::bigint + 3600000 END,
       $1::bigint + 86400000, $1::bigint, '{pwd}', '{"id": "d"}', 1,
       sha256(('a' || i)::bytea), $1::bigint + 300000, sha256(('r1-' || i)::bytea), $1::bigint,
       CASE i % 4 WHEN 1 THEN $1::bigint + 1000 WHEN 2 THEN $1::bigint + 600000 END,
       CASE WHEN i % 4 IN (1, 2) THEN 'logout' END
     FROM generate_series(1, $2::integer) AS i`,
    [T0, ROWS],
  );
  await pool.query(
    `INSERT INTO ${s}.refresh_tokens (hash, session_id, generation)
     SELECT sha256(('r' || g || '-' || i)::bytea), 's' || i, g
     FROM generate_series(1, $1::integer) AS i, generate_series(0, 1) AS g`,
    [ROWS],
  );
  await pool.query(
    `INSERT INTO ${s}.events (type, at, session_id, user_id, data)
     SELECT 'session.created', $1::bigint + (i % 2) * 10000000, 's' || i, 'user-' || (i % 997), '{}'
     FROM generate_series(1, $2::integer) AS i`,
    [T0, ROWS],
  );
  await pool.query(`ANALYZE ${s}.sessions, ${s}.refresh_tokens, ${s}.events`);
}

describe('purge at volume', () => {
  before(seed);

  it('removes exactly the dead sessions with their refresh tokens and the old events, in batches', async (t) => {
    const store = createPostgresStore({ pool, schema });
    const started = performance.now();
    const removed = await store.purge(CUT, T0 + 1);
    const millis = Math.round(performance.now() - started);
    t.diagnostic(
      `purged ${removed.sessions} sessions and ${removed.events} events in ${millis} ms`,
    );

    assert.deepEqual(removed, { sessions: ROWS / 2, events: ROWS / 2 });
    assert.equal(await count('sessions'), ROWS / 2);
    assert.equal(await count('refresh_tokens'), ROWS);
    assert.equal(await count('events'), ROWS / 2);
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::integer AS n FROM ${s}.sessions
        WHERE substring(id from 2)::integer % 4 IN (0, 1)`,
    );
    assert.equal(rows[0]!.n, 0);
    // A survivor is still whole: found through its refresh tokens of both generations.
    const survivor = await store.findByRefreshTokenHash(
      (await pool.query<{ h: string }>(`SELECT encode(sha256('r0-3'::bytea), 'hex') AS h`)).rows[0]!
        .h,
    );
    assert.equal(survivor?.session.id, 's3');
    assert.deepEqual(await store.purge(CUT, T0 + 1), { sessions: 0, events: 0 });
  });

  it('finds what to purge through an index, not by reading the table', async () => {
    // With nearly nothing to purge among many live rows (the normal case, and the state the
    // test above leaves), the batch query must be an index range scan: a sequential scan
    // would read every session on every run.
    await pool.query(`ANALYZE ${s}.sessions, ${s}.events`);
    for (const [table, expression, index] of [
      ['sessions', 'COALESCE(ended_at, idle_expires_at)', 'sessions_purge'],
      ['events', 'at', 'events_at'],
    ] as const) {
      const { rows } = await pool.query(
        `EXPLAIN DELETE FROM ${s}.${table} WHERE id IN (
           SELECT id FROM ${s}.${table} WHERE ${expression} < $1 LIMIT 5000 FOR UPDATE SKIP LOCKED)`,
        [T0],
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(plan, new RegExp(`Index (Only )?Scan using ${index}`), plan);
    }
  });
});
