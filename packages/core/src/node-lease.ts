import { performance } from 'node:perf_hooks';
import type {
  InvalidationChannel,
  InvalidationEvents,
  LeaseHolder,
  NodeInvalidation,
  SessionStore,
} from './store.js';
import { generateId } from './token.js';

/*
 * Exact revocation with a node-local cache, on a store whose invalidations travel by message
 * (Redis pub/sub, PostgreSQL NOTIFY). A message can be late, lost with a dropped connection, or
 * never read by a node that is frozen (SIGSTOP, a long GC pause, a VM migration). So a message
 * alone can never tell the node that ended a session that no other node will accept it. The
 * protocol that can:
 *
 * 1. Every node that caches holds a short lease (default 1 s) in the store, on the store's clock,
 *    renewed every third of it. It answers from its cache only while its lease is valid by its
 *    own monotonic clock, counted from when it *sent* the renewal, so its view always ends
 *    before the store's. The monotonic clock keeps running while the process is stopped: a node
 *    that thaws sees at once that its lease lapsed, forgets its cache, and asks the store.
 * 2. After an end or rotation commits, the ending node delivers an invalidation: the store
 *    records it as pending for every other node with a live lease, in the same atomic step
 *    that reads how long each lease has left, and announces it. Each node drops the sessions,
 *    then acknowledges. The end returns once every such node acknowledged, or once its lease
 *    (as read at delivery) ran out: a frozen node delays an end by at most one lease, and
 *    never blocks it.
 * 3. A renewal returns the invalidations still pending for the node, and the node drops them
 *    before it counts the new lease. A node can therefore not extend its lease past the time
 *    the ender waits for without having dropped the session, even if every message was lost.
 *    A renewal after a lapse (the store says so, or the node's own clock did) clears the
 *    whole cache: enders may have stopped waiting for it.
 *
 * Hence the guarantee: an end is acknowledged only when no node can accept the session any
 * more. If the store cannot say which nodes hold leases, the ender waits out the longest lease.
 */

/** A little slack for clocks that run at slightly different rates (store vs. node). */
function safetyMs(leaseMs: number): number {
  return Math.max(2, leaseMs / 100);
}

/** Session ids per invalidation: a PostgreSQL NOTIFY payload holds at most 8000 bytes. */
const IDS_PER_INVALIDATION = 100;

export interface NodeLeaseOptions {
  /**
   * Hold a lease, because this node caches. A node that does not cache still waits for the
   * others after its own ends, but holds no lease and is never waited for.
   */
  hold: boolean;
  /** @default 1000 */
  leaseMs?: number;
  /** How often the lease is renewed. 0: only by `renew()` (tests). @default leaseMs / 3 */
  renewEveryMs?: number;
  /** Monotonic milliseconds. @default performance.now */
  monotonic?: () => number;
  /** Session ids from plain invalidation messages (the stores' own fast path). */
  onSessionIds?: (sessionIds: string[]) => void;
}

export interface NodeLeaseCacheHooks {
  /** Drop these sessions now (synchronously). */
  drop(sessionIds: readonly string[]): void;
  /** Forget everything now (synchronously). */
  clear(): void;
}

export interface NodeLease {
  readonly nodeId: string;
  readonly leaseMs: number;
  /** True while this node may answer from its cache: lease valid, channel up. */
  valid(): boolean;
  /** The cache this lease protects; its hooks are called on invalidations and lapses. */
  attach(hooks: NodeLeaseCacheHooks): void;
  /**
   * After these sessions ended or rotated in the store: resolves once every other node with
   * a live lease dropped them, or its lease ran out. Never rejects.
   */
  settle(sessionIds: readonly string[]): Promise<void>;
  /** Renews the lease now (also done by a timer). */
  renew(): Promise<void>;
  close(): Promise<void>;
}

type LeaseStore = SessionStore &
  Required<
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

/** True when the store implements node leases (every bundled store but SQLite, which needs none). */
export function supportsNodeLeases(store: SessionStore): store is LeaseStore {
  return (
    typeof store.renewNodeLease === 'function' &&
    typeof store.releaseNodeLease === 'function' &&
    typeof store.deliverInvalidation === 'function' &&
    typeof store.ackInvalidations === 'function' &&
    typeof store.unackedNodes === 'function' &&
    typeof store.subscribeInvalidations === 'function'
  );
}

interface Waiter {
  acked: Set<string>;
  wake: () => void;
}

/**
 * The node side and the ender side of the lease protocol described above.
 *
 * @example
 * const lease = createNodeLease(store, { hold: true });
 * lease.attach({ drop: (ids) => …, clear: () => … });
 * await lease.settle([sessionId]); // after store.endSession(sessionId, …)
 */
