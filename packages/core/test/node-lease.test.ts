import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createMemoryStore,
  createNodeLease,
  createTessera,
  generateId,
  manualClock,
  type SessionStore,
  supportsNodeLeases,
  type Tessera,
} from '@tessera/core';

/** Polls until `predicate` holds: for something that will happen (a lease being granted). */
async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(1);
  }
}

/** A memory store that counts token lookups. */
function counting(store: SessionStore) {
  const state = { lookups: 0 };
  const counted: SessionStore = {
    ...store,
    async findByAccessTokenHash(hash) {
      state.lookups += 1;
      return store.findByAccessTokenHash(hash);
    },
  };
  return { counted, state };
}

/**
 * The store as a slow node sees it: plain session-id messages never arrive, and deliveries
 * arrive `lagMs` late. Only the lease protocol can then make an end wait for this node.
 */
function laggy(store: SessionStore, lagMs = 30): SessionStore {
  return {
    ...store,
    subscribeInvalidations(_listener, events = {}) {
      return store.subscribeInvalidations!(() => {}, {
        ...events,
        onInvalidation: (invalidation) => {
          setTimeout(() => events.onInvalidation?.(invalidation), lagMs);
        },
      });
    },
  };
}

function leaseStore(store: SessionStore) {
  assert.ok(supportsNodeLeases(store));
  return store;
}

async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => {
    settled = true;
  });
  await delay(0);
  return settled;
}

