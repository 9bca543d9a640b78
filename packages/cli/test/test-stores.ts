import { createPool } from '@tessera/store-postgres';
import { connectRedis } from '@tessera/store-redis';

/** The machine's Redis and PostgreSQL that the store suites use; they fail, never skip, without them. */
export const REDIS_URL = process.env['TESSERA_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL =
  process.env['TESSERA_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Removes what a test file left in the shared servers: its Redis key prefix and its schema. */
export async function removeTestData({ prefix, schema }: { prefix: string; schema: string }) {
  const redis = await connectRedis(REDIS_URL);
  if (!('scanIterator' in redis)) throw new Error('expected a standalone Redis for the tests');
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) await redis.del(keys);
  }
  await redis.close();
  const pool = createPool(POSTGRES_URL);
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
}
