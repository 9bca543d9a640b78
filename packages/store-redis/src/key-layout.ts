/**
 * Every key name the Redis store uses, in one place (the README has the same table).
 *
 * Redis Cluster puts a key in the slot of its hash tag, the text between the first `{` and the
 * next `}`. All keys of one session carry `{<sessionId>}`, so every multi-key operation of a
 * session stays on one node and a Lua script may touch them together. Token-hash index keys have
 * no tag: they spread over the cluster, and nothing ever needs them in the same script.
 */
export interface KeyLayout {
  /** Hash with the session's fields (see `record-codec.ts`). */
  session(sessionId: string): string;
  /** String `sessionId`: the session whose access token has this SHA-256 hash. */
  accessIndex(hash: string): string;
  /** String `sessionId|generation`: the session that issued a refresh token with this hash. */
  refreshIndex(hash: string): string;
  /** Sorted set of the user's session ids, scored by `createdAt`. */
  user(userId: string): string;
  /** Stream of the user's event ids (pointers into the global stream). */
  userEvents(userId: string): string;
  /** The store's event stream; its entry ids are the event ids and paging cursors. */
  events: string;
  /** Hash of one service key. All service-key keys share the tag `{k}`: one slot, atomic create. */
  serviceKey(id: string): string;
  serviceKeyIndex(hash: string): string;
  serviceKeyIds: string;
  /** String `expiresAt`: a DPoP proof digest seen (replay cache). No tag: spreads over slots. */
  dpopJti(digest: string): string;
  /** Pub/sub channel carrying the id of every session that ended or rotated. */
  invalidations: string;
  /** SCAN pattern matching every session hash of this store. */
  sessionPattern: string;
  /** SCAN pattern matching every key of this store. */
  everythingPattern: string;
}

/** Characters that have a meaning in a Redis glob pattern. */
const GLOB_SPECIAL = /[*?[\]\\]/g;

export function keyLayout(prefix: string): KeyLayout {
  // A brace in the prefix would become the hash tag of every key and put the whole store in one
  // slot (or split a session over several); refuse it rather than degrade silently.
  if (/[{}]/.test(prefix)) throw new Error(`prefix must not contain "{" or "}" (got ${prefix})`);
  // User ids come from the application and may hold any character. Encoding keeps braces out of
  // the hash tag and keeps two different ids from ever naming the same key.
  const user = (userId: string) => `${prefix}{u:${encodeURIComponent(userId)}}`;
  const glob = prefix.replace(GLOB_SPECIAL, (c) => `\\${c}`);
  return {
    session: (id) => `${prefix}s:{${id}}`,
    accessIndex: (hash) => `${prefix}at:${hash}`,
    refreshIndex: (hash) => `${prefix}rt:${hash}`,
    user,
    userEvents: (userId) => `${user(userId)}:events`,
    events: `${prefix}events`,
    serviceKey: (id) => `${prefix}{k}:id:${id}`,
    serviceKeyIndex: (hash) => `${prefix}{k}:h:${hash}`,
    serviceKeyIds: `${prefix}{k}:ids`,
    dpopJti: (digest) => `${prefix}dpop:${digest}`,
    invalidations: `${prefix}invalidations`,
    sessionPattern: `${glob}s:{*}`,
    everythingPattern: `${glob}*`,
  };
}
