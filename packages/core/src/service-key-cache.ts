import type { SessionCache } from './session-cache.js';
import type { ServiceKeyRecord } from './types.js';

/** An entry serves this long at most, even while nothing says it changed. */
const MAX_AGE_MS = 1000;
const MAX_ENTRIES = 1024;

interface Entry {
  key: ServiceKeyRecord;
  clears: number;
  cachedAt: number;
}

/** Service keys by hash, as fresh as a store read. */
export interface ServiceKeyCache {
  get(hash: string, now: number): ServiceKeyRecord | undefined;
  /** Taken before the store read whose result `put` may keep. */
  mark(): number;
  put(hash: string, key: ServiceKeyRecord, mark: number, now: number): void;
  /** Forgets every key: called after this node revokes one. */
  clear(): void;
}

/**
 * Backend calls (introspection above all) authenticate their service key on every request, and
 * that store read was the largest single cost of `POST /v1/introspect`. The keys may be kept
 * only where the store tells of every write made elsewhere (SQLite's data_version: a key revoked
 * by `tessera keys revoke` in another process clears the session cache, and so this one, before
 * the next answer). Message-based channels publish session ends only, so there is no key cache
 * on them (null). This node's own revocations clear it directly.
 */
export function createServiceKeyCache(sessions: SessionCache | null): ServiceKeyCache | null {
  if (sessions === null || !sessions.everyWrite) return null;
  const byHash = new Map<string, Entry>();
  let revocations = 0;
  const mark = () => sessions.clears() + revocations;
  return {
    get(hash, now) {
      // active() asks the store whether anything changed, and clears if it did.
      if (!sessions.active()) return undefined;
      const entry = byHash.get(hash);
      if (entry === undefined) return undefined;
      if (entry.clears !== mark() || now - entry.cachedAt >= MAX_AGE_MS) {
        byHash.delete(hash);
        return undefined;
      }
      return entry.key;
    },
    mark,
    put(hash, key, taken, now) {
      if (!sessions.active() || taken !== mark()) return;
      if (byHash.size >= MAX_ENTRIES) byHash.clear();
      byHash.set(hash, { key, clears: taken, cachedAt: now });
    },
    clear() {
      revocations += 1;
      byHash.clear();
    },
  };
}
