import type {
  EndReason,
  EventPage,
  EventQuery,
  NewSessionEvent,
  OperatorRecord,
  ServiceKeyRecord,
  SessionEvent,
  SessionRecord,
} from './types.js';
import type { WebhookOutbox } from './webhooks.js';

/** What the engine writes when it rotates a session's tokens (refresh or step-up). */
export interface RotationPatch {
  /** The new generation; always `expectedGeneration + 1`. */
  generation: number;
  accessTokenHash: string;
  accessExpiresAt: number;
  refreshTokenHash: string;
  rotatedAt: number;
  successorSealed: string | null;
  lastActiveAt: number;
  idleExpiresAt: number;
  /** Set by step-up only. */
  authenticatedAt?: number;
  authMethods?: string[];
}

/** One use of a DPoP proof, for `rememberDpopJti`. Instants are epoch milliseconds. */
export interface DpopJtiEntry {
  /** SHA-256 hex of `<jkt>:<jti>`. */
  digest: string;
  /** Now, on the engine's clock (an entry that expired by then no longer counts). */
  at: number;
  /** Past this instant the proof's `iat` is outside the window, so the entry may be dropped. */
  expiresAt: number;
}

/** Which live sessions of a user `endSessionsForUser` ends. */
export interface EndSelector {
  /** Keep this session alive (for example the one that changed the password). */
  exceptSessionId?: string;
  /** Only the sessions of this device. */
  deviceId?: string;
}

/**
 * The storage contract: a small set of domain verbs, each atomic on its own
 * (STYLE.md, "The store contract"). Every adapter passes `runStoreConformance`.
 *
 * Rules every adapter keeps:
 * - Token lookups are by SHA-256 hex digest; an adapter never sees a token.
 * - An ended session stays ended: no verb revives it, and `rotateSession`/`touchSession`
 *   do nothing to it.
 * - Every write is durable (or, for Redis, acknowledged by the server) before the promise resolves.
 * - Infrastructure failures reject (throw); expected outcomes are return values.
 */
// The webhook outbox verbs (`webhooks.ts`) are optional: all of them or none.
export interface SessionStore extends Partial<WebhookOutbox> {
  /** Inserts a new session. Its id, access and refresh hashes are fresh; a clash rejects. */
  createSession(session: SessionRecord): Promise<void>;

  getSession(id: string): Promise<SessionRecord | null>;

  /** The session whose *current* access token has this hash (ended ones included). */
  findByAccessTokenHash(hash: string): Promise<SessionRecord | null>;

  /**
   * The session that issued a refresh token with this hash, at any generation, with the
   * generation it was issued at: the current one, or an older (rotated) one, so the engine can
   * tell a rotation from a replay within the grace window from a reuse. Ended sessions included.
   */
  findByRefreshTokenHash(
    hash: string,
  ): Promise<{ session: SessionRecord; generation: number } | null>;

  /**
   * Compare-and-swap rotation: applies `patch` only if the session is live and its generation
   * is still `expectedGeneration`. Records `patch.refreshTokenHash` as issued at
   * `patch.generation`, keeps the older refresh hashes findable, and makes the previous access
   * token unfindable. Returns false (and changes nothing) when the CAS fails.
   */
  rotateSession(id: string, expectedGeneration: number, patch: RotationPatch): Promise<boolean>;

  /**
   * Records activity on a live session: sets `lastActiveAt` and `idleExpiresAt`, but only
   * forward (never to an earlier instant than stored). Does nothing to an ended session.
   */
  touchSession(id: string, lastActiveAt: number, idleExpiresAt: number): Promise<void>;

  /** Ends a live session. Returns the ended record, or null if it was unknown or already ended. */
  endSession(id: string, reason: EndReason, at: number): Promise<SessionRecord | null>;

  /** Ends the user's live sessions chosen by `selector`. Returns the records it ended. */
  endSessionsForUser(
    userId: string,
    reason: EndReason,
    at: number,
    selector?: EndSelector,
  ): Promise<SessionRecord[]>;

