import {
  createMemoryStore,
  createTessera,
  type ManualClock,
  manualClock,
  type SessionStore,
  type Tessera,
} from '@tessera/core';

export const CSRF_SECRET = 'test-csrf-secret-0123456789abcdef-0123456789';

/** A memory store that can be switched off, to prove fail-closed answers. */
export function switchableStore(): { store: SessionStore; down: { value: boolean } } {
  const inner = createMemoryStore();
  const down = { value: false };
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down.value) return Promise.reject(new Error('connection refused'));
        return value.apply(target, args);
      };
    },
  });
  return { store, down };
}

export interface EngineFixture {
  tessera: Tessera;
  clock: ManualClock;
  down: { value: boolean };
}

/** An engine over a switchable memory store, with a manual clock and short tiers. */
export function engineFixture(): EngineFixture {
  const clock = manualClock();
  const { store, down } = switchableStore();
  const tessera = createTessera({
    store,
    clock,
    refreshGraceSeconds: 30,
    policies: {
      web: { idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 3600, accessTokenTtlSeconds: 60 },
    },
    defaultPolicy: 'web',
  });
  return { tessera, clock, down };
}