describe('node leases: exact revocation with the cache on (issue 9)', () => {
  it('an end on one node returns only once the other node dropped its cached copy', async () => {
    const shared = createMemoryStore();
    const a = createTessera({ store: shared, cache: {} });
    const { counted, state } = counting(laggy(shared));
    const b = createTessera({ store: counted, cache: {} });
    try {
      await eventually(() => a.cacheActive() && b.cacheActive(), 'both leases');
      const issued = await a.create({ userId: 'u' });
      assert.equal((await b.validate(issued.accessToken)).ok, true);
      assert.equal((await b.validate(issued.accessToken)).ok, true);
      assert.equal(state.lookups, 1, 'the second answer came from node B cache');
      await a.end(issued.session.id, 'logout');
      // No message is awaited here: the end's return is the only synchronisation.
      assert.equal((await b.validate(issued.accessToken)).reason, 'ended');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a rotation returns only once the other node dropped the old access token', async () => {
    const shared = createMemoryStore();
    const a = createTessera({ store: shared, cache: {} });
    const b = createTessera({ store: laggy(shared), cache: {} });
    try {
      await eventually(() => a.cacheActive() && b.cacheActive(), 'both leases');
      const issued = await a.create({ userId: 'u' });
      await b.validate(issued.accessToken);
      const refreshed = await a.refresh(issued.refreshToken);
      assert.equal(refreshed.ok, true);
      assert.equal((await b.validate(issued.accessToken)).ok, false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a node with the cache off still waits for the nodes that cache', async () => {
    const shared = createMemoryStore();
    const ender = createTessera({ store: shared, cache: false });
    const cacher = createTessera({ store: laggy(shared), cache: {} });
    try {
      await eventually(() => cacher.cacheActive(), 'the lease');
      assert.equal(ender.cacheActive(), false);
      const issued = await ender.create({ userId: 'u' });
      await cacher.validate(issued.accessToken);
      await cacher.validate(issued.accessToken);
      const ended = await ender.endAllForUser('u', 'logout_all');
      assert.equal(ended.length, 1);
      assert.equal((await cacher.validate(issued.accessToken)).reason, 'ended');
    } finally {
      await Promise.all([ender.close(), cacher.close()]);
    }
  });

  it('a node that holds a lease but never answers delays an end by its lease at most, never more', async () => {
    const clock = manualClock();
    const monotonic = { now: 0 };
    const store = leaseStore(createMemoryStore({ clock }));
    const ender = createNodeLease(store, {
      hold: false,
      monotonic: () => monotonic.now,
    });
    // A frozen node: its lease was granted, then it stopped (no acknowledgement ever).
    const frozen = generateId();
    await store.renewNodeLease(frozen, 1000);
    clock.advance(400);
    monotonic.now += 400;
    const ending = ender.settle([generateId()]);
    await delay(120);
    assert.equal(await isSettled(ending), false, 'waits while the lease lives');
    // 600 ms were left on the lease; the store's and the node's clocks move together.
    clock.advance(590);
    monotonic.now += 590;
    await delay(120);
    assert.equal(await isSettled(ending), false, 'still 10 ms left');
    clock.advance(20);
    monotonic.now += 20;
    await ending;
    await ender.close();
  });

  it('a node whose lease lapsed by its monotonic clock (frozen) forgets its cache before serving again', async () => {
    const monotonic = { now: 0 };
    const store = leaseStore(createMemoryStore());
    const events: string[] = [];
    const node = createNodeLease(store, {
      hold: true,
      leaseMs: 1000,
      renewEveryMs: 0,
      monotonic: () => monotonic.now,
    });
    node.attach({
      drop: (ids) => events.push(`drop ${ids.join(',')}`),
      clear: () => events.push('clear'),
    });
    try {
      await node.renew();
      await eventually(() => node.valid(), 'the lease and the channel');
      events.length = 0;
      monotonic.now += 980;
      assert.equal(node.valid(), true);
      // SIGSTOP for 5 s: the monotonic clock kept running.
      monotonic.now += 5000;
      assert.equal(node.valid(), false, 'fenced the moment it looks');
      assert.deepEqual(events, ['clear'], 'and forgot everything at once');
      await node.renew();
      assert.equal(node.valid(), true, 'back after one renewal');
    } finally {
      await node.close();
    }
  });

  it('a renewal hands over what was pending, dropped before the new lease counts', async () => {
    const store = leaseStore(createMemoryStore());
    const dropped: string[] = [];
    const node = createNodeLease(store, { hold: true, renewEveryMs: 0 });
    node.attach({ drop: (ids) => dropped.push(...ids), clear: () => {} });
    try {
      await node.renew();
      await eventually(() => node.valid(), 'the lease');
      // Delivered straight to the store: as if every message about it had been lost.
      const sessionId = generateId();
      const holders = await store.deliverInvalidation({
        id: generateId(),
        from: generateId(),
        sessionIds: [sessionId],
      });
      assert.ok(holders.some((h) => h.nodeId === node.nodeId));
      dropped.length = 0;
      await node.renew();
      assert.ok(dropped.includes(sessionId));
    } finally {
      await node.close();
    }
  });

  it('after its channel reconnects a node serves nothing from its cache until a new renewal (the store may have lost the lease)', async () => {
    const inner = createMemoryStore();
    const hooks: (() => void)[] = [];
    const store = leaseStore({
      ...inner,
      subscribeInvalidations(listener, events = {}) {
        if (events.onConnected) hooks.push(events.onConnected);
        return inner.subscribeInvalidations!(listener, events);
      },
    });
    const renewals = { held: false, release: () => {} };
    const slow = leaseStore({
      ...store,
      async renewNodeLease(nodeId, leaseMs) {
        if (renewals.held) await new Promise<void>((resolve) => (renewals.release = resolve));
        return store.renewNodeLease(nodeId, leaseMs);
      },
    });
    const node = createNodeLease(slow, { hold: true, renewEveryMs: 0 });
    try {
      await node.renew();
      await eventually(() => node.valid(), 'the lease');
      // The store restarted empty (say, Redis without persistence): the lease is gone.
      await inner.releaseNodeLease!(node.nodeId);
      renewals.held = true;
      for (const reconnected of hooks) reconnected();
      assert.equal(node.valid(), false, 'fenced from the reconnect on');
      renewals.held = false;
      renewals.release();
      await eventually(() => node.valid(), 'a renewal after the reconnect');
    } finally {
      renewals.held = false;
      renewals.release();
      await node.close();
    }
  });

  it('a closed node releases its lease and holds no end up', async () => {
    const shared = createMemoryStore();
    const a = createTessera({ store: shared, cache: {} });
    const b: Tessera = createTessera({ store: shared, cache: {} });
    await eventually(() => a.cacheActive() && b.cacheActive(), 'both leases');
    await b.close();
    const issued = await a.create({ userId: 'u' });
    const started = performance.now();
    await a.end(issued.session.id, 'logout');
    assert.ok(performance.now() - started < 500, 'no wait for a node that left');
    await a.close();
  });
});