  /** The user's sessions that are not ended and not expired at `now`, oldest first. */
  listSessionsForUser(userId: string, now: number): Promise<SessionRecord[]>;

  appendEvent(event: NewSessionEvent): Promise<SessionEvent>;

  /** Events matching the query, oldest first, in pages. */
  queryEvents(query: EventQuery): Promise<EventPage>;

  /**
   * Deletes sessions that ended, or whose idle deadline passed, before `sessionsBefore` (the
   * idle deadline is never after the absolute one), with every
   * token hash they had, and events older than `eventsBefore`. Returns how many of each it removed.
   */
  purge(
    sessionsBefore: number,
    eventsBefore: number,
  ): Promise<{ sessions: number; events: number }>;

  /**
   * The DPoP replay cache (RFC 9449 §11.1): remembers `entry.digest` (SHA-256 hex of a proof's
   * key thumbprint and `jti`, so huge `jti` values cost nothing) until `entry.expiresAt`. Returns
   * true when the digest was not remembered (or its entry had expired by `entry.at`), false when
   * it was: the proof is a replay. Atomic across every node sharing the store: of any number of
   * concurrent calls with one digest, exactly one returns true. `purge` drops entries that
   * expired before its `sessionsBefore`.
   */
  rememberDpopJti(entry: DpopJtiEntry): Promise<boolean>;

  createServiceKey(key: ServiceKeyRecord): Promise<void>;
  findServiceKeyByHash(hash: string): Promise<ServiceKeyRecord | null>;
  listServiceKeys(): Promise<ServiceKeyRecord[]>;
  /** Returns false if the key was unknown or already revoked. */
  revokeServiceKey(id: string, at: number): Promise<boolean>;

  /**
   * Live sessions (not ended, neither deadline passed at `now`) counted by policy, for the
   * console's overview. Policies without live sessions are absent.
   */
  countLiveSessionsByPolicy(now: number): Promise<Record<string, number>>;

  /** Inserts an operator; a taken id or name rejects with `store_conflict`. */
  createOperator(operator: OperatorRecord): Promise<void>;
  getOperator(id: string): Promise<OperatorRecord | null>;
  findOperatorByName(name: string): Promise<OperatorRecord | null>;
  /** Every operator, oldest first. */
  listOperators(): Promise<OperatorRecord[]>;
  /**
   * Replaces the password hash, sets `passwordChangedAt`, and clears the failed sign-ins (a
   * reset lifts a lock-out). False when the operator is unknown.
   */
  setOperatorPassword(id: string, passwordHash: string, at: number): Promise<boolean>;
  /** Disables (`at`) or enables (null) an operator. False when unknown or already so. */
  setOperatorDisabled(id: string, at: number | null): Promise<boolean>;
  /**
   * Counts one failed sign-in, atomically across nodes (so a lock-out holds whichever node is
   * asked), and answers the operator as it now is; null when unknown.
   */
  recordOperatorFailure(id: string, at: number): Promise<OperatorRecord | null>;
  /** A successful sign-in: clears the failed sign-ins and sets `lastSignInAt`. */
  recordOperatorSignIn(id: string, at: number): Promise<void>;
  /**
   * The console's secret (the key of its CSRF tokens), the same on every node: stores
   * `candidate` if no secret is stored yet, and answers the stored one (first writer wins).
   */
  consoleSecret(candidate: string): Promise<string>;

  /** Resolves when the backing server answers; rejects otherwise. Used by `/readyz`. */
  ping(): Promise<void>;

  /**
   * Optional: calls `listener` with a session id whenever any node ends or rotates that session,
   * so node-local caches can drop it. `connected()` tells whether the channel is up right now;
   * a cache must be bypassed while it is not. `events.onConnected` is called every time the
   * channel (re)connects: messages sent while it was down are lost, so a cache clears itself.
   */
  subscribeInvalidations?(
    listener: (sessionId: string) => void,
    events?: InvalidationEvents,
  ): InvalidationChannel;

