import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore, createTessera, manualClock, type SessionStore } from '@tessera/core';

/** The memory store without its channel and node leases: a store with no way to invalidate. */
function withoutChannel(store: SessionStore): SessionStore {
  const {
    subscribeInvalidations: _channel,
    renewNodeLease: _renew,
    releaseNodeLease: _release,
    deliverInvalidation: _deliver,
    ackInvalidations: _ack,
    unackedNodes: _unacked,
    ...plain
  } = store;
  return plain;
}

/**
 * A memory store with a controllable invalidation channel (and no node leases: these tests are
 * about the channel alone, the fast path; node-lease.test.ts tests the leases) and a count of
 * token lookups.
 */
function instrumentedStore() {
  const inner = withoutChannel(createMemoryStore());
  const listeners = new Set<(id: string) => void>();
  const reconnectHooks: (() => void)[] = [];
  // `pendingReset` makes the next connected() call report a reconnect, as a channel that learns
  // of lost messages only when asked does (SQLite's data_version).
  const state = { connected: true, lookups: 0, pendingReset: false };
  const store: SessionStore = {
    ...inner,
    async findByAccessTokenHash(hash) {
      state.lookups += 1;
      return inner.findByAccessTokenHash(hash);
    },
    subscribeInvalidations(listener, events) {
      listeners.add(listener);
      if (events?.onConnected) reconnectHooks.push(events.onConnected);
      return {
        connected: () => {
          if (state.pendingReset) {
            state.pendingReset = false;
            for (const hook of reconnectHooks) hook();
          }
          return state.connected;
        },
        close: async () => void listeners.delete(listener),
      };
    },
  };
  const publish = (id: string) => {
    for (const listener of listeners) listener(id);
  };
  /** The channel dropped and came back between two lookups. */
  const blip = () => {
    for (const hook of reconnectHooks) hook();
  };
  return { inner, store, state, publish, blip };
}

/**
 * A store whose token lookups read the store, then wait for `resume()` before answering: the
 * window in which another node's end can race with this node's read.
 */
function pausing(store: SessionStore, inner: SessionStore) {
  let pause: (() => void) | undefined;
  const slow: SessionStore = {
    ...store,
    async findByAccessTokenHash(hash) {
      const result = await inner.findByAccessTokenHash(hash);
      await new Promise<void>((resolve) => {
        pause = resolve;
      });
      return result;
    },
  };
  return { slow, resume: () => pause?.() };
}

describe('node-local session cache (DESIGN.md §6)', () => {
  it('answers repeated validations without a store read while the channel is up', async () => {
    const { store, state } = instrumentedStore();
    const tessera = createTessera({ store, clock: manualClock(), cache: {} });
    const issued = await tessera.create({ userId: 'u' });
    for (let i = 0; i < 10; i++)
      assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    assert.equal(state.lookups, 1);
    assert.equal(tessera.cacheActive(), true);
  });

  it('an invalidation from another node makes the next validation see the end', async () => {
    const { store, inner, publish } = instrumentedStore();
    const clock = manualClock();
    const node1 = createTessera({ store, clock, cache: {} });
    const issued = await node1.create({ userId: 'u' });
    assert.equal((await node1.validate(issued.accessToken)).ok, true);
    // Another node ends the session directly in the shared store and publishes the id.
    await inner.endSession(issued.session.id, 'logout', clock.now());
    assert.equal((await node1.validate(issued.accessToken)).ok, true, 'stale until the message');
    publish(issued.session.id);
    assert.equal((await node1.validate(issued.accessToken)).reason, 'ended');
  });

  it('a session ended on this node is refused at once, without waiting for the channel', async () => {
    const { store } = instrumentedStore();
    const tessera = createTessera({ store, clock: manualClock(), cache: {} });
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    await tessera.revoke(issued.refreshToken);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'ended');
  });

  it('is bypassed while the channel is down, and forgets everything across a reconnect', async () => {
    const { store, inner, state } = instrumentedStore();
    const clock = manualClock();
    const tessera = createTessera({ store, clock, cache: {} });
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    state.connected = false;
    const before = state.lookups;
    await tessera.validate(issued.accessToken);
    await tessera.validate(issued.accessToken);
    assert.equal(state.lookups, before + 2);
    assert.equal(tessera.cacheActive(), false);
    // An end whose message was lost while the channel was down...
    await inner.endSession(issued.session.id, 'logout', clock.now());
    state.connected = true;
    // ...cannot be hidden by an entry cached before the outage.
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'ended');
  });

  it('forgets everything when the channel reconnects, even with no lookup while it was down', async () => {
    const { store, inner, blip } = instrumentedStore();
    const clock = manualClock();
    const tessera = createTessera({ store, clock, cache: {} });
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    await inner.endSession(issued.session.id, 'logout', clock.now());
    blip();
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'ended');
  });

  it('introspection can ask the store even when the session is cached', async () => {
    const { store, inner } = instrumentedStore();
    const clock = manualClock();
    const tessera = createTessera({ store, clock, cache: {} });
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    await inner.endSession(issued.session.id, 'logout', clock.now());
    assert.equal((await tessera.validate(issued.accessToken)).ok, true, 'the cached answer');
    const fresh = await tessera.validate(issued.accessToken, { fresh: true });
    assert.equal(fresh.reason, 'ended');
  });

  // How another node's end reaches this one while this node's store read is in flight: a
  // message on the channel, or a reset the channel reports only when next asked (SQLite's
  // data_version). Either way the read that started before it must not be cached.
  const announcements: [string, (h: ReturnType<typeof instrumentedStore>, id: string) => void][] = [
    ['an invalidation', (h, id) => h.publish(id)],
    [
      'a reset the channel reports only when asked',
      (h) => {
        h.state.pendingReset = true;
      },
    ],
  ];
  for (const [what, announce] of announcements) {
    it(`does not cache a store read that raced with ${what}`, async () => {
      const instrumented = instrumentedStore();
      const { store, inner } = instrumented;
      const clock = manualClock();
      const { slow, resume } = pausing(store, inner);
      const tessera = createTessera({ store: slow, clock, cache: {} });
      const issued = await tessera.create({ userId: 'u' });
      const pending = tessera.validate(issued.accessToken);
      await new Promise((r) => setImmediate(r));
      // The read has returned the live record; now the session ends elsewhere and is announced.
      await inner.endSession(issued.session.id, 'logout', clock.now());
      announce(instrumented, issued.session.id);
      resume();
      assert.equal((await pending).ok, true);
      const next = tessera.validate(issued.accessToken);
      await new Promise((r) => setImmediate(r));
      resume();
      assert.equal((await next).reason, 'ended');
    });
  }

  it('an entry serves no longer than maxAgeMs', async () => {
    const { store, state } = instrumentedStore();
    const clock = manualClock();
    const tessera = createTessera({ store, clock, cache: { maxAgeMs: 1000 } });
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    clock.advance(999);
    await tessera.validate(issued.accessToken);
    assert.equal(state.lookups, 1);
    clock.advance(1);
    await tessera.validate(issued.accessToken);
    assert.equal(state.lookups, 2);
  });

  it('is off by default, off for stores without an invalidation channel, and when disabled', async () => {
    const bare = withoutChannel(createMemoryStore());
    assert.equal(createTessera({ store: bare, cache: {} }).cacheActive(), false);
    const { store } = instrumentedStore();
    assert.equal(createTessera({ store }).cacheActive(), false);
    assert.equal(createTessera({ store, cache: false }).cacheActive(), false);
    assert.equal(createTessera({ store, cache: {} }).cacheActive(), true);
  });
});