export function createNodeLease(store: LeaseStore, options: NodeLeaseOptions): NodeLease {
  const { hold, leaseMs = 1000, monotonic = () => performance.now(), onSessionIds } = options;
  const renewEveryMs = options.renewEveryMs ?? Math.round(leaseMs / 3);
  const nodeId = generateId();
  const safety = safetyMs(leaseMs);
  let hooks: NodeLeaseCacheHooks = { drop() {}, clear() {} };
  /** Monotonic instant until which the lease is valid in this node's (conservative) view. */
  let validUntil = Number.NEGATIVE_INFINITY;
  let lapseNoticed = true;
  /** Bumped when the channel (re)connects: a renewal sent before that does not count. */
  let epoch = 0;
  let renewing: Promise<void> | null = null;
  let closed = false;
  let channel: InvalidationChannel | null = null;
  let timer: NodeJS.Timeout | undefined;
  const waiters = new Map<string, Waiter>();
  let acksToSend: string[] = [];

  function flushAcks(): void {
    const ids = acksToSend;
    acksToSend = [];
    // A lost ack only makes the ender wait for the next renewal (which returns the invalidation
    // as pending again) or for this lease to run out; it never makes anything accepted.
    store.ackInvalidations(nodeId, ids).catch(() => {});
  }

  function ack(ids: readonly string[]): void {
    if (ids.length === 0) return;
    if (acksToSend.length === 0) queueMicrotask(flushAcks);
    acksToSend.push(...ids);
  }

  /** Ids of invalidations heard lately: a store may deliver a message more than once. */
  const heard = new Set<string>();
  function firstHearing(id: string): boolean {
    if (heard.has(id)) return false;
    heard.add(id);
    if (heard.size > 10_000) {
      // Sets iterate in insertion order: the first is the oldest.
      const oldest = heard.values().next().value;
      if (oldest !== undefined) heard.delete(oldest);
    }
    return true;
  }

  function subscribe(): InvalidationChannel {
    channel ??= store.subscribeInvalidations(
      (sessionId) => {
        hooks.drop([sessionId]);
        onSessionIds?.([sessionId]);
      },
      {
        onConnected() {
          // Messages may have been lost while the channel was down: forget everything. The
          // store may have lost the lease too (a Redis restart without persistence, PostgreSQL
          // crash recovery, a failover): serve nothing from the cache until a renewal sent from
          // now on says where the lease stands. Renewing at once also acknowledges now what
          // was delivered meanwhile, rather than at the next timer.
          epoch += 1;
          validUntil = Number.NEGATIVE_INFINITY;
          lapseNoticed = true;
          hooks.clear();
          if (hold) {
            // A renewal already in flight was sent before the reconnect: another one follows.
            const inFlight = renewing;
            if (inFlight) void inFlight.finally(() => lease.renew());
            else void lease.renew();
          }
        },
        onInvalidation(invalidation) {
          if (invalidation.from === nodeId || !firstHearing(invalidation.id)) return;
          hooks.drop(invalidation.sessionIds);
          // Only a lease holder is waited for; acknowledged after the drop above.
          if (hold) ack([invalidation.id]);
        },
        onAck(from, ids) {
          for (const id of ids) {
            const waiter = waiters.get(id);
            if (!waiter) continue;
            waiter.acked.add(from);
            waiter.wake();
          }
        },
      },
    );
    return channel;
  }

  async function renewOnce(): Promise<void> {
    const sentAt = monotonic();
    const sentInEpoch = epoch;
    try {
      const renewal = await store.renewNodeLease(nodeId, leaseMs);
      if (closed || sentInEpoch !== epoch) return;
      // Enders may have stopped waiting for this node (its lease lapsed in the store, or by
      // its own clock, for example while it was frozen): what it cached may be stale.
      if (!renewal.continued || lapseNoticed || monotonic() >= validUntil) hooks.clear();
      const pendingIds = renewal.pending.flatMap((p) => p.sessionIds);
      if (pendingIds.length > 0) hooks.drop(pendingIds);
      // Only now, with everything pending dropped, does the new lease count.
      validUntil = sentAt + leaseMs - safety;
      lapseNoticed = false;
      ack(renewal.pending.map((p) => p.id));
    } catch {
      // Not renewed: the lease runs out by itself, and the cache stops answering then.
    }
  }

  /** Waits for one invalidation's acknowledgements; see the protocol above. */
  async function settleOne(sessionIds: string[]): Promise<void> {
    const invalidation: NodeInvalidation = { id: generateId(), from: nodeId, sessionIds };
    const waiter: Waiter = { acked: new Set(), wake() {} };
    // Registered before the delivery: an ack may arrive before the delivery's answer does.
    waiters.set(invalidation.id, waiter);
    try {
      let holders: LeaseHolder[];
      try {
        holders = await store.deliverInvalidation(invalidation);
      } catch {
        // The store cannot tell who holds a lease: no lease outlives leaseMs from now.
        await new Promise((resolve) => setTimeout(resolve, leaseMs + safety));
        return;
      }
      // Counted from the answer's arrival, which is after the store read the time left.
      const answeredAt = monotonic();
      const deadlines = new Map<string, number>();
      for (const holder of holders) {
        if (holder.nodeId === nodeId || waiter.acked.has(holder.nodeId)) continue;
        deadlines.set(holder.nodeId, answeredAt + holder.remainingMs + safety);
      }
      while (deadlines.size > 0) {
        const now = monotonic();
        for (const [id, deadline] of deadlines) {
          if (waiter.acked.has(id) || now >= deadline) deadlines.delete(id);
        }
        if (deadlines.size === 0) return;
        const next = Math.min(...deadlines.values()) - now;
        // Acks come as messages; the store is asked too, in case one was lost on the way
        // (often while this node's channel is not up, rarely otherwise).
        const pollMs = channel?.connected() ? 50 : 5;
        const polled = await new Promise<boolean>((resolve) => {
          const wait = setTimeout(
            () => resolve(next > pollMs),
            Math.max(0, Math.min(next, pollMs)),
          );
          waiter.wake = () => {
            clearTimeout(wait);
            resolve(false);
          };
        });
        if (polled) {
          const still = await store
            .unackedNodes(invalidation.id, [...deadlines.keys()])
            .catch(() => null);
          // Gone from a node's pending ones: it acknowledged, or its lease lapsed and it will
          // forget everything before it answers from its cache again.
          if (still)
            for (const id of [...deadlines.keys()]) if (!still.includes(id)) waiter.acked.add(id);
        }
      }
    } finally {
      waiters.delete(invalidation.id);
    }
  }

  const lease: NodeLease = {
    nodeId,
    leaseMs,
    valid() {
      if (!hold || closed || !channel?.connected()) return false;
      if (monotonic() < validUntil) return true;
      if (!lapseNoticed) {
        // Forget now, not at the next renewal: nothing cached before the lapse may serve.
        lapseNoticed = true;
        hooks.clear();
      }
      return false;
    },
    attach(next) {
      hooks = next;
    },
    async settle(sessionIds) {
      if (sessionIds.length === 0 || closed) return;
      subscribe();
      const chunks: string[][] = [];
      for (let i = 0; i < sessionIds.length; i += IDS_PER_INVALIDATION) {
        chunks.push(sessionIds.slice(i, i + IDS_PER_INVALIDATION));
      }
      await Promise.all(chunks.map(settleOne));
    },
    renew() {
      if (!hold || closed) return Promise.resolve();
      renewing ??= renewOnce().finally(() => {
        renewing = null;
      });
      return renewing;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const waiter of waiters.values()) waiter.wake();
      await renewing;
      if (hold) await store.releaseNodeLease(nodeId).catch(() => {});
      await channel?.close();
    },
  };

  if (hold) {
    subscribe();
    void lease.renew();
    if (renewEveryMs > 0) {
      timer = setInterval(() => void lease.renew(), renewEveryMs);
      timer.unref();
    }
  }
  return lease;
}

