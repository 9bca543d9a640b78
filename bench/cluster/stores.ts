import { randomBytes } from 'node:crypto';
import { createPool } from '@tessera/store-postgres';
import { startTestCluster } from '../../packages/store-redis/test/cluster-harness.js';
import { startRedisServer } from '../../packages/store-redis/test/redis-server-harness.js';

export type StoreKind = 'redis' | 'cluster' | 'postgres';

export interface BenchStore {
  kind: StoreKind;
  /** What the table calls it. */
  label: string;
  /** The `--store` URL every node gets. */
  url: string;
  /** Stops what this benchmark started (or drops what it created), and only that. */
  close(): Promise<void>;
}

const POSTGRES_URL =
  process.env['BENCH_POSTGRES_URL'] ??
  process.env['TESSERA_TEST_POSTGRES_URL'] ??
  'postgres://postgres@127.0.0.1:5432/test';

/**
 * Starts (or prepares) one store for the benchmark:
 * - `redis`: a private `redis-server` on a free loopback port, no persistence (RDB and AOF off);
 * - `cluster`: a private 3-master Redis Cluster, from the store-redis test harness;
 * - `postgres`: a fresh schema on the machine's PostgreSQL, dropped by `close()`.
 *
 * @example
 * const store = await openBenchStore('redis');
 * try { … } finally { await store.close(); }
 */
export async function openBenchStore(kind: StoreKind): Promise<BenchStore> {
  switch (kind) {
    case 'redis': {
      const server = await startRedisServer(['--appendonly', 'no']);
      return {
        kind,
        label: 'Redis (1 server)',
        url: server.url,
        close: () => server.stop(),
      };
    }
    case 'cluster': {
      const cluster = await startTestCluster({ masters: 3 });
      return {
        kind,
        label: 'Redis Cluster (3 masters)',
        url: cluster.url,
        close: () => cluster.stop(),
      };
    }
    case 'postgres': {
      const schema = `bench_cluster_${randomBytes(4).toString('hex')}`;
      const url = new URL(POSTGRES_URL);
      url.searchParams.set('schema', schema);
      // Fail now, with a clear message, rather than in three nodes at once.
      const pool = createPool(POSTGRES_URL);
      try {
        await pool.query('SELECT 1');
      } catch (error) {
        await pool.end();
        throw new Error(`cannot reach PostgreSQL at ${POSTGRES_URL}: ${String(error)}`);
      }
      return {
        kind,
        label: 'PostgreSQL',
        url: url.toString(),
        async close() {
          try {
            await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          } finally {
            await pool.end();
          }
        },
      };
    }
  }
}
