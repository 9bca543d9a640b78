import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  createMemoryStore,
  createTessera,
  generateToken,
  hashToken,
  type ManualClock,
  manualClock,
  type SessionStore,
  type Tessera,
} from '@tessera/core';

const MIN = 60_000;

let clock: ManualClock;
let store: SessionStore;
let tessera: Tessera;

function setup(options: Partial<Parameters<typeof createTessera>[0]> = {}) {
  clock = manualClock();
  store = createMemoryStore();
  tessera = createTessera({ store, clock, ...options });
}

beforeEach(() => setup());

async function reasonsOf(sessionId: string) {
  return (await tessera.events({ sessionId })).events.map(
    (e) => `${e.type}${e.reason ? `:${e.reason}` : ''}`,
  );
}

describe('create', () => {
  it('mints fresh ids and tokens on every authentication (no fixation, ASVS 5.0 7.2.4)', async () => {
    const a = await tessera.create({ userId: 'u1' });
    const b = await tessera.create({ userId: 'u1' });
    assert.notEqual(a.session.id, b.session.id);
    assert.notEqual(a.accessToken, b.accessToken);
    assert.notEqual(a.refreshToken, b.refreshToken);
  });

  it('never adopts an id or token the caller supplies', async () => {
    const planted = { id: 'attacker-chosen', accessToken: generateToken('access') };
    const issued = await tessera.create({ userId: 'u1', ...planted } as never);
    assert.notEqual(issued.session.id, planted.id);
    assert.notEqual(issued.accessToken, planted.accessToken);
    assert.equal((await tessera.validate(planted.accessToken)).ok, false);
  });

  it('stores only hashes: no token appears anywhere in the stored session or events', async () => {
    const issued = await tessera.create({ userId: 'u1', device: { id: 'd1', ip: '203.0.113.1' } });
    const next = await tessera.refresh(issued.refreshToken);
    assert.ok(next.ok);
    const stored = JSON.stringify([
      await store.getSession(issued.session.id),
      await tessera.events({ userId: 'u1' }),
    ]);
    assert.ok(!stored.includes(issued.accessToken));
    assert.ok(!stored.includes(issued.refreshToken));
    assert.ok(!stored.includes(next.accessToken));
    assert.ok(!stored.includes(next.refreshToken));
    assert.ok(stored.includes(hashToken(next.accessToken)));
  });

  it('uses the default tier, or the one asked for, and refuses an unknown one', async () => {
    assert.equal((await tessera.create({ userId: 'u' })).session.policy, 'medium');
    const high = await tessera.create({ userId: 'u', policy: 'high' });
    assert.equal(high.session.idleExpiresAt - high.session.createdAt, 15 * MIN);
    assert.equal(high.expiresIn, 300);
    await assert.rejects(tessera.create({ userId: 'u', policy: 'gold' }), {
      code: 'unknown_policy',
    });
  });

  it('ends the oldest session with reason session_limit when a user exceeds the cap (ASVS 5.0 7.1.2)', async () => {
    setup({ maxSessionsPerUser: 3 });
    const first = await tessera.create({ userId: 'u' });
    clock.advance(1);
    const second = await tessera.create({ userId: 'u' });
    clock.advance(1);
    await tessera.create({ userId: 'u' });
    clock.advance(1);
    await tessera.create({ userId: 'u' });
    assert.deepEqual(await tessera.validate(first.accessToken), {
      ok: false,
      reason: 'ended',
      session: { ...(await store.getSession(first.session.id))! },
    });
    assert.equal((await store.getSession(first.session.id))?.endReason, 'session_limit');
    assert.equal((await tessera.validate(second.accessToken)).ok, true);
    assert.equal((await tessera.listForUser('u')).length, 3);
  });
});

