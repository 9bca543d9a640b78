import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createTessera } from '@tessera/core';
import { runStoreConformance, sampleSession } from '@tessera/core/testing';
import { connectRedis, createRedisStore, keyLayout } from '@tessera/store-redis';
import { startTestCluster, type TestCluster } from './cluster-harness.js';
import { type ConnectedClient, clustered, deleteKeysWithPrefix, uniquePrefix } from './test-env.js';

// One cluster for the whole file: starting one takes about a second.
let cluster: Promise<TestCluster> | undefined;
let client: Promise<ConnectedClient> | undefined;
const clusterUp = () => {
  cluster ??= startTestCluster();
  return cluster;
};
const connected = () => {
  client ??= clusterUp().then((c) => connectRedis(c.url, { connectTimeoutMs: 10_000 }));
  return client;
};

after(async () => {
  // destroy, not close: the last test has stopped the nodes, there is nobody to say QUIT to.
  if (client) (await client).destroy();
  if (cluster) await (await cluster).stop();
});

runStoreConformance({
  name: 'redis cluster (3 masters, started by the test)',
  async makeStore() {
    const redis = await connected();
    const prefix = uniquePrefix();
    const store = createRedisStore({ client: redis, prefix });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await deleteKeysWithPrefix(redis, prefix);
      },
    };
  },
});

describe('redis cluster layout', () => {
  it('puts every key of one session in one slot, and sessions across the masters', async () => {
    const redis = clustered(await connected());
    const keys = keyLayout(uniquePrefix());
    const slotOf = async (key: string) =>
      Number(await redis.sendCommand(undefined, true, ['CLUSTER', 'KEYSLOT', key]));
    const ids = Array.from({ length: 30 }, () => sampleSession().id);
    const slots = new Set<number>();
    for (const id of ids) {
      const slot = await slotOf(keys.session(id));
      // Any other key carrying the session's hash tag lands in the same slot.
      assert.equal(await slotOf(`${keys.session(id)}:anything`), slot);
      slots.add(slot);
    }
    assert.ok(slots.size > 20, 'sessions spread over many slots');
    const userId = 'user {with} braces';
    assert.equal(await slotOf(keys.user(userId)), await slotOf(keys.userEvents(userId)));
  });

  it('runs the engine end to end: create, validate, refresh, end, refused everywhere', async () => {
    const redis = await connected();
    const prefix = uniquePrefix();
    const store = createRedisStore({ client: redis, prefix });
    try {
      const tessera = createTessera({ store });
      const issued = await tessera.create({ userId: 'u-cluster', device: { id: 'd1' } });
      assert.equal((await tessera.validate(issued.accessToken)).ok, true);
      const refreshed = await tessera.refresh(issued.refreshToken);
      assert.ok(refreshed.ok);
      assert.equal((await tessera.validate(issued.accessToken)).ok, false);
      assert.equal((await tessera.validate(refreshed.accessToken)).ok, true);
      assert.equal((await tessera.endAllForUser('u-cluster', 'logout_all')).length, 1);
      const after = await tessera.validate(refreshed.accessToken);
      assert.equal(after.ok, false);
      assert.equal(after.ok === false && after.reason, 'ended');
    } finally {
      await store.close();
      await deleteKeysWithPrefix(redis, prefix);
    }
  });

  it('delivers an end made through one client to a subscriber of another client', async () => {
    const redis = await connected();
    const other = await connectRedis((await clusterUp()).url);
    const prefix = uniquePrefix();
    const writer = createRedisStore({ client: redis, prefix });
    const reader = createRedisStore({ client: other, prefix });
    try {
      const received: string[] = [];
      const channel = reader.subscribeInvalidations((id) => received.push(id));
      await waitFor(() => channel.connected(), 'channel connected');
      const session = sampleSession();
      await writer.createSession(session);
      await writer.endSession(session.id, 'logout', session.createdAt + 1);
      await waitFor(() => received.includes(session.id), 'invalidation received');
    } finally {
      await reader.close();
      await writer.close();
      await other.close();
      await deleteKeysWithPrefix(redis, prefix);
    }
  });

  // Last: it takes the cluster down.
  it('reports the channel down when the cluster goes away', async () => {
    const other = await connectRedis((await clusterUp()).url);
    const store = createRedisStore({ client: other, prefix: uniquePrefix() });
    try {
      const channel = store.subscribeInvalidations(() => {});
      await waitFor(() => channel.connected(), 'channel connected');
      await Promise.all((await clusterUp()).nodes.map((node) => node.kill()));
      await waitFor(() => !channel.connected(), 'channel reported down');
      await assert.rejects(store.ping(), { code: 'store_unavailable' });
    } finally {
      await store.close();
      other.destroy();
    }
  });
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
