/**
 * Measures what one session costs on disk in PostgreSQL: heap, TOAST and every index of
 * `sessions` and `refresh_tokens`, divided by the number of sessions. Rows are shaped like the
 * engine writes them (random 22-character ids, UUID user ids, a full device record, random
 * SHA-256 digests inserted in random order, as in production). Two states are measured:
 * - fresh: just signed in (generation 0, one refresh token, no sealed successor);
 * - refreshed once: generation 1, two refresh tokens (the rotated one stays findable for reuse
 *   detection until the session is purged) and a sealed successor pair.
 * Also prints bytes per event. Works in a scratch schema, dropped at the end.
 *
 * Usage (from the repository root):
 *   node --conditions=source --import tsx packages/store-postgres/scripts/bytes-per-session.ts [N] [URL]
 * N defaults to 100000; URL to TESSERA_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test.
 */
import { generateId, generateToken, sealSuccessor } from '@tessera/core';
import { createPool, migrate } from '@tessera/store-postgres';

const count = Number(process.argv[2] ?? 100_000);
const url =
  process.argv[3] ??
  process.env.TESSERA_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
if (!Number.isInteger(count) || count < 1) throw new Error(`N must be a whole number ≥ 1`);

const schema = `tessera_scratch_bytes_${process.pid}`;
const s = `"${schema}"`;
const CHUNK = 100_000;
const T0 = Date.UTC(2026, 0, 1);
const sealedLength = sealSuccessor(generateToken('refresh'), generateId(), 1, {
  accessToken: generateToken('access'),
  refreshToken: generateToken('refresh'),
}).length;

// Bulk statements take longer than the 5 s a production statement gets.
const pool = createPool(url, { statementTimeoutMillis: 600_000, queryTimeoutMillis: 610_000 });

async function insertSessions(refreshed: boolean): Promise<void> {
  for (let from = 1; from <= count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK - 1);
    await pool.query(
      `WITH created AS (
         INSERT INTO ${s}.sessions (id, user_id, policy, created_at, last_active_at,
           idle_expires_at, absolute_expires_at, authenticated_at, auth_methods, device,
           generation, access_token_hash, access_expires_at, refresh_token_hash, rotated_at,
           successor_sealed, ended_at, end_reason)
         SELECT substr(md5(random()::text), 1, 22), gen_random_uuid()::text, 'medium',
           $1::bigint, $1::bigint, $1::bigint + 1800000, $1::bigint + 86400000, $1::bigint,
           '{pwd}',
           jsonb_build_object('id', gen_random_uuid()::text, 'name', 'Pixel 9',
             'platform', 'android', 'appVersion', '1.2.3', 'ip', '203.0.113.7',
             'userAgent', 'app/1.2.3 (Android 15)'),
           $4::integer, sha256(random()::text::bytea), $1::bigint + 300000,
           sha256(random()::text::bytea), $1::bigint,
           CASE WHEN $4::integer > 0 THEN repeat('x', $5::integer) END, NULL, NULL
         FROM generate_series($2::integer, $3::integer)
         RETURNING id, refresh_token_hash, generation)
       INSERT INTO ${s}.refresh_tokens (hash, session_id, generation)
       SELECT refresh_token_hash, id, generation FROM created
       UNION ALL
       SELECT sha256(random()::text::bytea), id, 0 FROM created WHERE generation > 0`,
      [T0, from, to, refreshed ? 1 : 0, sealedLength],
    );
  }
  await pool.query(`VACUUM ANALYZE ${s}.sessions, ${s}.refresh_tokens`);
}

async function insertEvents(): Promise<void> {
  for (let from = 1; from <= count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK - 1);
    await pool.query(
      `INSERT INTO ${s}.events (type, at, session_id, user_id, reason, device_id, ip, data)
       SELECT 'session.refreshed', $1::bigint + i, substr(md5(random()::text), 1, 22),
         gen_random_uuid()::text, NULL, gen_random_uuid()::text, '203.0.113.7',
         jsonb_build_object('generation', 1)
       FROM generate_series($2::integer, $3::integer) AS i`,
      [T0, from, to],
    );
  }
  await pool.query(`VACUUM ANALYZE ${s}.events`);
}

interface Size {
  relation: string;
  heap: number;
  indexes: number;
  total: number;
}

async function sizes(tables: string[]): Promise<Size[]> {
  const { rows } = await pool.query<{
    relation: string;
    heap: string;
    indexes: string;
    total: string;
  }>(
    `SELECT t AS relation,
            pg_table_size(format('%I.%I', $1::text, t)) AS heap,
            pg_indexes_size(format('%I.%I', $1::text, t)) AS indexes,
            pg_total_relation_size(format('%I.%I', $1::text, t)) AS total
       FROM unnest($2::text[]) AS t`,
    [schema, tables],
  );
  return rows.map((r) => ({
    relation: r.relation,
    heap: Number(r.heap),
    indexes: Number(r.indexes),
    total: Number(r.total),
  }));
}

function report(label: string, measured: Size[], per: number): number {
  const total = measured.reduce((sum, m) => sum + m.total, 0);
  console.log(
    `\n${label}: ${(total / per).toFixed(1)} bytes per row of ${per.toLocaleString('en')}`,
  );
  for (const m of measured) {
    console.log(
      `  ${m.relation.padEnd(15)} heap+toast ${(m.heap / per).toFixed(1).padStart(6)}  indexes ${(m.indexes / per).toFixed(1).padStart(6)}  total ${(m.total / per).toFixed(1).padStart(6)}`,
    );
  }
  return total / per;
}

try {
  await migrate({ pool, schema });
  const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
  console.log(`PostgreSQL ${rows[0]?.server_version}, ${count.toLocaleString('en')} sessions`);
  const started = Date.now();

  await insertSessions(false);
  const fresh = report('fresh session', await sizes(['sessions', 'refresh_tokens']), count);
  await pool.query(`TRUNCATE ${s}.sessions, ${s}.refresh_tokens`);

  await insertSessions(true);
  const refreshed = report(
    `refreshed once (sealed successor ${sealedLength} chars)`,
    await sizes(['sessions', 'refresh_tokens']),
    count,
  );
  await pool.query(`TRUNCATE ${s}.sessions, ${s}.refresh_tokens`);

  await insertEvents();
  report('event', await sizes(['events']), count);

  console.log(
    `\nsummary: ${fresh.toFixed(0)} B/session fresh, ${refreshed.toFixed(0)} B/session after one refresh; ` +
      `${((count * refreshed) / 2 ** 20).toFixed(0)} MiB for ${count.toLocaleString('en')} refreshed sessions ` +
      `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await pool.end();
}
