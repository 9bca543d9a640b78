import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { supportsNodeLeases } from '../node-lease.js';
import type { InvalidationChannel, NodeInvalidation, SessionStore } from '../store.js';
import { generateId } from '../token.js';

/** Polls until `predicate` holds (a subscription coming up, a message arriving). */
async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(2);
  }
}

function invalidation(from: string, sessionIds = [generateId()]): NodeInvalidation {
  return { id: generateId(), from, sessionIds };
}

/**
 * The node-lease verbs (issue 9): what makes a node-local cache exact on a store whose
 * invalidations travel by message. A store without them must have an exact channel instead.
 * Lease expiry runs on the store's own clock (that is the point: no node's clock decides it),
 * which a test cannot inject; the expiry tests therefore use 40 ms leases and wait 100 ms for
 * the store's clock to pass them, the only waits in this suite.
 */
export function nodeLeaseConformance(context: () => SessionStore): void {
  it('a node-local cache can be exact: node leases, or an exact channel', async () => {
    const store = context();
    if (supportsNodeLeases(store)) return;
    assert.ok(store.subscribeInvalidations, 'a store without node leases needs a channel');
    const channel = store.subscribeInvalidations(() => {});
    try {
      assert.equal(channel.exact, true, 'without node leases the channel itself must be exact');
    } finally {
      await channel.close();
    }
  });

  const leased = (name: string, fn: (store: Required<SessionStore>) => Promise<void>) =>
    it(name, async (t) => {
      const store = context();
      if (!supportsNodeLeases(store)) {
        t.diagnostic('no node leases (the channel is exact)');
        return;
      }
      await fn(store as Required<SessionStore>);
    });

  leased('a first lease is not a continuation; a renewal of a live one is', async (store) => {
    const node = generateId();
    assert.deepEqual(await store.renewNodeLease(node, 10_000), { continued: false, pending: [] });
    assert.deepEqual(await store.renewNodeLease(node, 10_000), { continued: true, pending: [] });
    await store.releaseNodeLease(node);
    assert.equal((await store.renewNodeLease(node, 10_000)).continued, false, 'after release');
  });

  leased(
    'an invalidation is pending for every other live node until it acknowledges',
    async (store) => {
      const [a, b, c] = [generateId(), generateId(), generateId()];
      for (const node of [a, b, c]) await store.renewNodeLease(node, 10_000);
      const sent = invalidation(a, [generateId(), generateId()]);
      const holders = await store.deliverInvalidation(sent);
      const mine = holders.filter((h) => [a, b, c].includes(h.nodeId));
      assert.deepEqual(mine.map((h) => h.nodeId).sort(), [b, c].sort(), 'not the sender');
      for (const holder of mine) {
        assert.ok(holder.remainingMs > 0 && holder.remainingMs <= 10_000, `${holder.remainingMs}`);
      }
      assert.deepEqual((await store.unackedNodes(sent.id, [a, b, c])).sort(), [b, c].sort());
      // A renewal returns what is pending, so a lease cannot be extended without seeing it.
      const renewal = await store.renewNodeLease(b, 10_000);
      assert.equal(renewal.continued, true);
      assert.deepEqual(renewal.pending, [sent]);
      await store.ackInvalidations(b, [sent.id]);
      assert.deepEqual(await store.unackedNodes(sent.id, [a, b, c]), [c]);
      assert.deepEqual((await store.renewNodeLease(b, 10_000)).pending, []);
      for (const node of [a, b, c]) await store.releaseNodeLease(node);
      assert.deepEqual(await store.unackedNodes(sent.id, [a, b, c]), [], 'release drops them');
    },
  );

  leased('a lapsed lease is not waited for, and its renewal starts over', async (store) => {
    const [a, b] = [generateId(), generateId()];
    await store.renewNodeLease(a, 10_000);
    await store.renewNodeLease(b, 40);
    await delay(100);
    const sent = invalidation(a);
    const holders = await store.deliverInvalidation(sent);
    assert.ok(!holders.some((h) => h.nodeId === b), 'a lapsed lease holds nobody up');
    assert.deepEqual(await store.renewNodeLease(b, 10_000), { continued: false, pending: [] });
    for (const node of [a, b]) await store.releaseNodeLease(node);
  });

  leased(
    'a lease that lapsed with invalidations pending comes back without them',
    async (store) => {
      const [a, b] = [generateId(), generateId()];
      await store.renewNodeLease(a, 10_000);
      await store.renewNodeLease(b, 40);
      const sent = invalidation(a);
      const holders = await store.deliverInvalidation(sent);
      const held = holders.find((h) => h.nodeId === b);
      assert.ok(held && held.remainingMs <= 40, 'the time left is the lease, not more');
      await delay(100);
      // Not continued: the node forgets its whole cache, so the pending ones are moot.
      assert.deepEqual(await store.renewNodeLease(b, 10_000), { continued: false, pending: [] });
      assert.deepEqual(await store.unackedNodes(sent.id, [b]), []);
      for (const node of [a, b]) await store.releaseNodeLease(node);
    },
  );

  leased(
    'deliveries and acknowledgements are announced on the invalidation channel',
    async (store) => {
      const heard: NodeInvalidation[] = [];
      const acks: [string, string[]][] = [];
      let channel: InvalidationChannel | undefined;
      try {
        channel = store.subscribeInvalidations(() => {}, {
          onInvalidation: (i) => heard.push(i),
          onAck: (node, ids) => acks.push([node, ids]),
        });
        const up = channel;
        await eventually(() => up.connected(), 'the channel');
        const [a, b] = [generateId(), generateId()];
        await store.renewNodeLease(b, 10_000);
        const sent = invalidation(a, [generateId(), generateId()]);
        await store.deliverInvalidation(sent);
        await eventually(() => heard.some((i) => i.id === sent.id), 'the invalidation');
        assert.deepEqual(
          heard.find((i) => i.id === sent.id),
          sent,
        );
        await store.ackInvalidations(b, [sent.id]);
        await eventually(() => acks.some(([node]) => node === b), 'the ack');
        assert.deepEqual(
          acks.find(([node]) => node === b),
          [b, [sent.id]],
        );
        await store.releaseNodeLease(b);
      } finally {
        await channel?.close();
      }
    },
  );
}