describe('validate: timeouts enforced by the backend (ASVS 5.0 7.3.1, 7.3.2)', () => {
  for (const [policy, idleMinutes] of [
    ['high', 15],
    ['medium', 30],
    ['low', 60],
  ] as const) {
    it(`${policy}: a session idle for ${idleMinutes} min less 1 ms is live, at ${idleMinutes} min it ends with idle_timeout`, async () => {
      const issued = await tessera.create({ userId: 'u', policy });
      // The access token is shorter-lived than the idle timeout: refresh just before the edge,
      // then go idle for the whole timeout.
      const start = clock.now();
      clock.set(start + idleMinutes * MIN - 1);
      const refreshed = await tessera.refresh(issued.refreshToken);
      assert.equal(refreshed.ok, true);
      assert.ok(refreshed.ok);
      const lastActivity = clock.now();
      clock.set(lastActivity + idleMinutes * MIN - 1);
      const live = await tessera.refresh(refreshed.refreshToken);
      assert.equal(live.ok, true, 'one millisecond before the idle deadline');
      assert.ok(live.ok);
      clock.set(clock.now() + idleMinutes * MIN);
      assert.deepEqual(await tessera.refresh(live.refreshToken), {
        ok: false,
        reason: 'idle_timeout',
      });
      assert.equal((await store.getSession(issued.session.id))?.endReason, 'idle_timeout');
      assert.deepEqual((await reasonsOf(issued.session.id)).at(-1), 'session.ended:idle_timeout');
    });
  }

  it('an access token is refused at the idle deadline even when the token itself has not expired', async () => {
    setup({
      policies: {
        short: { idleTimeoutSeconds: 2, absoluteTimeoutSeconds: 6, accessTokenTtlSeconds: 2 },
      },
    });
    const issued = await tessera.create({ userId: 'u', policy: 'short' });
    clock.advance(1999);
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    clock.advance(1);
    // Activity at 1999 ms slid the idle deadline, but the access token itself ends at 2000 ms.
    assert.equal((await tessera.validate(issued.accessToken)).ok, false);
  });

  it('validation slides the idle deadline (activity keeps a session alive)', async () => {
    setup({
      policies: {
        short: { idleTimeoutSeconds: 20, absoluteTimeoutSeconds: 600, accessTokenTtlSeconds: 20 },
      },
    });
    const issued = await tessera.create({ userId: 'u', policy: 'short' });
    clock.advance(15_000);
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    clock.advance(15_000);
    // 30 s after creation, 15 s after the last activity: still live because activity slid it.
    const refreshed = await tessera.refresh(issued.refreshToken);
    assert.equal(refreshed.ok, true);
  });

  it('a throttled touch only makes expiry earlier, never later', async () => {
    setup({
      touchIntervalSeconds: 60,
      policies: {
        t: { idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 6000, accessTokenTtlSeconds: 600 },
      },
    });
    const issued = await tessera.create({ userId: 'u', policy: 't' });
    // The effective interval is min(60 s, idle/20 = 30 s): activity 10 s after the last write
    // is not written...
    clock.advance(10_000);
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    assert.equal(
      (await store.getSession(issued.session.id))?.idleExpiresAt,
      issued.session.idleExpiresAt,
    );
    // ...so the session ends 600 s after the last *written* activity: earlier than 610 s.
    clock.set(issued.session.createdAt + 600_000);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'idle_timeout');
  });

  it('the absolute deadline ends a session however active it is, at the boundary millisecond', async () => {
    setup({
      policies: {
        short: { idleTimeoutSeconds: 2, absoluteTimeoutSeconds: 6, accessTokenTtlSeconds: 2 },
      },
    });
    const issued = await tessera.create({ userId: 'u', policy: 'short' });
    let refresh = issued.refreshToken;
    let access = issued.accessToken;
    for (let t = 1500; t < 6000; t += 1500) {
      clock.set(issued.session.createdAt + t);
      const next = await tessera.refresh(refresh);
      assert.ok(next.ok, `refresh at ${t} ms`);
      refresh = next.refreshToken;
      access = next.accessToken;
      // Refresh never extends the absolute deadline.
      assert.equal(next.session.absoluteExpiresAt, issued.session.absoluteExpiresAt);
      assert.ok(next.session.accessExpiresAt <= issued.session.absoluteExpiresAt);
    }
    clock.set(issued.session.absoluteExpiresAt - 1);
    assert.equal((await tessera.validate(access)).ok, true);
    clock.set(issued.session.absoluteExpiresAt);
    assert.equal((await tessera.validate(access)).reason, 'absolute_timeout');
    assert.deepEqual(await tessera.refresh(refresh), { ok: false, reason: 'ended' });
    assert.equal((await store.getSession(issued.session.id))?.endReason, 'absolute_timeout');
  });

  it('an expired access token is refused but the session lives on for a refresh', async () => {
    const issued = await tessera.create({ userId: 'u' });
    clock.advance(5 * MIN - 1);
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    clock.advance(1);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'access_token_expired');
    assert.equal((await tessera.refresh(issued.refreshToken)).ok, true);
  });

  it('refuses malformed and never-issued tokens without trusting them', async () => {
    assert.deepEqual(await tessera.validate('tsa_nope'), { ok: false, reason: 'malformed' });
    assert.deepEqual(await tessera.validate(generateToken('access')), {
      ok: false,
      reason: 'unknown',
    });
    const issued = await tessera.create({ userId: 'u' });
    assert.deepEqual(await tessera.validate(issued.refreshToken), {
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses a session whose last authentication is older than max_auth_age (RFC 9470)', async () => {
    const issued = await tessera.create({ userId: 'u' });
    clock.advance(60_000);
    assert.equal((await tessera.validate(issued.accessToken, { maxAuthAgeSeconds: 60 })).ok, true);
    clock.advance(1);
    assert.equal(
      (await tessera.validate(issued.accessToken, { maxAuthAgeSeconds: 60 })).reason,
      'insufficient_authentication',
    );
    const stepped = await tessera.stepUp(issued.session.id, { authMethods: ['otp'] });
    assert.ok(stepped.ok);
    assert.equal((await tessera.validate(stepped.accessToken, { maxAuthAgeSeconds: 60 })).ok, true);
  });
});

