import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { RotationPatch, SessionStore } from '../store.js';
import { generateId, generateToken, hashToken } from '../token.js';
import type { SessionRecord } from '../types.js';
import { sampleSession, SAMPLE_EPOCH as T0 } from './fixtures.js';
import { nodeLeaseConformance } from './node-lease-conformance.js';
import { operatorConformance } from './operator-conformance.js';
import { webhookConformance } from './webhooks-conformance.js';

export interface ConformanceOptions {
  /** Shown in the suite name, e.g. "sqlite". */
  name: string;
  /** A fresh, empty store for each test, and how to dispose of it. */
  makeStore(): Promise<{ store: SessionStore; cleanup(): Promise<void> }>;
  /** Adapter-specific tests, run with the same fresh store per test. */
  extra?(context: () => SessionStore): void;
}

function patchFor(session: SessionRecord, at: number): RotationPatch {
  return {
    generation: session.generation + 1,
    accessTokenHash: hashToken(generateToken('access')),
    accessExpiresAt: at + 5 * 60_000,
    refreshTokenHash: hashToken(generateToken('refresh')),
    rotatedAt: at,
    successorSealed: 'sealed-box',
    lastActiveAt: at,
    idleExpiresAt: at + 30 * 60_000,
  };
}

/**
 * The contract every `SessionStore` must keep, as tests. Call it from an adapter's test file.
 *
 * @example
 * runStoreConformance({ name: 'memory', makeStore: async () => ({ store: createMemoryStore(), cleanup: async () => {} }) });
 */