/**
 * The text form of the protocol's messages, for stores that send them on the same channel as
 * plain session ids (which are base62 and never start with `~`).
 */
export function encodeInvalidationMessage(invalidation: NodeInvalidation): string {
  return `~i ${invalidation.id} ${invalidation.from} ${invalidation.sessionIds.join(',')}`;
}

export function encodeAckMessage(nodeId: string, invalidationIds: readonly string[]): string {
  return `~a ${nodeId} ${invalidationIds.join(',')}`;
}

export type DecodedMessage =
  | { kind: 'session'; sessionId: string }
  | { kind: 'invalidation'; invalidation: NodeInvalidation }
  | { kind: 'ack'; nodeId: string; invalidationIds: string[] }
  | { kind: 'unknown' };

/** Reads a message of the invalidation channel (see `encodeInvalidationMessage`). */
export function decodeInvalidationMessage(message: string): DecodedMessage {
  if (!message.startsWith('~')) return { kind: 'session', sessionId: message };
  const [tag, a = '', b = '', c = ''] = message.split(' ');
  if (tag === '~i' && a && b) {
    return {
      kind: 'invalidation',
      invalidation: { id: a, from: b, sessionIds: c === '' ? [] : c.split(',') },
    };
  }
  if (tag === '~a' && a) return { kind: 'ack', nodeId: a, invalidationIds: b ? b.split(',') : [] };
  return { kind: 'unknown' };
}

/**
 * Hands one message of a store's invalidation channel to the right callback: a plain session
 * id to `listener`, the protocol's messages to `events`. Unknown messages are ignored (a newer
 * node may send kinds this one does not know).
 */
export function dispatchInvalidationMessage(
  message: string,
  listener: (sessionId: string) => void,
  events: InvalidationEvents,
): void {
  const decoded = decodeInvalidationMessage(message);
  if (decoded.kind === 'session') listener(decoded.sessionId);
  else if (decoded.kind === 'invalidation') events.onInvalidation?.(decoded.invalidation);
  else if (decoded.kind === 'ack') events.onAck?.(decoded.nodeId, decoded.invalidationIds);
}
