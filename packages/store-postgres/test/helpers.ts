import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';

/** The machine's PostgreSQL. Suites fail (never skip) when it cannot be reached. */
export const POSTGRES_URL =
  process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other test run uses, so suites can share the database. */
export function uniqueSchema(label: string): string {
  return `tessera_test_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export async function dropSchema(pool: Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

export const TABLES = (schema: string) =>
  [
    'sessions',
    'refresh_tokens',
    'service_keys',
    'events',
    'operators',
    'console_secret',
    'webhook_subscriptions',
    'webhook_deliveries',
  ]
    .map((t) => `"${schema}".${t}`)
    .join(', ');

/**
 * Polls until `predicate` holds. For waiting on something that will happen (a reconnection, a
 * notification), never for proving that something did not.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  { timeoutMillis = 5000, what = 'condition' } = {},
): Promise<number> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMillis) {
      throw new Error(`timed out after ${timeoutMillis} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}
