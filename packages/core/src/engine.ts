import { type Clock, systemClock } from './clock.js';
import { isJwkThumbprint } from './dpop.js';
import { TesseraError } from './errors.js';
import { guardStore } from './guarded-store.js';
import { createNodeLease, supportsNodeLeases } from './node-lease.js';
import { type PolicyTier, resolvePolicies } from './policy.js';
import { openSuccessor, sealSuccessor, type TokenPair } from './seal.js';
import { createServiceKeyCache } from './service-key-cache.js';
import { createSessionCache, type SessionCacheOptions } from './session-cache.js';
import type { SessionStore } from './store.js';
import {
  generateId,
  generateToken,
  hashesEqual,
  hashToken,
  isWellFormedToken,
  tokenKindOf,
} from './token.js';
import type {
  DeviceInfo,
  EndReason,
  EventPage,
  EventQuery,
  Scope,
  ServiceKeyRecord,
  SessionEvent,
  SessionRecord,
} from './types.js';

export interface TesseraOptions {
  store: SessionStore;
  /** Custom tiers, merged over `high`, `medium` and `low`. */
  policies?: Record<string, Partial<PolicyTier>>;
  /** @default 'medium' */
  defaultPolicy?: string;
  /** @default systemClock */
  clock?: Clock;
  /**
   * How long after a rotation the parent refresh token may be presented again and get the same
   * successor pair (0–300). RFC 9700 §4.14.2 allows a short grace for lost answers.
   * @default 30
   */
  refreshGraceSeconds?: number;
  /** Live sessions one user may hold; one more ends the oldest (`session_limit`). @default 20 */
  maxSessionsPerUser?: number;
  /** @default 90 */
  eventRetentionDays?: number;
  /**
   * Upper bound on how often a validation writes the sliding idle deadline. The effective
   * interval is also at most 1/20 of the tier's idle timeout. Skipping a write only makes the
   * session expire earlier than a precise slide would, never later.
   * @default 60
   */
  touchIntervalSeconds?: number;
  /** Called after every recorded event (metrics, streaming). Must not throw. */
  onEvent?: (event: SessionEvent) => void;
  /**
   * A node-local cache of validated sessions, for stores with an invalidation channel (SQLite,
   * Redis, PostgreSQL, memory); always off for stores without one. Exact on every bundled
   * store: on SQLite `PRAGMA data_version` is asked before every cached answer; on the others
   * the node holds a lease and every end or rotation on any node returns only once each node
   * with a live lease dropped the session, or its lease ran out (`node-lease.ts`). Whatever
   * this option says, an engine on a store with node leases waits for the other nodes after
   * its own ends, so that their caches never accept what it ended.
   * @default false
   */
  cache?: SessionCacheOptions | false;
}

export interface CreateSessionInput {
  userId: string;
  policy?: string;
  authMethods?: string[];
  device?: DeviceInfo;
  /**
   * Binds the session to a key (RFC 9449 DPoP): the RFC 7638 SHA-256 thumbprint of its public
   * JWK. Every refresh and every use of the access token then needs a proof made with that key.
   */
  dpopJkt?: string;
}

