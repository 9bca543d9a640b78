import type { Clock } from './clock.js';
import type {
  InvalidationChannel,
  InvalidationEvents,
  LeaseHolder,
  NodeInvalidation,
  SessionStore,
} from './store.js';

interface Subscriber {
  listener: (sessionId: string) => void;
  events: InvalidationEvents;
  open: boolean;
}

type LeaseVerbs = Required<
  Pick<
    SessionStore,
    | 'renewNodeLease'
    | 'releaseNodeLease'
    | 'deliverInvalidation'
    | 'ackInvalidations'
    | 'unackedNodes'
    | 'subscribeInvalidations'
  >
>;

/**
 * The memory store's invalidation channel and node leases: what Redis and PostgreSQL do with
 * keys or rows and pub/sub, in maps and callbacks. Messages are delivered on a later microtask,
 * never inside the call that sends them, as a real channel would.
 */
export function memoryNodeLeases(clock: Clock) {
  /** nodeId → lease expiry (on `clock`). */
  const leases = new Map<string, number>();
  /** nodeId → invalidation id → invalidation. */
  const pending = new Map<string, Map<string, NodeInvalidation>>();
  const subscribers = new Set<Subscriber>();

  function send(deliver: (subscriber: Subscriber) => void): void {
    const targets = [...subscribers];
    queueMicrotask(() => {
      for (const subscriber of targets) {
        if (!subscriber.open) continue;
        try {
          deliver(subscriber);
        } catch {
          // A listener must not throw; the others still hear the message.
        }
      }
    });
  }

  const live = (nodeId: string, now: number) => (leases.get(nodeId) ?? -Infinity) > now;

  const verbs: LeaseVerbs = {
    async renewNodeLease(nodeId, leaseMs) {
      const now = clock.now();
      const continued = live(nodeId, now);
      leases.set(nodeId, now + leaseMs);
      if (!continued) {
        pending.delete(nodeId);
        return { continued, pending: [] };
      }
      return { continued, pending: [...(pending.get(nodeId)?.values() ?? [])] };
    },

    async releaseNodeLease(nodeId) {
      leases.delete(nodeId);
      pending.delete(nodeId);
    },

    async deliverInvalidation(invalidation) {
      const now = clock.now();
      const holders: LeaseHolder[] = [];
      for (const [nodeId, expiresAt] of leases) {
        if (nodeId === invalidation.from || expiresAt <= now) continue;
        const inbox = pending.get(nodeId) ?? new Map<string, NodeInvalidation>();
        pending.set(nodeId, inbox);
        inbox.set(invalidation.id, structuredClone(invalidation));
        holders.push({ nodeId, remainingMs: expiresAt - now });
      }
      const copy = structuredClone(invalidation);
      send((s) => s.events.onInvalidation?.(copy));
      return holders;
    },

    async ackInvalidations(nodeId, invalidationIds) {
      const inbox = pending.get(nodeId);
      for (const id of invalidationIds) inbox?.delete(id);
      const ids = [...invalidationIds];
      send((s) => s.events.onAck?.(nodeId, ids));
    },

    async unackedNodes(invalidationId, nodeIds) {
      return nodeIds.filter((nodeId) => pending.get(nodeId)?.has(invalidationId) === true);
    },

    subscribeInvalidations(listener, events = {}): InvalidationChannel {
      const subscriber: Subscriber = { listener, events, open: true };
      subscribers.add(subscriber);
      queueMicrotask(() => {
        if (subscriber.open) events.onConnected?.();
      });
      return {
        connected: () => subscriber.open,
        async close() {
          subscriber.open = false;
          subscribers.delete(subscriber);
        },
      };
    },
  };

  return {
    verbs,
    /** A session ended or rotated: the plain message every store sends. */
    announce(sessionId: string): void {
      send((s) => s.listener(sessionId));
    },
    closeAll(): void {
      for (const subscriber of subscribers) subscriber.open = false;
      subscribers.clear();
    },
  };
}