  /**
   * Optional, all five or none: node leases, which make a node-local cache exact on a store
   * whose invalidations arrive by message (see `node-lease.ts` in the core for the protocol).
   * Lease times are on the store's own clock, never a node's, so clock skew between nodes
   * cannot shorten or lengthen a lease.
   *
   * Grants or renews `nodeId`'s lease for `leaseMs` from now (store clock). `continued` is
   * false when the node held no live lease just before (first lease, or it lapsed): enders may
   * have stopped waiting for it, so it must forget its whole cache. `pending` are the
   * invalidations delivered to it and not yet acknowledged (always empty when not continued).
   */
  renewNodeLease?(nodeId: string, leaseMs: number): Promise<LeaseRenewal>;

  /** Drops the node's lease and its pending invalidations (a node that stops caching). */
  releaseNodeLease?(nodeId: string): Promise<void>;

  /**
   * After an end or rotation committed: records `invalidation` as pending for every node other
   * than `invalidation.from` whose lease is live, announces it on the invalidation channel
   * (`InvalidationEvents.onInvalidation`), and answers those nodes with the time left on each
   * lease (store clock). A renewal that runs after this call returns the invalidation in
   * `pending`, so a node cannot extend its lease past the answered time without seeing it.
   */
  deliverInvalidation?(invalidation: NodeInvalidation): Promise<LeaseHolder[]>;

  /**
   * `nodeId` dropped the sessions of these invalidations: removes them from its pending ones
   * and announces it (`InvalidationEvents.onAck`).
   */
  ackInvalidations?(nodeId: string, invalidationIds: string[]): Promise<void>;

  /** Which of `nodeIds` still have `invalidationId` pending. */
  unackedNodes?(invalidationId: string, nodeIds: string[]): Promise<string[]>;

  /** Releases what the adapter itself opened (not the injected client). */
  close(): Promise<void>;
}

/** An end or rotation that nodes holding a lease must confirm they saw. */
export interface NodeInvalidation {
  /** Fresh for every delivery (acks name it). */
  id: string;
  /** The node that ended or rotated the sessions (it waits; it is not asked). */
  from: string;
  sessionIds: string[];
}

export interface LeaseRenewal {
  continued: boolean;
  pending: NodeInvalidation[];
}

/** A node whose lease was live when an invalidation was delivered. */
export interface LeaseHolder {
  nodeId: string;
  /** Milliseconds left on its lease at delivery, on the store's clock. */
  remainingMs: number;
}

export interface InvalidationEvents {
  onConnected?(): void;
  /** Another node delivered an invalidation (`deliverInvalidation`). */
  onInvalidation?(invalidation: NodeInvalidation): void;
  /** A node acknowledged invalidations (`ackInvalidations`). */
  onAck?(nodeId: string, invalidationIds: string[]): void;
}

export interface InvalidationChannel {
  /**
   * True when `connected()` itself asks the store whether anything changed (SQLite's
   * data_version), so that a cached answer is exactly as fresh as a store read. Message-based
   * channels (Redis pub/sub, PostgreSQL NOTIFY) deliver a few milliseconds late and leave it unset.
   */
  readonly exact?: boolean;
  /**
   * True when `connected()` notices every write to the store by any other connection, not only
   * session ends and rotations (SQLite's data_version counts every commit): `onConnected` then
   * fires for a service key revoked elsewhere too, so service keys may be cached on it.
   */
  readonly everyWrite?: boolean;
  connected(): boolean;
  close(): Promise<void>;
}

/** True when an event matches the filters of a query (cursor and limit aside). */
export function matchesEventQuery(
  event: SessionEvent,
  query: Pick<EventQuery, 'userId' | 'sessionId' | 'type' | 'since' | 'until'>,
): boolean {
  return (
    (query.userId === undefined || event.userId === query.userId) &&
    (query.sessionId === undefined || event.sessionId === query.sessionId) &&
    (query.type === undefined || event.type === query.type) &&
    (query.since === undefined || event.at >= query.since) &&
    (query.until === undefined || event.at < query.until)
  );
}