describe('refresh rotation (RFC 9700 §4.14.2)', () => {
  it('presenting the current refresh token returns a new pair and retires the old access token', async () => {
    const issued = await tessera.create({ userId: 'u' });
    const next = await tessera.refresh(issued.refreshToken);
    assert.ok(next.ok);
    assert.equal(next.replayed, false);
    assert.notEqual(next.accessToken, issued.accessToken);
    assert.notEqual(next.refreshToken, issued.refreshToken);
    assert.equal(next.session.generation, 1);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'unknown');
    assert.equal((await tessera.validate(next.accessToken)).ok, true);
  });

  it('the parent within the grace window gets the same successor pair, idempotently', async () => {
    const issued = await tessera.create({ userId: 'u' });
    const first = await tessera.refresh(issued.refreshToken);
    clock.advance(29_999);
    const again = await tessera.refresh(issued.refreshToken);
    const thrice = await tessera.refresh(issued.refreshToken);
    assert.ok(first.ok && again.ok && thrice.ok);
    assert.equal(again.replayed, true);
    assert.equal(again.accessToken, first.accessToken);
    assert.equal(again.refreshToken, first.refreshToken);
    assert.equal(thrice.refreshToken, first.refreshToken);
    assert.equal(
      (await store.getSession(issued.session.id))?.generation,
      1,
      'the session never forks',
    );
    assert.equal((await tessera.refresh(first.refreshToken)).ok, true);
  });

  it('the parent after the grace window ends the session with refresh_token_reuse', async () => {
    const issued = await tessera.create({ userId: 'u' });
    const first = await tessera.refresh(issued.refreshToken);
    assert.ok(first.ok);
    clock.advance(30_000);
    assert.deepEqual(await tessera.refresh(issued.refreshToken), {
      ok: false,
      reason: 'refresh_token_reuse',
    });
    // Both parties lose the session: the successor tokens are dead too.
    assert.deepEqual(await tessera.refresh(first.refreshToken), { ok: false, reason: 'ended' });
    assert.equal((await tessera.validate(first.accessToken)).reason, 'ended');
    assert.deepEqual((await reasonsOf(issued.session.id)).slice(-2), [
      'session.refresh_reuse:refresh_token_reuse',
      'session.ended:refresh_token_reuse',
    ]);
  });

  it('a grandparent token ends the session even inside the grace window', async () => {
    const issued = await tessera.create({ userId: 'u' });
    const first = await tessera.refresh(issued.refreshToken);
    assert.ok(first.ok);
    const second = await tessera.refresh(first.refreshToken);
    assert.ok(second.ok);
    assert.deepEqual(await tessera.refresh(issued.refreshToken), {
      ok: false,
      reason: 'refresh_token_reuse',
    });
    assert.equal((await tessera.validate(second.accessToken)).reason, 'ended');
  });

  it('with a grace of 0 any second presentation is reuse', async () => {
    setup({ refreshGraceSeconds: 0 });
    const issued = await tessera.create({ userId: 'u' });
    assert.equal((await tessera.refresh(issued.refreshToken)).ok, true);
    assert.deepEqual(await tessera.refresh(issued.refreshToken), {
      ok: false,
      reason: 'refresh_token_reuse',
    });
  });

  it('many concurrent refreshes with one token all get the same live pair and never fork', async () => {
    const issued = await tessera.create({ userId: 'u' });
    const results = await Promise.all(
      Array.from({ length: 16 }, () => tessera.refresh(issued.refreshToken)),
    );
    const pairs = new Set(
      results.map((r) => (r.ok ? `${r.accessToken}.${r.refreshToken}` : r.reason)),
    );
    assert.equal(pairs.size, 1, [...pairs].join('\n'));
    const [only] = results;
    assert.ok(only?.ok);
    assert.equal((await store.getSession(issued.session.id))?.generation, 1);
    assert.equal((await tessera.validate(only.accessToken)).ok, true);
  });

  it('the sealed successor opens only with the parent token: the store alone yields nothing usable', async () => {
    const issued = await tessera.create({ userId: 'u' });
    const next = await tessera.refresh(issued.refreshToken);
    assert.ok(next.ok);
    const stored = await store.getSession(issued.session.id);
    assert.ok(stored?.successorSealed);
    assert.ok(!stored.successorSealed.includes(next.refreshToken));
    const { openSuccessor } = await import('@tessera/core');
    assert.equal(
      openSuccessor(generateToken('refresh'), stored.id, stored.generation, stored.successorSealed),
      null,
    );
    assert.equal(
      openSuccessor(issued.refreshToken, stored.id, stored.generation, stored.successorSealed)
        ?.refreshToken,
      next.refreshToken,
    );
  });

  it('refresh fails after an idle or absolute expiry and on ended sessions', async () => {
    const idle = await tessera.create({ userId: 'u' });
    clock.advance(30 * MIN);
    assert.deepEqual(await tessera.refresh(idle.refreshToken), {
      ok: false,
      reason: 'idle_timeout',
    });
    const ended = await tessera.create({ userId: 'u' });
    await tessera.end(ended.session.id, 'logout');
    assert.deepEqual(await tessera.refresh(ended.refreshToken), { ok: false, reason: 'ended' });
    assert.deepEqual(await tessera.refresh(generateToken('refresh')), {
      ok: false,
      reason: 'unknown',
    });
    assert.deepEqual(await tessera.refresh('tsr_garbage'), { ok: false, reason: 'malformed' });
  });
});