export interface IssuedSession {
  session: SessionRecord;
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

export type ValidateFailure =
  | 'malformed'
  | 'unknown'
  | 'ended'
  | 'idle_timeout'
  | 'absolute_timeout'
  | 'access_token_expired'
  | 'insufficient_authentication'
  | 'dpop_binding_mismatch';

export type ValidateResult =
  | { ok: true; session: SessionRecord; reason?: undefined }
  | { ok: false; reason: ValidateFailure; session?: SessionRecord };

export type RefreshFailure =
  | 'malformed'
  | 'unknown'
  | 'ended'
  | 'idle_timeout'
  | 'absolute_timeout'
  | 'refresh_token_reuse'
  | 'dpop_binding_mismatch';

export type RefreshResult =
  | (IssuedSession & { ok: true; replayed: boolean })
  | { ok: false; reason: RefreshFailure };

export type StepUpResult =
  | (IssuedSession & { ok: true })
  | { ok: false; reason: 'unknown' | 'ended' | 'idle_timeout' | 'absolute_timeout' };

export interface ValidateOptions {
  /** Refuse when the last authentication is older than this (RFC 9470 `max_age`). */
  maxAuthAgeSeconds?: number;
  /**
   * Answer only as fresh as a store read (introspection): the node-local cache is used only if
   * it is exact (SQLite's data_version, or node leases on Redis and PostgreSQL: no end that has
   * returned can be missed), never a cache that only hears invalidations by message.
   */
  fresh?: boolean;
  /**
   * The thumbprint of the key whose DPoP proof the caller verified for this request (with
   * `createDpopVerifier`, `ath` included). A session bound to a key (`dpopJkt`) is refused with
   * `dpop_binding_mismatch` unless this is its thumbprint: a bound token is worthless without
   * its key, also when presented as Bearer (RFC 9449 §7.2).
   */
  dpopJkt?: string;
  /**
   * Skip the binding check: only for a caller that reports the binding instead of enforcing it
   * (introspection answers `cnf.jkt` and the resource server checks the proof itself).
   */
  ignoreDpopBinding?: boolean;
}

export interface RefreshOptions {
  /** As in `ValidateOptions`: the thumbprint of the verified proof of this token request. */
  dpopJkt?: string;
}

export interface IssuedServiceKey {
  key: string;
  record: ServiceKeyRecord;
}

/** The session engine. Every method checks the store: nothing is trusted from a token alone. */
export interface Tessera {
  readonly policies: ReadonlyMap<string, PolicyTier>;
  readonly defaultPolicy: string;
  readonly store: SessionStore;
  /** The engine's clock (DPoP proof windows and nonces are judged on it too). */
  readonly clock: Clock;
  create(input: CreateSessionInput): Promise<IssuedSession>;
  validate(accessToken: string, options?: ValidateOptions): Promise<ValidateResult>;
  /**
   * Rotates the session's tokens. A session bound to a key (DPoP) rotates only with
   * `options.dpopJkt` equal to its thumbprint; otherwise `dpop_binding_mismatch`, and nothing
   * else happens: no rotation, no reuse detection, no activity.
   */
  refresh(refreshToken: string, options?: RefreshOptions): Promise<RefreshResult>;
  stepUp(sessionId: string, input: { authMethods: string[] }): Promise<StepUpResult>;
  /**
   * The live session whose *current* refresh token this is, without rotating it or counting as
   * activity (RFC 7662 introspection of a refresh token). Null otherwise.
   */
  inspectRefreshToken(refreshToken: string): Promise<SessionRecord | null>;
  /** Ends the session an access or refresh token belongs to (RFC 7009). False if none. */
  revoke(token: string): Promise<boolean>;
  end(sessionId: string, reason: EndReason): Promise<SessionRecord | null>;
  endAllForUser(
    userId: string,
    reason: EndReason,
    options?: { exceptSessionId?: string },
  ): Promise<SessionRecord[]>;
  endDevice(userId: string, deviceId: string, reason?: EndReason): Promise<SessionRecord[]>;
  /** Live sessions of the user, oldest first. */
  listForUser(userId: string): Promise<SessionRecord[]>;
  /** A live session by id, or null (also null when it ended or expired). */
  getLiveSession(sessionId: string): Promise<SessionRecord | null>;
  events(query: EventQuery): Promise<EventPage>;
  purgeExpired(): Promise<{ sessions: number; events: number }>;
  createServiceKey(input: { name: string; scopes: Scope[] }): Promise<IssuedServiceKey>;
  authenticateServiceKey(key: string): Promise<ServiceKeyRecord | null>;
  listServiceKeys(): Promise<ServiceKeyRecord[]>;
  revokeServiceKey(id: string): Promise<boolean>;
  /** True while validations may be answered from the node-local cache. */
  cacheActive(): boolean;
  /** Releases the cache's invalidation subscription (the store itself is the caller's). */
  close(): Promise<void>;
}

/** Ended sessions stay findable this long, so a late token gets "ended" rather than "unknown". */
const KEEP_DEAD_SESSIONS_MS = 60 * 60 * 1000;

/**
 * Builds the engine on a store.
 *
 * @example
 * const tessera = createTessera({ store: createMemoryStore() });
 * const { accessToken } = await tessera.create({ userId: 'u1', policy: 'high' });
 * const result = await tessera.validate(accessToken); // { ok: true, session }
 */
export function createTessera(options: TesseraOptions): Tessera {
  const store = guardStore(options.store);
  const {
    defaultPolicy = 'medium',
    clock = systemClock,
    refreshGraceSeconds = 30,
    maxSessionsPerUser = 20,
    eventRetentionDays = 90,
    touchIntervalSeconds = 60,
    onEvent,
    cache: cacheOptions = false,
  } = options;
  const policies = resolvePolicies(options.policies);
  if (!policies.has(defaultPolicy)) {
    throw new TesseraError(
      'invalid_config',
      `default_policy "${defaultPolicy}" is not a policy (known: ${[...policies.keys()].join(', ')})`,
    );
  }
  checkInteger('refresh_grace_seconds', refreshGraceSeconds, 0, 300);
  checkInteger('max_sessions_per_user', maxSessionsPerUser, 1, 10_000);
  checkInteger('event_retention_days', eventRetentionDays, 1, 3650);
  checkInteger('touch_interval_seconds', touchIntervalSeconds, 0, 3600);
  const graceMs = refreshGraceSeconds * 1000;
  // The waiting side of the lease protocol runs on every engine of a store that has leases,
  // the holding side only where this engine caches.
  const lease = supportsNodeLeases(store)
    ? createNodeLease(store, {
        hold: cacheOptions !== false,
        ...(cacheOptions && cacheOptions.leaseMs !== undefined
          ? { leaseMs: cacheOptions.leaseMs }
          : {}),
      })
    : null;
  const cache = cacheOptions === false ? null : createSessionCache(store, cacheOptions, lease);
  const serviceKeys = createServiceKeyCache(cache);

  /** Drops ended or rotated sessions here, then waits until no other node can accept them. */
  function settle(sessionIds: string[]): Promise<void> {
    for (const id of sessionIds) cache?.drop(id);
    return lease ? lease.settle(sessionIds) : Promise.resolve();
  }

  function tierOf(session: SessionRecord): PolicyTier {
    // A session keeps the tier it was created with; if that tier was removed from the
    // configuration since, the strictest built-in tier applies rather than none.
    return policies.get(session.policy) ?? (policies.get('high') as PolicyTier);
  }

  async function record(
    type: SessionEvent['type'],
    session: SessionRecord,
    at: number,
    reason: EndReason | null = null,
    data: SessionEvent['data'] = {},
  ): Promise<void> {
    const event = await store.appendEvent({
      type,
      at,
      sessionId: session.id,
      userId: session.userId,
      reason,
      deviceId: session.device.id ?? null,
      ip: session.device.ip ?? null,
      data,
    });
    onEvent?.(event);
  }

  async function endOne(session: SessionRecord, reason: EndReason, at: number) {
    const ended = await store.endSession(session.id, reason, at);
    if (!ended) {
      cache?.drop(session.id);
      return ended;
    }
    // The end is acknowledged only when no node can accept the session any more.
    await Promise.all([settle([ended.id]), record('session.ended', ended, at, reason)]);
    return ended;
  }

  async function endMany(ended: SessionRecord[], reason: EndReason, at: number) {
    const settled = settle(ended.map((session) => session.id));
    try {
      for (const session of ended) await record('session.ended', session, at, reason);
    } finally {
      await settled;
    }
    return ended;
  }

  /** The reason a session can no longer be used at `now`, or null while it is live. */
  function deadReason(
    session: SessionRecord,
    now: number,
  ): 'ended' | 'idle_timeout' | 'absolute_timeout' | null {
    if (session.endedAt !== null) return 'ended';
    if (now >= session.absoluteExpiresAt) return 'absolute_timeout';
    if (now >= session.idleExpiresAt) return 'idle_timeout';
    return null;
  }

  /** Ends an expired session for the record (lazy expiry), and says why it is dead. */
  async function settleDead(session: SessionRecord, now: number) {
    const reason = deadReason(session, now);
    if (reason === 'idle_timeout' || reason === 'absolute_timeout') {
      await endOne(session, reason, now);
    }
    return reason;
  }

  function touchEveryMs(session: SessionRecord): number {
    return Math.min(touchIntervalSeconds * 1000, (tierOf(session).idleTimeoutSeconds * 1000) / 20);
  }

  function isPlainlyLive(session: SessionRecord, now: number, check: ValidateOptions): boolean {
    return (
      deadReason(session, now) === null &&
      now < session.accessExpiresAt &&
      now - session.lastActiveAt < touchEveryMs(session) &&
      (check.maxAuthAgeSeconds === undefined ||
        now - session.authenticatedAt <= check.maxAuthAgeSeconds * 1000)
    );
  }

  /**
   * True when a request may act for this session as far as DPoP goes: unbound, or a proof from
   * the bound key was verified (RFC 9449 §4.3 check 12, §7.2).
   */
  function keyHeld(session: SessionRecord, dpopJkt: string | undefined, ignore = false): boolean {
    return session.dpopJkt === undefined || ignore || dpopJkt === session.dpopJkt;
  }

  function mintPair(session: SessionRecord, now: number) {
    const tier = tierOf(session);
    const pair: TokenPair = {
      accessToken: generateToken('access'),
      refreshToken: generateToken('refresh'),
    };
    const accessExpiresAt = Math.min(
      now + tier.accessTokenTtlSeconds * 1000,
      session.absoluteExpiresAt,
    );
    // Activity slides the idle deadline, but never past the absolute one.
    const idleExpiresAt = Math.min(now + tier.idleTimeoutSeconds * 1000, session.absoluteExpiresAt);
    return { pair, accessExpiresAt, idleExpiresAt };
  }

  function issued(session: SessionRecord, pair: TokenPair, now: number): IssuedSession {
    return {
      session,
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expiresIn: Math.max(0, Math.floor((session.accessExpiresAt - now) / 1000)),
    };
  }

  async function rotate(
    session: SessionRecord,
    now: number,
    parentRefreshToken: string | null,
    stepUp?: { authMethods: string[] },
  ) {
    const { pair, accessExpiresAt, idleExpiresAt } = mintPair(session, now);
    const generation = session.generation + 1;
    const patch = {
      generation,
      accessTokenHash: hashToken(pair.accessToken),
      accessExpiresAt,
      refreshTokenHash: hashToken(pair.refreshToken),
      rotatedAt: now,
      successorSealed: parentRefreshToken
        ? sealSuccessor(parentRefreshToken, session.id, generation, pair)
        : null,
      lastActiveAt: now,
      idleExpiresAt,
      ...(stepUp ? { authenticatedAt: now, authMethods: stepUp.authMethods } : {}),
    };
    const swapped = await store.rotateSession(session.id, session.generation, patch);
    if (!swapped) {
      cache?.drop(session.id);
      return null;
    }
    // The old access token must be refused everywhere before the new pair is handed out.
    await settle([session.id]);
    const next: SessionRecord = { ...session, ...patch };
    return { session: next, pair };
  }

  const tessera: Tessera = {
    policies,
    defaultPolicy,
    store,
    clock,

    async create(input) {
      const now = clock.now();
      const policyName = input.policy ?? defaultPolicy;
      const tier = policies.get(policyName);
      if (!tier) {
        throw new TesseraError(
          'unknown_policy',
          `policy "${policyName}" is not configured (known: ${[...policies.keys()].join(', ')})`,
        );
      }
      if (typeof input.userId !== 'string' || input.userId.length === 0) {
        throw new TesseraError('invalid_argument', 'userId must be a non-empty string');
      }
      if (input.dpopJkt !== undefined && !isJwkThumbprint(input.dpopJkt)) {
        throw new TesseraError(
          'invalid_argument',
          'dpopJkt must be an RFC 7638 SHA-256 JWK thumbprint (43 base64url characters)',
        );
      }
      // Always fresh: an id or token the client supplies is never adopted (no fixation,
      // ASVS 5.0 7.2.4, WSTG-SESS-03).
      const pair: TokenPair = {
        accessToken: generateToken('access'),
        refreshToken: generateToken('refresh'),
      };
      const absoluteExpiresAt = now + tier.absoluteTimeoutSeconds * 1000;
      const session: SessionRecord = {
        id: generateId(),
        userId: input.userId,
        policy: policyName,
        createdAt: now,
        lastActiveAt: now,
        idleExpiresAt: Math.min(now + tier.idleTimeoutSeconds * 1000, absoluteExpiresAt),
        absoluteExpiresAt,
        authenticatedAt: now,
        authMethods: input.authMethods ?? [],
        device: { ...input.device },
        generation: 0,
        accessTokenHash: hashToken(pair.accessToken),
        accessExpiresAt: Math.min(now + tier.accessTokenTtlSeconds * 1000, absoluteExpiresAt),
        refreshTokenHash: hashToken(pair.refreshToken),
        rotatedAt: now,
        successorSealed: null,
        endedAt: null,
        endReason: null,
        ...(input.dpopJkt === undefined ? {} : { dpopJkt: input.dpopJkt }),
      };
      await store.createSession(session);
      await record('session.created', session, now, null, {
        policy: policyName,
        auth_methods: session.authMethods,
      });
      // Per-user cap (ASVS 5.0 7.1.2): the oldest sessions make room for the new one.
      const live = await store.listSessionsForUser(session.userId, now);
      const excess = live.length - maxSessionsPerUser;
      for (const old of live.filter((s) => s.id !== session.id).slice(0, Math.max(0, excess))) {
        await endOne(old, 'session_limit', now);
      }
      return issued(session, pair, now);
    },

    async validate(accessToken, validateOptions = {}) {
      if (!isWellFormedToken(accessToken, 'access')) return { ok: false, reason: 'malformed' };
      const now = clock.now();
      const hash = hashToken(accessToken);
      const cached = validateOptions.fresh && !cache?.exact ? undefined : cache?.get(hash, now);
      // The cache answers only the plain case: live, fresh enough, no touch due. Anything that
      // would end, refuse or write goes to the store, which is the source of truth.
      if (
        cached &&
        isPlainlyLive(cached, now, validateOptions) &&
        keyHeld(cached, validateOptions.dpopJkt, validateOptions.ignoreDpopBinding)
      )
        return { ok: true, session: cached };
      const mark = cache?.mark() ?? 0;
      const session = await store.findByAccessTokenHash(hash);
      if (!session || !hashesEqual(hash, session.accessTokenHash)) {
        return { ok: false, reason: 'unknown' };
      }
      // Before anything else: without the bound key the token is worthless, so it learns
      // nothing about the session and does not count as activity.
      if (!keyHeld(session, validateOptions.dpopJkt, validateOptions.ignoreDpopBinding)) {
        return { ok: false, reason: 'dpop_binding_mismatch' };
      }
      const dead = await settleDead(session, now);
      if (dead) return { ok: false, reason: dead, session };
      if (now >= session.accessExpiresAt) {
        return { ok: false, reason: 'access_token_expired', session };
      }
      const { maxAuthAgeSeconds } = validateOptions;
      if (
        maxAuthAgeSeconds !== undefined &&
        now - session.authenticatedAt > maxAuthAgeSeconds * 1000
      ) {
        return { ok: false, reason: 'insufficient_authentication', session };
      }
      let live = session;
      if (now - session.lastActiveAt >= touchEveryMs(session)) {
        const idleExpiresAt = Math.min(
          now + tierOf(session).idleTimeoutSeconds * 1000,
          session.absoluteExpiresAt,
        );
        await store.touchSession(session.id, now, idleExpiresAt);
        live = { ...session, lastActiveAt: now, idleExpiresAt };
      }
      cache?.put(hash, live, mark, now);
      return { ok: true, session: live };
    },

    async refresh(refreshToken, refreshOptions = {}) {
      if (!isWellFormedToken(refreshToken, 'refresh')) return { ok: false, reason: 'malformed' };
      const now = clock.now();
      const hash = hashToken(refreshToken);
      const found = await store.findByRefreshTokenHash(hash);
      if (!found) return { ok: false, reason: 'unknown' };
      let { session } = found;
      const { generation } = found;
      // A refresh token of a bound session is worthless without the key (RFC 9449 §5): refused
      // before anything else, so a copy presented without it can neither rotate the session
      // nor end it through reuse detection.
      if (!keyHeld(session, refreshOptions.dpopJkt)) {
        return { ok: false, reason: 'dpop_binding_mismatch' };
      }

      const dead = await settleDead(session, now);
      if (dead) return { ok: false, reason: dead };

      if (generation === session.generation) {
        if (!hashesEqual(hash, session.refreshTokenHash)) return { ok: false, reason: 'unknown' };
        const rotated = await rotate(session, now, refreshToken);
        if (rotated) {
          await record('session.refreshed', rotated.session, now, null, {
            generation: rotated.session.generation,
          });
          return { ok: true, replayed: false, ...issued(rotated.session, rotated.pair, now) };
        }
        // Lost the compare-and-swap to a concurrent refresh with this same token: the winner's
        // pair is now the successor of our token, so the grace rule below hands it to us too.
        const current = await store.getSession(session.id);
        if (!current) return { ok: false, reason: 'unknown' };
        session = current;
        const deadNow = await settleDead(session, now);
        if (deadNow) return { ok: false, reason: deadNow };
      }

      if (
        generation === session.generation - 1 &&
        session.successorSealed !== null &&
        now < session.rotatedAt + graceMs
      ) {
        const pair = openSuccessor(
          refreshToken,
          session.id,
          session.generation,
          session.successorSealed,
        );
        if (pair) {
          await record('session.refresh_replayed', session, now, null, {
            generation: session.generation,
          });
          return { ok: true, replayed: true, ...issued(session, pair, now) };
        }
      }

      // A rotated refresh token came back outside the grace rule: someone holds a copy
      // (RFC 9700 §4.14.2). End the whole session so neither party keeps it.
      await record('session.refresh_reuse', session, now, 'refresh_token_reuse', {
        presented_generation: generation,
        current_generation: session.generation,
      });
      await endOne(session, 'refresh_token_reuse', now);
      return { ok: false, reason: 'refresh_token_reuse' };
    },

    async stepUp(sessionId, input) {
      const now = clock.now();
      const session = await store.getSession(sessionId);
      if (!session) return { ok: false, reason: 'unknown' };
      const dead = await settleDead(session, now);
      if (dead) return { ok: false, reason: dead };
      // Re-authentication issues new tokens and retires the old ones (ASVS 5.0 7.2.4). The old
      // refresh token has no grace here: the backend, not the app, asked for the new pair.
      const rotated = await rotate(session, now, null, { authMethods: input.authMethods });
      if (!rotated) {
        const again = await store.getSession(sessionId);
        if (!again || again.endedAt !== null) return { ok: false, reason: 'ended' };
        return tessera.stepUp(sessionId, input);
      }
      await record('session.step_up', rotated.session, now, null, {
        auth_methods: input.authMethods,
        generation: rotated.session.generation,
      });
      return { ok: true, ...issued(rotated.session, rotated.pair, now) };
    },

    async inspectRefreshToken(refreshToken) {
      if (!isWellFormedToken(refreshToken, 'refresh')) return null;
      const hash = hashToken(refreshToken);
      const found = await store.findByRefreshTokenHash(hash);
      if (!found || found.generation !== found.session.generation) return null;
      if (!hashesEqual(hash, found.session.refreshTokenHash)) return null;
      return (await settleDead(found.session, clock.now())) ? null : found.session;
    },

    async revoke(token) {
      const kind = tokenKindOf(token);
      if (kind === 'access') {
        const session = await store.findByAccessTokenHash(hashToken(token));
        return session ? (await endOne(session, 'logout', clock.now())) !== null : false;
      }
      if (kind === 'refresh') {
        const found = await store.findByRefreshTokenHash(hashToken(token));
        if (!found) return false;
        const { session, generation } = found;
        // The current refresh token or its parent (still held by a client whose answer was
        // lost) is a logout; an older one is a copy surfacing, treated as reuse.
        const reason: EndReason =
          generation >= session.generation - 1 ? 'logout' : 'refresh_token_reuse';
        const now = clock.now();
        if (reason === 'refresh_token_reuse' && session.endedAt === null) {
          await record('session.refresh_reuse', session, now, reason, {
            presented_generation: generation,
            current_generation: session.generation,
          });
        }
        return (await endOne(session, reason, now)) !== null;
      }
      return false;
    },

    async end(sessionId, reason) {
      const session = await store.getSession(sessionId);
      return session ? endOne(session, reason, clock.now()) : null;
    },

    async endAllForUser(userId, reason, endOptions = {}) {
      const now = clock.now();
      const selector =
        endOptions.exceptSessionId === undefined
          ? {}
          : { exceptSessionId: endOptions.exceptSessionId };
      return endMany(await store.endSessionsForUser(userId, reason, now, selector), reason, now);
    },

    async endDevice(userId, deviceId, reason = 'device_lost') {
      const now = clock.now();
      return endMany(
        await store.endSessionsForUser(userId, reason, now, { deviceId }),
        reason,
        now,
      );
    },

    listForUser(userId) {
      return store.listSessionsForUser(userId, clock.now());
    },

    async getLiveSession(sessionId) {
      const session = await store.getSession(sessionId);
      if (!session) return null;
      return (await settleDead(session, clock.now())) ? null : session;
    },

    events(query) {
      return store.queryEvents(query);
    },

    purgeExpired() {
      const now = clock.now();
      return store.purge(now - KEEP_DEAD_SESSIONS_MS, now - eventRetentionDays * 86_400_000);
    },

    async createServiceKey(input) {
      const key = generateToken('service_key');
      const record: ServiceKeyRecord = {
        id: generateId(),
        name: input.name,
        scopes: [...new Set(input.scopes)],
        keyHash: hashToken(key),
        createdAt: clock.now(),
        revokedAt: null,
      };
      await store.createServiceKey(record);
      return { key, record };
    },

    async authenticateServiceKey(key) {
      if (!isWellFormedToken(key, 'service_key')) return null;
      const hash = hashToken(key);
      const now = clock.now();
      const cached = serviceKeys?.get(hash, now);
      if (cached !== undefined) return cached;
      const mark = serviceKeys?.mark() ?? 0;
      const found = await store.findServiceKeyByHash(hash);
      if (!found || found.revokedAt !== null || !hashesEqual(hash, found.keyHash)) return null;
      serviceKeys?.put(hash, found, mark, now);
      return found;
    },

    listServiceKeys() {
      return store.listServiceKeys();
    },

    async revokeServiceKey(id) {
      try {
        return await store.revokeServiceKey(id, clock.now());
      } finally {
        serviceKeys?.clear();
      }
    },

    cacheActive() {
      return cache?.active() ?? false;
    },

    async close() {
      await cache?.close();
      await lease?.close();
    },
  };
  return tessera;
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TesseraError(
      'invalid_config',
      `${field} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
}
