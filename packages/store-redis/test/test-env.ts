import { randomBytes } from 'node:crypto';
import { connectRedis, keyLayout, type RedisClient } from '@tessera/store-redis';

/** The shared Redis of this machine; a suite that cannot reach it fails, never skips. */
export const TEST_REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type ConnectedClient = Awaited<ReturnType<typeof connectRedis>>;

/** A key prefix no other test run uses. */
export function uniquePrefix(): string {
  return `tessera-test:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix`, on every master. */
export async function deleteKeysWithPrefix(client: RedisClient, prefix: string): Promise<void> {
  const pattern = keyLayout(prefix).everythingPattern;
  const masters =
    'masters' in client
      ? await Promise.all(client.masters.map((master) => client.nodeClient(master)))
      : [client];
  for (const node of masters) {
    let cursor = '0';
    do {
      const [next, keys] = (await node.sendCommand([
        'SCAN',
        cursor,
        'MATCH',
        pattern,
        'COUNT',
        '1000',
      ])) as [string, string[]];
      cursor = String(next);
      // One DEL per key: on a Cluster the keys of one node still span many slots.
      await Promise.all(keys.map((key) => node.sendCommand(['DEL', key])));
    } while (cursor !== '0');
  }
}

/** Memoized connection shared by the tests of one file. */
export function lazyClient(url: string) {
  let client: Promise<ConnectedClient> | undefined;
  return {
    get: () => {
      client ??= connectRedis(url, { connectTimeoutMs: 5000 });
      return client;
    },
    async close() {
      if (client) await (await client).close();
    },
  };
}

/** Narrows a `connectRedis` client to the standalone kind (for raw commands in tests). */
export function standalone(client: ConnectedClient) {
  if ('masters' in client) throw new Error('expected a standalone client');
  return client;
}

/** Narrows a `connectRedis` client to the cluster kind. */
export function clustered(client: ConnectedClient) {
  if (!('masters' in client)) throw new Error('expected a cluster client');
  return client;
}
