import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionStore } from '@tessera/core';
import { SAMPLE_EPOCH as T0 } from '@tessera/core/testing';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { tempDir } from './helpers.js';

const MINUTE = 60_000;
const COUNT = 20_000;
const CUTOFF = T0 + 60 * MINUTE;

/**
 * Seeds COUNT sessions in one statement (through the store it would take seconds of token
 * hashing and inserts; the purge, not the seeding, is under test). Session `s<i>` is, by i % 5:
 * 0 live; 1 idle before the cutoff (dead); 2 ended before the cutoff (dead); 3 idle long ago but
 * ended after the cutoff (kept, so a late token still gets "ended"); 4 idle exactly at the
 * cutoff (not before it: kept). Every session has its refresh token `r<i>`; the first 1,000
 * also an older, rotated one `old<i>`. Event `e<i>` is old when i is even.
 */
const SEED = `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < @count)
INSERT INTO tessera_sessions (id, user_id, policy, created_at, last_active_at, idle_expires_at,
  absolute_expires_at, authenticated_at, auth_methods, generation, access_token_hash,
  access_expires_at, refresh_token_hash, rotated_at, ended_at, end_reason)
SELECT 's' || i, 'u' || (i % 100), 'medium', @t0, @t0,
  CASE i % 5 WHEN 0 THEN @cutoff + 60000 WHEN 4 THEN @cutoff ELSE @cutoff - 60000 END,
  @t0 + 86400000, @t0, '["pwd"]', 1, 'a' || i, @t0 + 300000, 'r' || i, @t0,
  CASE i % 5 WHEN 2 THEN @cutoff - 1 WHEN 3 THEN @cutoff END,
  CASE WHEN i % 5 IN (2, 3) THEN 'logout' END
FROM n;
INSERT INTO tessera_refresh_tokens (hash, session_id, generation)
  SELECT refresh_token_hash, id, 1 FROM tessera_sessions;
INSERT INTO tessera_refresh_tokens (hash, session_id, generation)
  SELECT 'old' || substr(id, 2), id, 0 FROM tessera_sessions WHERE CAST(substr(id, 2) AS INTEGER) < 1000;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < @count)
INSERT INTO tessera_events (type, at, session_id, user_id, data)
SELECT 'session.created', CASE WHEN i % 2 = 0 THEN @t0 ELSE @cutoff + 60000 END, 's' || i, 'u', '{}'
FROM n;
`;

function count(database: BetterSqlite3.Database, sql: string): number {
  return (database.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).get() as { n: number }).n;
}

describe('purge of a large store', () => {
  const dir = tempDir();
  let database: BetterSqlite3.Database;
  let store: SessionStore;

  before(() => {
    database = openSqliteDatabase(dir.path());
    // A small batch, so the purge takes many batches and their boundaries are exercised.
    store = createSqliteStore({ database, purgeBatchSize: 1_000 });
    const params = { count: COUNT, t0: T0, cutoff: CUTOFF };
    database.transaction(() => {
      for (const statement of SEED.split(';').filter((s) => s.trim())) {
        const names = new Set([...statement.matchAll(/@(\w+)/g)].map((m) => m[1] as string));
        database
          .prepare(statement)
          .run(Object.fromEntries(Object.entries(params).filter(([k]) => names.has(k))));
      }
    })();
  });
  after(() => {
    database.close();
    dir.remove();
  });

  it('removes exactly the dead sessions, their refresh tokens and the old events', async () => {
    assert.equal(count(database, 'tessera_sessions'), COUNT);
    assert.equal(count(database, 'tessera_refresh_tokens'), COUNT + 1_000);

    const removed = await store.purge(CUTOFF, T0 + MINUTE);
    const dead = (COUNT / 5) * 2;
    assert.deepEqual(removed, { sessions: dead, events: COUNT / 2 });

    const kinds = database
      .prepare<[], { kind: number; n: number }>(
        `SELECT CAST(substr(id, 2) AS INTEGER) % 5 AS kind, COUNT(*) AS n
         FROM tessera_sessions GROUP BY kind ORDER BY kind`,
      )
      .all();
    assert.deepEqual(kinds, [
      { kind: 0, n: COUNT / 5 },
      { kind: 3, n: COUNT / 5 },
      { kind: 4, n: COUNT / 5 },
    ]);
    // Every refresh token left belongs to a session left, rotated ones included: none orphaned.
    assert.equal(
      count(
        database,
        'tessera_refresh_tokens WHERE session_id NOT IN (SELECT id FROM tessera_sessions)',
      ),
      0,
    );
    assert.equal(count(database, 'tessera_refresh_tokens'), COUNT - dead + 600);
    assert.equal(count(database, `tessera_events WHERE at < ${T0 + MINUTE}`), 0);
    assert.equal(count(database, 'tessera_events'), COUNT / 2);

    // And through the store's own lookups.
    assert.equal(await store.getSession('s1'), null);
    assert.equal(await store.findByRefreshTokenHash('r2'), null);
    assert.equal(await store.findByRefreshTokenHash('old6'), null);
    assert.equal((await store.findByRefreshTokenHash('old5'))?.generation, 0);
    assert.equal((await store.getSession('s19998'))?.endReason, 'logout');
    assert.equal((await store.findByAccessTokenHash('a19999'))?.id, 's19999');

    assert.deepEqual(await store.purge(CUTOFF, T0 + MINUTE), { sessions: 0, events: 0 });
  });
});