describe('step-up', () => {
  it('records the new authentication and rotates both tokens', async () => {
    const issued = await tessera.create({ userId: 'u', authMethods: ['pwd'] });
    clock.advance(MIN);
    const stepped = await tessera.stepUp(issued.session.id, { authMethods: ['pwd', 'otp'] });
    assert.ok(stepped.ok);
    assert.equal(stepped.session.authenticatedAt, clock.now());
    assert.deepEqual(stepped.session.authMethods, ['pwd', 'otp']);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'unknown');
    assert.equal((await tessera.validate(stepped.accessToken)).ok, true);
    // The pre-step-up refresh token is retired without grace.
    assert.deepEqual(await tessera.refresh(issued.refreshToken), {
      ok: false,
      reason: 'refresh_token_reuse',
    });
  });

  it('refuses an ended or unknown session', async () => {
    const issued = await tessera.create({ userId: 'u' });
    await tessera.end(issued.session.id, 'logout');
    assert.deepEqual(await tessera.stepUp(issued.session.id, { authMethods: ['otp'] }), {
      ok: false,
      reason: 'ended',
    });
    assert.deepEqual(await tessera.stepUp('nope', { authMethods: ['otp'] }), {
      ok: false,
      reason: 'unknown',
    });
  });
});

describe('ending sessions on the server (ASVS 5.0 7.4.1–7.4.5)', () => {
  it('logout by access token kills both tokens', async () => {
    const issued = await tessera.create({ userId: 'u' });
    assert.equal(await tessera.revoke(issued.accessToken), true);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'ended');
    assert.deepEqual(await tessera.refresh(issued.refreshToken), { ok: false, reason: 'ended' });
    assert.equal(await tessera.revoke(issued.accessToken), false);
    assert.deepEqual(await reasonsOf(issued.session.id), [
      'session.created',
      'session.ended:logout',
    ]);
  });

  it('logout by refresh token kills both tokens; unknown tokens change nothing', async () => {
    const issued = await tessera.create({ userId: 'u' });
    assert.equal(await tessera.revoke(generateToken('refresh')), false);
    assert.equal(await tessera.revoke('junk'), false);
    assert.equal(await tessera.revoke(issued.refreshToken), true);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'ended');
  });

  it('password change ends every other session and keeps the current one only when asked', async () => {
    const a = await tessera.create({ userId: 'u' });
    const b = await tessera.create({ userId: 'u' });
    const other = await tessera.create({ userId: 'someone-else' });
    const ended = await tessera.endAllForUser('u', 'password_changed', {
      exceptSessionId: a.session.id,
    });
    assert.deepEqual(
      ended.map((s) => s.id),
      [b.session.id],
    );
    assert.equal((await tessera.validate(a.accessToken)).ok, true);
    assert.equal((await tessera.validate(b.accessToken)).reason, 'ended');
    assert.equal((await tessera.validate(other.accessToken)).ok, true);
    await tessera.endAllForUser('u', 'password_changed');
    assert.equal((await tessera.validate(a.accessToken)).reason, 'ended');
    assert.equal((await store.getSession(a.session.id))?.endReason, 'password_changed');
  });

  it('a lost device ends every session of that device and no other', async () => {
    const phone = await tessera.create({ userId: 'u', device: { id: 'phone' } });
    const phone2 = await tessera.create({ userId: 'u', device: { id: 'phone' } });
    const laptop = await tessera.create({ userId: 'u', device: { id: 'laptop' } });
    assert.equal((await tessera.endDevice('u', 'phone')).length, 2);
    assert.equal((await tessera.validate(phone.accessToken)).reason, 'ended');
    assert.equal((await tessera.validate(phone2.accessToken)).reason, 'ended');
    assert.equal((await tessera.validate(laptop.accessToken)).ok, true);
    assert.equal((await store.getSession(phone.session.id))?.endReason, 'device_lost');
  });

  it('every transition is an event with reason, device and IP, and never a token', async () => {
    const seen: string[] = [];
    setup({ onEvent: (e) => seen.push(e.type) });
    const issued = await tessera.create({ userId: 'u', device: { id: 'd1', ip: '198.51.100.4' } });
    const next = await tessera.refresh(issued.refreshToken);
    assert.ok(next.ok);
    await tessera.end(issued.session.id, 'admin');
    const { events } = await tessera.events({ userId: 'u' });
    assert.deepEqual(
      events.map((e) => e.type),
      ['session.created', 'session.refreshed', 'session.ended'],
    );
    assert.deepEqual(seen, ['session.created', 'session.refreshed', 'session.ended']);
    for (const event of events) {
      assert.equal(event.deviceId, 'd1');
      assert.equal(event.ip, '198.51.100.4');
      const text = JSON.stringify(event);
      for (const token of [
        issued.accessToken,
        issued.refreshToken,
        next.accessToken,
        next.refreshToken,
      ]) {
        assert.ok(!text.includes(token));
      }
    }
    assert.equal(events[2]?.reason, 'admin');
    // Event details use the HTTP API's snake_case, since `GET /v1/events` shows them as they are.
    assert.deepEqual(events[0]?.data, { policy: 'medium', auth_methods: [] });
    assert.deepEqual(events[1]?.data, { generation: 1 });
  });

  it('purge forgets long-dead sessions and keeps live ones', async () => {
    const live = await tessera.create({ userId: 'u', policy: 'low' });
    const dead = await tessera.create({ userId: 'u' });
    await tessera.end(dead.session.id, 'logout');
    clock.advance(2 * 3_600_000);
    await tessera.refresh(live.refreshToken);
    const removed = await tessera.purgeExpired();
    assert.equal(removed.sessions, 1);
    assert.equal(await store.getSession(dead.session.id), null);
    assert.ok(await store.getSession(live.session.id));
  });
});

