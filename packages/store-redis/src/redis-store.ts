import {
  dispatchInvalidationMessage,
  type EndReason,
  type EventPage,
  type EventQuery,
  hashesEqual,
  type InvalidationEvents,
  matchesEventQuery,
  type SessionEvent,
  type SessionRecord,
  type SessionStore,
  TesseraError,
} from '@tessera/core';
import { REMEMBER_DPOP_JTI } from './dpop-jti.js';
import {
  compareStreamIds,
  eventFromFields,
  isStreamId,
  nextStreamId,
  toStreamEntries,
} from './event-codec.js';
import { openInvalidationChannel, type RedisInvalidationChannel } from './invalidation-channel.js';
import { keyLayout } from './key-layout.js';
import { redisNodeLeaseVerbs } from './node-leases.js';
import { redisOperatorVerbs } from './operators.js';
import {
  serviceKeyFromFields,
  serviceKeyToFields,
  sessionFromFields,
  sessionToFields,
  toFieldMap,
} from './record-codec.js';
import { type RedisClient, redisLink } from './redis-link.js';
import {
  CREATE_SERVICE_KEY,
  CREATE_SESSION,
  END_SESSION,
  PURGE_SESSION,
  REVOKE_SERVICE_KEY,
  ROTATE_SESSION,
  TOUCH_SESSION,
  USER_ADD,
} from './scripts.js';
import { appendEventWithOutbox, redisWebhookVerbs } from './webhook-outbox.js';

export interface RedisStoreOptions {
  /**
   * A node-redis client the application created and connected: `createClient()` (Redis 7 or
   * Valkey) or `createCluster()` (Redis Cluster). `connectRedis()` makes one with the settings
   * that fail closed. The store never closes it.
   */
  client: RedisClient;
  /** Prepended to every key and to the pub/sub channel. No braces. @default 'tessera:' */
  prefix?: string;
  /** Approximate cap on the store's event stream (`XADD … MAXLEN ~`). @default 1_000_000 */
  eventStreamMaxLength?: number;
  /** Approximate cap on each user's event index: per-user queries see this many. @default 1_000 */
  userEventStreamMaxLength?: number;
  /** A user's event index expires this long after the user's last event. @default 7_776_000 (90 days) */
  userEventStreamTtlSeconds?: number;
  /**
   * How long an ended or expired session stays readable (so a late token reads "ended", not
   * "unknown"), and the margin every session key gets past its deadline. Matches the engine's
   * purge horizon. @default 3600
   */
  keepEndedSeconds?: number;
  /**
   * Each command rejects (`store_unavailable`) after this long, so a silent network partition
   * fails closed instead of hanging a request. 0 turns the timer off. @default 2000
   */
  commandTimeoutMs?: number;
  /** A filtered event query reads at most this many stream entries per call. @default 50_000 */
  eventQueryScanLimit?: number;
  /**
   * `purge()` walks the keyspace with SCAN, at most this many keys per master per call, and the
   * next call goes on where this one stopped: each call costs a bounded amount, and successive
   * calls cover every key. (TTLs already delete what purge would; see the README.)
   * @default 200_000
   */
  purgeScanKeysPerCall?: number;
}

/** Stream entries read per XRANGE while scanning. */
const SCAN_CHUNK = 500;

/**
 * A `SessionStore` on Redis 7, Valkey or Redis Cluster through the official node-redis client.
 * Every key of one session shares the hash tag `{<sessionId>}`; rotation, touch and end are Lua
 * scripts on that one slot; every key carries a TTL that ends at most `keepEndedSeconds` after
 * the session's absolute deadline. See the package README for the key layout.
 *
 * @example
 * const client = await connectRedis('redis://127.0.0.1:6379');
 * const tessera = createTessera({ store: createRedisStore({ client }) });
 */