export function runStoreConformance(options: ConformanceOptions): void {
  describe(`SessionStore conformance: ${options.name}`, () => {
    let store: SessionStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await options.makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('keeps every field of a created session', async () => {
      const session = sampleSession({
        authMethods: ['pwd', 'otp'],
        device: { id: 'd', name: 'ü 📱' },
      });
      await store.createSession(session);
      assert.deepEqual(await store.getSession(session.id), session);
      assert.equal(await store.getSession(generateId()), null);
    });

    it('keeps the DPoP key binding of a session and finds it by either token hash', async () => {
      const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
      const bound = sampleSession({ dpopJkt: jkt });
      await store.createSession(bound);
      assert.deepEqual(await store.getSession(bound.id), bound);
      assert.equal((await store.findByAccessTokenHash(bound.accessTokenHash))?.dpopJkt, jkt);
      const patch = patchFor(bound, T0 + 1000);
      assert.equal(await store.rotateSession(bound.id, 0, patch), true);
      const found = await store.findByRefreshTokenHash(patch.refreshTokenHash);
      assert.equal(found?.session.dpopJkt, jkt, 'rotation keeps the binding');
      // an unbound session has no dpopJkt property at all (not null)
      const unbound = sampleSession();
      await store.createSession(unbound);
      assert.equal('dpopJkt' in ((await store.getSession(unbound.id)) ?? {}), false);
    });

    it('remembers a DPoP proof digest once, across concurrent callers, until it expires', async () => {
      const digest = hashToken(`jkt:${generateId()}`);
      const entry = { digest, at: T0, expiresAt: T0 + 60_000 };
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.rememberDpopJti(entry)),
      );
      assert.equal(results.filter(Boolean).length, 1, 'exactly one caller sees it first');
      assert.equal(await store.rememberDpopJti({ ...entry, at: T0 + 59_999 }), false);
      const other = { ...entry, digest: hashToken(`jkt:${generateId()}`) };
      assert.equal(await store.rememberDpopJti(other), true, 'digests are independent');
      // past its expiry the entry no longer counts; purge keeps entries that have not expired
      const later = { ...entry, at: T0 + 60_000, expiresAt: T0 + 120_000 };
      assert.equal(await store.rememberDpopJti(later), true);
      await store.purge(T0 + 100_000, T0);
      assert.equal(await store.rememberDpopJti({ ...later, at: T0 + 100_001 }), false);
    });

    it('refuses a second session with the same id', async () => {
      const session = sampleSession();
      await store.createSession(session);
      await assert.rejects(store.createSession({ ...sampleSession(), id: session.id }));
    });

    it('finds a session by its access token hash and its refresh token hash', async () => {
      const session = sampleSession();
      await store.createSession(session);
      assert.equal((await store.findByAccessTokenHash(session.accessTokenHash))?.id, session.id);
      const byRefresh = await store.findByRefreshTokenHash(session.refreshTokenHash);
      assert.equal(byRefresh?.session.id, session.id);
      assert.equal(byRefresh?.generation, 0);
      assert.equal(await store.findByAccessTokenHash(hashToken('nope')), null);
      assert.equal(await store.findByRefreshTokenHash(hashToken('nope')), null);
    });

    it('rotates with compare-and-swap and keeps rotated refresh hashes findable', async () => {
      const session = sampleSession();
      await store.createSession(session);
      const patch = patchFor(session, T0 + 1000);
      assert.equal(await store.rotateSession(session.id, 0, patch), true);
      const after = await store.getSession(session.id);
      assert.equal(after?.generation, 1);
      assert.equal(after?.successorSealed, 'sealed-box');
      assert.equal(after?.refreshTokenHash, patch.refreshTokenHash);
      assert.equal(await store.findByAccessTokenHash(session.accessTokenHash), null);
      assert.equal((await store.findByAccessTokenHash(patch.accessTokenHash))?.id, session.id);
      assert.equal((await store.findByRefreshTokenHash(session.refreshTokenHash))?.generation, 0);
      assert.equal((await store.findByRefreshTokenHash(patch.refreshTokenHash))?.generation, 1);
      assert.equal(await store.rotateSession(session.id, 0, patchFor(after!, T0 + 2000)), false);
      assert.equal((await store.getSession(session.id))?.refreshTokenHash, patch.refreshTokenHash);
    });

    it('records step-up fields only when the patch carries them', async () => {
      const session = sampleSession();
      await store.createSession(session);
      await store.rotateSession(session.id, 0, patchFor(session, T0 + 1000));
      assert.equal((await store.getSession(session.id))?.authenticatedAt, T0);
      const current = (await store.getSession(session.id))!;
      const patch = {
        ...patchFor(current, T0 + 5000),
        authenticatedAt: T0 + 5000,
        authMethods: ['webauthn'],
      };
      assert.equal(await store.rotateSession(session.id, 1, patch), true);
      const after = await store.getSession(session.id);
      assert.equal(after?.authenticatedAt, T0 + 5000);
      assert.deepEqual(after?.authMethods, ['webauthn']);
    });

    it('lets exactly one of many concurrent rotations win', async () => {
      const session = sampleSession();
      await store.createSession(session);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.rotateSession(session.id, 0, patchFor(session, T0 + i)),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.getSession(session.id))?.generation, 1);
    });

    it('never rotates or touches an ended session', async () => {
      const session = sampleSession();
      await store.createSession(session);
      assert.ok(await store.endSession(session.id, 'logout', T0 + 10));
      assert.equal(await store.rotateSession(session.id, 0, patchFor(session, T0 + 20)), false);
      await store.touchSession(session.id, T0 + 30, T0 + 99 * 60_000);
      const after = await store.getSession(session.id);
      assert.equal(after?.endedAt, T0 + 10);
      assert.equal(after?.endReason, 'logout');
      assert.equal(after?.idleExpiresAt, session.idleExpiresAt);
    });

    it('moves the idle deadline only forward on touch', async () => {
      const session = sampleSession();
      await store.createSession(session);
      await store.touchSession(session.id, T0 + 60_000, T0 + 31 * 60_000);
      assert.equal((await store.getSession(session.id))?.idleExpiresAt, T0 + 31 * 60_000);
      await store.touchSession(session.id, T0 + 30_000, T0 + 30 * 60_000 + 30_000);
      const after = await store.getSession(session.id);
      assert.equal(after?.idleExpiresAt, T0 + 31 * 60_000);
      assert.equal(after?.lastActiveAt, T0 + 60_000);
    });

    it('ends a session once, durably, with its reason', async () => {
      const session = sampleSession();
      await store.createSession(session);
      const ended = await store.endSession(session.id, 'password_changed', T0 + 5);
      assert.equal(ended?.id, session.id);
      assert.equal(ended?.endReason, 'password_changed');
      assert.equal(await store.endSession(session.id, 'logout', T0 + 6), null);
      assert.equal((await store.getSession(session.id))?.endReason, 'password_changed');
      assert.equal((await store.findByAccessTokenHash(session.accessTokenHash))?.endedAt, T0 + 5);
      assert.equal(await store.endSession(generateId(), 'logout', T0), null);
    });

    it('ends the sessions of one user, sparing an excepted one and other users', async () => {
      const userId = `user-${generateId()}`;
      const a = sampleSession({ userId });
      const b = sampleSession({ userId, createdAt: T0 + 1 });
      const c = sampleSession({ userId, createdAt: T0 + 2 });
      const other = sampleSession();
      for (const s of [a, b, c, other]) await store.createSession(s);
      const ended = await store.endSessionsForUser(userId, 'password_changed', T0 + 10, {
        exceptSessionId: b.id,
      });
      assert.deepEqual(ended.map((s) => s.id).sort(), [a.id, c.id].sort());
      assert.equal((await store.getSession(b.id))?.endedAt, null);
      assert.equal((await store.getSession(other.id))?.endedAt, null);
      assert.equal((await store.endSessionsForUser(userId, 'logout_all', T0 + 11)).length, 1);
    });

    it('ends only the sessions of one device', async () => {
      const userId = `user-${generateId()}`;
      const phone = sampleSession({ userId, device: { id: 'phone' } });
      const tablet = sampleSession({ userId, device: { id: 'tablet' } });
      await store.createSession(phone);
      await store.createSession(tablet);
      const ended = await store.endSessionsForUser(userId, 'device_lost', T0 + 1, {
        deviceId: 'phone',
      });
      assert.deepEqual(
        ended.map((s) => s.id),
        [phone.id],
      );
      assert.equal((await store.getSession(tablet.id))?.endedAt, null);
    });

    it('lists only live sessions of a user, oldest first', async () => {
      const userId = `user-${generateId()}`;
      const newer = sampleSession({ userId, createdAt: T0 + 2 });
      const older = sampleSession({ userId, createdAt: T0 + 1 });
      const ended = sampleSession({ userId });
      const idle = sampleSession({ userId, idleExpiresAt: T0 + 100 });
      for (const s of [newer, older, ended, idle, sampleSession()]) await store.createSession(s);
      await store.endSession(ended.id, 'logout', T0 + 50);
      const listed = await store.listSessionsForUser(userId, T0 + 100);
      assert.deepEqual(
        listed.map((s) => s.id),
        [older.id, newer.id],
      );
    });

    it('appends events and queries them by user, session, type and time, in pages', async () => {
      const userId = `user-${generateId()}`;
      const sessionId = generateId();
      const base = {
        userId,
        sessionId,
        reason: null,
        deviceId: 'd',
        ip: '198.51.100.1',
        data: { policy: 'high' },
      };
      await store.appendEvent({ ...base, type: 'session.created', at: T0 });
      for (let i = 1; i <= 5; i++)
        await store.appendEvent({ ...base, type: 'session.refreshed', at: T0 + i });
      await store.appendEvent({ ...base, type: 'session.ended', at: T0 + 10, reason: 'logout' });
      await store.appendEvent({ ...base, userId: 'someone-else', type: 'session.created', at: T0 });

      const all = await store.queryEvents({ userId });
      assert.equal(all.events.length, 7);
      assert.equal(all.nextCursor, null);
      assert.deepEqual(all.events[0]?.data, { policy: 'high' });
      assert.equal(all.events[6]?.reason, 'logout');
      assert.equal(
        (await store.queryEvents({ sessionId, type: 'session.refreshed' })).events.length,
        5,
      );
      assert.equal((await store.queryEvents({ userId, since: T0 + 3 })).events.length, 4);
      assert.equal(
        (await store.queryEvents({ userId, since: T0 + 1, until: T0 + 3 })).events.length,
        2,
      );

      const first = await store.queryEvents({ userId, limit: 3 });
      assert.equal(first.events.length, 3);
      assert.ok(first.nextCursor);
      const second = await store.queryEvents({ userId, limit: 3, after: first.nextCursor! });
      const third = await store.queryEvents({ userId, limit: 3, after: second.nextCursor! });
      const seen = [...first.events, ...second.events, ...third.events].map((e) => e.id);
      assert.equal(new Set(seen).size, 7);
      assert.equal(third.nextCursor, null);
      assert.deepEqual(
        [...first.events, ...second.events, ...third.events].map((e) => e.at),
        [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5, T0 + 10],
      );
    });

    it('purges dead sessions with their token hashes and old events, keeping the rest', async () => {
      const live = sampleSession({ idleExpiresAt: T0 + 10 * 60_000 });
      const idle = sampleSession({ idleExpiresAt: T0 + 60_000 });
      const ended = sampleSession();
      for (const s of [live, idle, ended]) await store.createSession(s);
      await store.rotateSession(idle.id, 0, {
        ...patchFor(idle, T0 + 1),
        idleExpiresAt: T0 + 60_000,
      });
      await store.endSession(ended.id, 'logout', T0 + 1000);
      const base = {
        userId: 'u',
        sessionId: 's',
        reason: null,
        deviceId: null,
        ip: null,
        data: {},
      };
      await store.appendEvent({ ...base, type: 'session.created', at: T0 });
      await store.appendEvent({ ...base, type: 'session.ended', at: T0 + 5 * 60_000 });

      const removed = await store.purge(T0 + 2 * 60_000, T0 + 60_000);
      assert.deepEqual(removed, { sessions: 2, events: 1 });
      assert.ok(await store.getSession(live.id));
      assert.equal(await store.getSession(idle.id), null);
      assert.equal(await store.getSession(ended.id), null);
      assert.equal(await store.findByRefreshTokenHash(idle.refreshTokenHash), null);
      assert.equal(await store.findByAccessTokenHash(ended.accessTokenHash), null);
      assert.equal((await store.queryEvents({ userId: 'u' })).events.length, 1);
    });

    it('stores, finds, lists and revokes service keys', async () => {
      const key = {
        id: generateId(),
        name: 'backend',
        scopes: ['sessions:write', 'introspect'] as const,
        keyHash: hashToken(generateToken('service_key')),
        createdAt: T0,
        revokedAt: null,
      };
      await store.createServiceKey({ ...key, scopes: [...key.scopes] });
      assert.deepEqual(await store.findServiceKeyByHash(key.keyHash), {
        ...key,
        scopes: [...key.scopes],
      });
      assert.equal((await store.listServiceKeys()).length, 1);
      assert.equal(await store.revokeServiceKey(key.id, T0 + 1), true);
      assert.equal(await store.revokeServiceKey(key.id, T0 + 2), false);
      assert.equal((await store.findServiceKeyByHash(key.keyHash))?.revokedAt, T0 + 1);
      assert.equal(await store.findServiceKeyByHash(hashToken('x')), null);
    });

    it('answers ping', async () => {
      await store.ping();
    });

    operatorConformance(() => store);

    nodeLeaseConformance(() => store);

    webhookConformance(() => store);

    options.extra?.(() => store);
  });
}