describe('service keys', () => {
  it('are stored hashed, authenticate while unrevoked, and carry their scopes', async () => {
    const { key, record } = await tessera.createServiceKey({ name: 'api', scopes: ['introspect'] });
    assert.match(key, /^tsk_/);
    assert.ok(!JSON.stringify(await store.listServiceKeys()).includes(key));
    assert.deepEqual((await tessera.authenticateServiceKey(key))?.scopes, ['introspect']);
    assert.equal(await tessera.authenticateServiceKey(generateToken('service_key')), null);
    assert.equal(await tessera.authenticateServiceKey(generateToken('access')), null);
    assert.equal(await tessera.revokeServiceKey(record.id), true);
    assert.equal(await tessera.authenticateServiceKey(key), null);
  });
});

describe('store failures', () => {
  it('reach callers as store_unavailable whatever the driver threw, and nothing is authenticated', async () => {
    const inner = createMemoryStore();
    let down = false;
    const flaky: SessionStore = {
      ...inner,
      async findByAccessTokenHash(hash) {
        if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        return inner.findByAccessTokenHash(hash);
      },
      ping: () => (down ? Promise.reject(new TypeError('socket closed')) : Promise.resolve()),
    };
    const engine = createTessera({ store: flaky, clock: manualClock() });
    const issued = await engine.create({ userId: 'u' });
    assert.equal((await engine.validate(issued.accessToken)).ok, true);
    down = true;
    await assert.rejects(engine.validate(issued.accessToken), { code: 'store_unavailable' });
    await assert.rejects(engine.store.ping(), {
      code: 'store_unavailable',
      message: /socket closed/,
    });
    down = false;
    assert.equal((await engine.validate(issued.accessToken)).ok, true);
  });
});