export function createRedisStore(options: RedisStoreOptions) {
  const {
    client,
    prefix = 'tessera:',
    eventStreamMaxLength = 1_000_000,
    userEventStreamMaxLength = 1_000,
    userEventStreamTtlSeconds = 90 * 86_400,
    keepEndedSeconds = 3600,
    commandTimeoutMs = 2000,
    eventQueryScanLimit = 50_000,
    purgeScanKeysPerCall = 200_000,
  } = options;
  const keys = keyLayout(prefix);
  const link = redisLink(client, commandTimeoutMs);
  const keepMs = keepEndedSeconds * 1000;
  const channels = new Set<RedisInvalidationChannel>();
  /** Where the purge sweep of each master stopped ('0': start over). */
  const purgeCursors = new Map<string, string>();

  /** Cleanup whose failure changes no answer (an orphan index key expires with its TTL). */
  function bestEffort(work: Promise<unknown>): void {
    work.catch(() => {});
  }

  async function getSession(id: string): Promise<SessionRecord | null> {
    const key = keys.session(id);
    return sessionFromFields(id, toFieldMap(await link.send(key, ['HGETALL', key])));
  }

  async function endSession(id: string, reason: EndReason, at: number) {
    const reply = await link.run(
      END_SESSION,
      [keys.session(id)],
      [reason, String(at), String(keepMs), keys.invalidations, id],
    );
    return reply ? sessionFromFields(id, toFieldMap(reply)) : null;
  }

  async function getSessions(ids: readonly string[]) {
    return Promise.all(ids.map(async (id) => ({ id, session: await getSession(id) })));
  }

  /** Index keys live until the absolute deadline + keep, measured from the operation's instant. */
  function indexTtlMs(absoluteExpiresAt: number, now: number): string {
    return String(Math.max(1, Math.floor(absoluteExpiresAt + keepMs - now)));
  }

  /** SET NX for fresh token-hash index entries; a taken hash is a conflict, never overwritten. */
  async function claimIndexes(entries: Array<[key: string, value: string]>, ttlMs: string) {
    const replies = await Promise.all(
      entries.map(([key, value]) => link.send(key, ['SET', key, value, 'PX', ttlMs, 'NX'])),
    );
    const claimed = entries.filter((_, i) => replies[i] !== null).map(([key]) => key);
    if (claimed.length !== entries.length) {
      bestEffort(Promise.all(claimed.map((key) => link.send(key, ['DEL', key]))));
      throw new TesseraError('store_conflict', 'a token hash is already indexed');
    }
    return claimed;
  }

  async function userSessionIds(userId: string): Promise<string[]> {
    const key = keys.user(userId);
    const reply = await link.send(key, ['ZRANGE', key, '0', '-1']);
    return Array.isArray(reply) ? reply.map(String) : [];
  }

  /** Drops index members whose session is gone (expired by TTL, purged) or ended. */
  function pruneUser(userId: string, ids: string[]): void {
    if (ids.length === 0) return;
    const key = keys.user(userId);
    bestEffort(link.send(key, ['ZREM', key, ...ids]));
  }

  async function readEvents(ids: readonly string[]): Promise<SessionEvent[]> {
    const replies = await Promise.all(
      ids.map((id) => link.send(keys.events, ['XRANGE', keys.events, id, id])),
    );
    return replies.flatMap((reply) =>
      toStreamEntries(reply).map(([id, raw]) => eventFromFields(id, toFieldMap(raw))),
    );
  }

  function page(matches: SessionEvent[], limit: number, scanCursor: string | null): EventPage {
    if (matches.length > limit) {
      const events = matches.slice(0, limit);
      return { events, nextCursor: events[events.length - 1]?.id ?? null };
    }
    return { events: matches, nextCursor: scanCursor };
  }

  /** Per-user queries: the user's pointer stream, then the events it points to, in id order. */
  async function queryUserEvents(query: EventQuery & { userId: string }, limit: number) {
    const key = keys.userEvents(query.userId);
    const pointers = toStreamEntries(await link.send(key, ['XRANGE', key, '-', '+']));
    const after = query.after;
    const ids = [...new Set(pointers.map(([, raw]) => toFieldMap(raw)['g'] ?? ''))]
      .filter((id) => isStreamId(id) && (after === undefined || compareStreamIds(id, after) > 0))
      // Two nodes appending for one user at the same instant may write pointers out of order.
      .sort(compareStreamIds);
    const matches: SessionEvent[] = [];
    for (let i = 0; i < ids.length && matches.length <= limit; i += limit + 1) {
      // A pointer whose event was trimmed or purged from the global stream reads as nothing.
      for (const event of await readEvents(ids.slice(i, i + limit + 1))) {
        if (event.userId === query.userId && matchesEventQuery(event, query)) matches.push(event);
      }
    }
    return page(matches, limit, null);
  }

  /** The next `SCAN_CHUNK` entries of the global event stream from `start` (an XRANGE bound). */
  async function eventsFrom(start: string) {
    return toStreamEntries(
      await link.send(keys.events, [
        'XRANGE',
        keys.events,
        start,
        '+',
        'COUNT',
        String(SCAN_CHUNK),
      ]),
    );
  }

  /**
   * Other queries scan the global stream from the cursor, in chunks, and stop after
   * `eventQueryScanLimit` entries: then the page may be short and its cursor continues the scan.
   */
  async function queryAllEvents(query: EventQuery, limit: number) {
    let start = query.after === undefined ? '-' : `(${query.after}`;
    const matches: SessionEvent[] = [];
    let scanned = 0;
    for (;;) {
      const chunk = await eventsFrom(start);
      for (const [id, raw] of chunk) {
        const event = eventFromFields(id, toFieldMap(raw));
        if (matchesEventQuery(event, query)) matches.push(event);
        if (matches.length > limit) return page(matches, limit, null);
      }
      scanned += chunk.length;
      const last = chunk[chunk.length - 1];
      if (chunk.length < SCAN_CHUNK || !last) return page(matches, limit, null);
      if (scanned >= eventQueryScanLimit) return page(matches, limit, last[0]);
      start = `(${last[0]}`;
    }
  }

  async function purgeSessions(before: number): Promise<number> {
    const counts = await link.eachMaster(async (send, address) => {
      let removed = 0;
      let scanned = 0;
      let cursor = purgeCursors.get(address) ?? '0';
      do {
        const reply = (await send([
          'SCAN',
          cursor,
          'MATCH',
          keys.sessionPattern,
          'COUNT',
          '1000',
          'TYPE',
          'hash',
        ])) as [string, string[]];
        cursor = String(reply[0]);
        const results = await Promise.all(
          reply[1].map(async (key) => {
            const gone = await link.run(PURGE_SESSION, [key], [String(before)]);
            if (!Array.isArray(gone)) return 0;
            const [userId, accessHash, refreshHash] = gone.map(String);
            const id = key.slice(key.indexOf('{') + 1, -1);
            // The current token hashes go now; rotated refresh hashes point to nothing and
            // expire with their TTL.
            await Promise.all([
              link.send(keys.accessIndex(accessHash ?? ''), [
                'DEL',
                keys.accessIndex(accessHash ?? ''),
              ]),
              link.send(keys.refreshIndex(refreshHash ?? ''), [
                'DEL',
                keys.refreshIndex(refreshHash ?? ''),
              ]),
              link.send(keys.user(userId ?? ''), ['ZREM', keys.user(userId ?? ''), id]),
            ]);
            return 1;
          }),
        );
        removed += results.reduce<number>((a, b) => a + b, 0);
        // SCAN COUNT is a hint of work per call, so this bounds the keys visited, not the hits.
        scanned += 1000;
      } while (cursor !== '0' && scanned < purgeScanKeysPerCall);
      purgeCursors.set(address, cursor);
      return removed;
    });
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Trims the global stream up to the first event recorded at or after `before`. Events are
   * appended in time order, so this removes exactly the old ones; an out-of-order straggler
   * (a node with a skewed clock) goes on a later purge or with MAXLEN.
   */
  async function purgeEvents(before: number): Promise<number> {
    let start = '-';
    let lastOld: string | null = null;
    for (;;) {
      const chunk = await eventsFrom(start);
      const keepFrom = chunk.find(([, raw]) => Number(toFieldMap(raw)['at']) >= before);
      if (keepFrom) {
        return Number(await link.send(keys.events, ['XTRIM', keys.events, 'MINID', keepFrom[0]]));
      }
      const last = chunk[chunk.length - 1];
      if (last) lastOld = last[0];
      if (chunk.length < SCAN_CHUNK || !last) break;
      start = `(${last[0]}`;
    }
    if (lastOld === null) return 0;
    const minId = nextStreamId(lastOld);
    return Number(await link.send(keys.events, ['XTRIM', keys.events, 'MINID', minId]));
  }

  const store = {
    async createSession(session) {
      const now = session.createdAt;
      const ttl = indexTtlMs(session.absoluteExpiresAt, now);
      // Index entries first, session last: a crash in between leaves index entries that point
      // to nothing (harmless, they expire), never a session that a lookup or end-all misses.
      const claimed = await claimIndexes(
        [
          [keys.accessIndex(session.accessTokenHash), session.id],
          [keys.refreshIndex(session.refreshTokenHash), `${session.id}|${session.generation}`],
        ],
        ttl,
      );
      const userKey = keys.user(session.userId);
      await link.run(USER_ADD, [userKey], [String(session.createdAt), session.id, ttl]);
      const created = await link.run(
        CREATE_SESSION,
        [keys.session(session.id)],
        [
          String(now),
          String(keepMs),
          String(
            Math.min(session.endedAt ?? Infinity, session.idleExpiresAt, session.absoluteExpiresAt),
          ),
          ...sessionToFields(session),
        ],
      );
      if (Number(created) !== 1) {
        bestEffort(Promise.all(claimed.map((key) => link.send(key, ['DEL', key]))));
        throw new TesseraError('store_conflict', `session ${session.id} already exists`);
      }
    },

    getSession,

    async findByAccessTokenHash(hash) {
      const indexKey = keys.accessIndex(hash);
      const id = await link.send(indexKey, ['GET', indexKey]);
      if (typeof id !== 'string') return null;
      const session = await getSession(id);
      // Only the *current* access token finds its session: an entry left by a rotation (or by
      // one that lost its compare-and-swap) points to a session that no longer lists it.
      return session && hashesEqual(hash, session.accessTokenHash) ? session : null;
    },

    async findByRefreshTokenHash(hash) {
      const indexKey = keys.refreshIndex(hash);
      const entry = await link.send(indexKey, ['GET', indexKey]);
      if (typeof entry !== 'string') return null;
      const bar = entry.lastIndexOf('|');
      if (bar < 0) return null;
      const id = entry.slice(0, bar);
      const generation = Number(entry.slice(bar + 1));
      const session = await getSession(id);
      if (!session) return null;
      // Entries are written before the rotation they belong to. One from a rotation that lost
      // its compare-and-swap names a generation the session never issued with this hash: a
      // later generation, or the current one with another hash. Older generations are rotated
      // tokens, findable on purpose (the engine tells grace replay from reuse).
      if (generation > session.generation) return null;
      if (generation === session.generation && !hashesEqual(hash, session.refreshTokenHash)) {
        return null;
      }
      return { session, generation };
    },

    async rotateSession(id, expectedGeneration, patch) {
      const sessionKey = keys.session(id);
      const [absolute, generation, endedAt] = (await link.send(sessionKey, [
        'HMGET',
        sessionKey,
        'ae',
        'g',
        'ea',
      ])) as Array<string | null>;
      if (absolute == null || endedAt != null || generation !== String(expectedGeneration)) {
        return false;
      }
      // The new hashes are indexed before the swap, so the tokens are findable the moment the
      // swap makes them current (a client may use them right away, on another node).
      const claimed = await claimIndexes(
        [
          [keys.accessIndex(patch.accessTokenHash), id],
          [keys.refreshIndex(patch.refreshTokenHash), `${id}|${patch.generation}`],
        ],
        indexTtlMs(Number(absolute), patch.rotatedAt),
      );
      const fields = [
        'g',
        String(patch.generation),
        'ah',
        patch.accessTokenHash,
        'ax',
        String(patch.accessExpiresAt),
        'rh',
        patch.refreshTokenHash,
        'ra',
        String(patch.rotatedAt),
        'la',
        String(patch.lastActiveAt),
        'ie',
        String(patch.idleExpiresAt),
      ];
      if (patch.authenticatedAt !== undefined) fields.push('aa', String(patch.authenticatedAt));
      if (patch.authMethods !== undefined) fields.push('am', JSON.stringify(patch.authMethods));
      const previousAccessHash = await link.run(
        ROTATE_SESSION,
        [sessionKey],
        [
          String(expectedGeneration),
          String(patch.rotatedAt),
          String(keepMs),
          keys.invalidations,
          id,
          patch.successorSealed ?? '',
          ...fields,
        ],
      );
      if (typeof previousAccessHash !== 'string') {
        // Lost the race: these hashes were never issued, so their entries go.
        bestEffort(Promise.all(claimed.map((key) => link.send(key, ['DEL', key]))));
        return false;
      }
      const stale = keys.accessIndex(previousAccessHash);
      bestEffort(link.send(stale, ['DEL', stale]));
      return true;
    },

    async touchSession(id, lastActiveAt, idleExpiresAt) {
      await link.run(
        TOUCH_SESSION,
        [keys.session(id)],
        [String(lastActiveAt), String(idleExpiresAt), String(keepMs)],
      );
    },

    endSession,

    /**
     * Not one transaction: the user's sessions live in many slots. Each end is its own atomic,
     * durable, idempotent script, and the call resolves only after all of them, so when it
     * returns every selected session is ended; if it fails midway, the ones already ended stay
     * ended and a retry ends the rest. A session created concurrently with the call may survive
     * it, as with a SQL statement that ran before that session's insert committed.
     */
    async endSessionsForUser(userId, reason, at, selector = {}) {
      const found = await getSessions(await userSessionIds(userId));
      pruneUser(
        userId,
        found.filter(({ session }) => !session || session.endedAt !== null).map(({ id }) => id),
      );
      const chosen = found.filter(
        ({ session }) =>
          session !== null &&
          session.userId === userId &&
          session.endedAt === null &&
          session.id !== selector.exceptSessionId &&
          (selector.deviceId === undefined || session.device.id === selector.deviceId),
      );
      const ended = await Promise.all(chosen.map(({ id }) => endSession(id, reason, at)));
      pruneUser(
        userId,
        chosen.map(({ id }) => id),
      );
      return ended.filter((s): s is SessionRecord => s !== null);
    },

    async listSessionsForUser(userId, now) {
      const found = await getSessions(await userSessionIds(userId));
      pruneUser(
        userId,
        found.filter(({ session }) => !session || session.endedAt !== null).map(({ id }) => id),
      );
      return found
        .map(({ session }) => session)
        .filter(
          (s): s is SessionRecord =>
            s !== null &&
            s.userId === userId &&
            s.endedAt === null &&
            now < s.idleExpiresAt &&
            now < s.absoluteExpiresAt,
        )
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    },

    async appendEvent(event) {
      // The event and its webhook deliveries in one script (the outbox; webhook-outbox.ts).
      const id = await appendEventWithOutbox(
        link,
        prefix,
        keys.events,
        eventStreamMaxLength,
        event,
      );
      const userKey = keys.userEvents(event.userId);
      await Promise.all([
        link.send(userKey, [
          'XADD',
          userKey,
          'MAXLEN',
          '~',
          String(userEventStreamMaxLength),
          '*',
          'g',
          id,
        ]),
        link.send(userKey, ['PEXPIRE', userKey, String(userEventStreamTtlSeconds * 1000)]),
      ]);
      return { ...event, id };
    },

    async queryEvents(query) {
      const limit = query.limit ?? 100;
      if (query.after !== undefined && !isStreamId(query.after)) {
        throw new TesseraError('invalid_argument', `"${query.after}" is not an event cursor`);
      }
      if (query.userId !== undefined) {
        return queryUserEvents({ ...query, userId: query.userId }, limit);
      }
      return queryAllEvents(query, limit);
    },

    async purge(sessionsBefore, eventsBefore) {
      return {
        sessions: await purgeSessions(sessionsBefore),
        events: await purgeEvents(eventsBefore),
      };
    },

    async rememberDpopJti({ digest, at, expiresAt }) {
      const key = keys.dpopJti(digest);
      return (
        Number(await link.run(REMEMBER_DPOP_JTI, [key], [String(at), String(expiresAt)])) === 1
      );
    },

    async createServiceKey(key) {
      const created = await link.run(
        CREATE_SERVICE_KEY,
        [keys.serviceKey(key.id), keys.serviceKeyIndex(key.keyHash), keys.serviceKeyIds],
        [key.id, ...serviceKeyToFields(key)],
      );
      if (Number(created) !== 1) {
        throw new TesseraError('store_conflict', `service key ${key.id} exists`);
      }
    },

    async findServiceKeyByHash(hash) {
      const index = keys.serviceKeyIndex(hash);
      const id = await link.send(index, ['GET', index]);
      if (typeof id !== 'string') return null;
      const key = keys.serviceKey(id);
      return serviceKeyFromFields(id, toFieldMap(await link.send(key, ['HGETALL', key])));
    },

    async listServiceKeys() {
      const ids = await link.send(keys.serviceKeyIds, ['SMEMBERS', keys.serviceKeyIds]);
      const list = await Promise.all(
        (Array.isArray(ids) ? ids.map(String) : []).map(async (id) => {
          const key = keys.serviceKey(id);
          return serviceKeyFromFields(id, toFieldMap(await link.send(key, ['HGETALL', key])));
        }),
      );
      return list
        .filter((k) => k !== null)
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    },

    async revokeServiceKey(id, at) {
      return Number(await link.run(REVOKE_SERVICE_KEY, [keys.serviceKey(id)], [String(at)])) === 1;
    },

    ...redisOperatorVerbs(link, prefix, keys.sessionPattern),

    ...redisWebhookVerbs(link, prefix),

    ...redisNodeLeaseVerbs(link, prefix, keys.invalidations),

    async ping() {
      // Every master: a Cluster with one shard down cannot serve the sessions in that shard.
      await link.eachMaster((send) => send(['PING']));
    },

    subscribeInvalidations(
      listener: (sessionId: string) => void,
      events: InvalidationEvents = {},
    ): RedisInvalidationChannel {
      const channel = openInvalidationChannel(
        client,
        keys.invalidations,
        // Plain session ids from the scripts, and the node-lease protocol's messages.
        (message) => dispatchInvalidationMessage(message, listener, events),
        events.onConnected,
      );
      channels.add(channel);
      return {
        connected: () => channel.connected(),
        epoch: () => channel.epoch(),
        close: async () => {
          channels.delete(channel);
          await channel.close();
        },
      };
    },

    async close() {
      await Promise.all([...channels].map((channel) => channel.close()));
      channels.clear();
    },
  } satisfies SessionStore;
  return store;
}
