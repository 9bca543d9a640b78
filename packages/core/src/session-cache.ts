import type { NodeLease } from './node-lease.js';
import type { InvalidationChannel, SessionStore } from './store.js';
import type { SessionRecord } from './types.js';

/** Options of the node-local cache of validated sessions. */
export interface SessionCacheOptions {
  /** @default 100_000 */
  maxEntries?: number;
  /**
   * Longest time an entry serves without a store read, even while the invalidation channel
   * reports itself connected: a bound on staleness should the channel fail silently.
   * @default 1000
   */
  maxAgeMs?: number;
  /**
   * The node lease (stores with node leases: Redis, PostgreSQL, memory): how long a node may
   * answer from its cache without hearing from the store, hence the longest a frozen or cut-off
   * node can delay another node's end. Renewed every third of it.
   * @default 1000
   */
  leaseMs?: number;
}

export interface SessionCache {
  /** A cached live session for this access-token hash, or undefined (miss, stale, or bypassed). */
  get(accessTokenHash: string, now: number): SessionRecord | undefined;
  /** A token for `put`: taken before the store read whose result will be cached. */
  mark(): number;
  /** Caches a session read from the store, unless an invalidation arrived since `mark`. */
  put(accessTokenHash: string, session: SessionRecord, mark: number, now: number): void;
  /** Drops what is cached for this session. */
  drop(sessionId: string): void;
  /** True while the invalidation channel is up; the cache serves nothing otherwise. */
  active(): boolean;
  /** The channel's `exact` flag: cached answers are as fresh as store reads. */
  readonly exact: boolean;
  /** The channel's `everyWrite` flag: `clears()` moves on any write made elsewhere. */
  readonly everyWrite: boolean;
  /** How many times the whole cache was cleared (channel down, up, or a write elsewhere). */
  clears(): number;
  close(): Promise<void>;
}

interface Entry {
  session: SessionRecord;
  cachedAt: number;
}

/**
 * A cache of validated sessions that is only as fresh as the store lets it be (DESIGN.md §6).
 * With a node lease (`node-lease.ts`), it answers only while the lease is valid and the
 * channel is up, and every end or rotation anywhere waits until this node dropped the session:
 * exact. On a store whose channel is itself exact (SQLite's data_version) it needs no lease.
 * Otherwise (a third-party store with only a message channel) it is as fresh as the channel's
 * delivery. Null when the store has no channel at all.
 *
 * @example
 * const cache = createSessionCache(store, { maxAgeMs: 1000 });
 */
export function createSessionCache(
  store: SessionStore,
  options: SessionCacheOptions = {},
  lease: NodeLease | null = null,
): SessionCache | null {
  const { maxEntries = 100_000, maxAgeMs = 1000 } = options;
  if (!lease && !store.subscribeInvalidations) return null;
  const byHash = new Map<string, Entry>();
  const hashBySession = new Map<string, string>();
  // Bumped by every invalidation. A store read that started before an invalidation may have
  // returned the pre-invalidation state; caching it would resurrect a revoked session.
  let invalidations = 0;
  let clears = 0;
  let wasConnected = false;

  function drop(sessionId: string): void {
    invalidations += 1;
    const hash = hashBySession.get(sessionId);
    if (hash === undefined) return;
    hashBySession.delete(sessionId);
    byHash.delete(hash);
  }

  function clear(): void {
    invalidations += 1;
    clears += 1;
    byHash.clear();
    hashBySession.clear();
  }

  // With a lease, the lease owns the channel and tells this cache what to drop and when to
  // forget everything. Without one, a reconnect means messages may have been lost in between,
  // even if no lookup happened while the channel was down: start from nothing.
  lease?.attach({
    drop: (ids) => {
      for (const id of ids) drop(id);
    },
    clear,
  });
  const channel: InvalidationChannel | null = lease
    ? null
    : (store.subscribeInvalidations?.(drop, { onConnected: clear }) ?? null);
  const connectedNow = lease ? () => lease.valid() : () => channel?.connected() === true;

  function active(): boolean {
    const connected = connectedNow();
    // Messages may have been lost while the channel was down: forget everything on the way
    // down and on the way back up.
    if (connected !== wasConnected) {
      wasConnected = connected;
      clear();
    }
    return connected;
  }

  return {
    get(accessTokenHash, now) {
      if (!active()) return undefined;
      const entry = byHash.get(accessTokenHash);
      if (!entry) return undefined;
      if (now - entry.cachedAt >= maxAgeMs) {
        drop(entry.session.id);
        return undefined;
      }
      return entry.session;
    },
    mark: () => invalidations,
    put(accessTokenHash, session, mark, now) {
      // active() first: it may clear the cache (a reconnect), and that must count against a
      // read that started before it.
      if (!active() || mark !== invalidations || session.endedAt !== null) return;
      if (byHash.size >= maxEntries) {
        // Maps iterate in insertion order: the first key is the oldest entry.
        const oldest = byHash.keys().next().value;
        if (oldest !== undefined) {
          const entry = byHash.get(oldest);
          byHash.delete(oldest);
          if (entry) hashBySession.delete(entry.session.id);
        }
      }
      const previous = hashBySession.get(session.id);
      if (previous !== undefined) byHash.delete(previous);
      byHash.set(accessTokenHash, { session, cachedAt: now });
      hashBySession.set(session.id, accessTokenHash);
    },
    drop,
    active,
    // Exact with a lease: an end returns only after this node dropped the session.
    exact: lease !== null || channel?.exact === true,
    everyWrite: channel?.everyWrite === true,
    clears: () => clears,
    close: async () => {
      await channel?.close();
    },
  };
}
