import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { bearer, type Harness, startHarness } from './harness.js';

const SEC = 1000;
let h: Harness;

beforeEach(async () => {
  h = await startHarness({
    engine: {
      touchIntervalSeconds: 0,
      // Short tiers so both timeouts are reachable: idle 60 s, absolute 150 s.
      policies: {
        short: { idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 150, accessTokenTtlSeconds: 60 },
      },
    },
  });
});
afterEach(() => h.close());

const getSession = (accessToken: string, query = '') =>
  h.inject({ method: 'GET', url: `/v1/session${query}`, headers: bearer(accessToken) });
const refresh = (refreshToken: string) =>
  h.inject({
    method: 'POST',
    url: '/v1/token',
    payload: { grant_type: 'refresh_token', refresh_token: refreshToken },
  });

describe('GET /v1/session', () => {
  it("answers the caller's session in snake_case with ISO-8601 times", async () => {
    const created = await h.createSession({ device: { id: 'd1' } });
    const response = await getSession(created.access_token);
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), created.session);
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  it('answers 401 with a bare Bearer challenge when no token is sent (RFC 6750 §3.1)', async () => {
    const response = await h.inject({ method: 'GET', url: '/v1/session' });
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="tessera"');
    const basic = await h.inject({
      method: 'GET',
      url: '/v1/session',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    assert.equal(basic.headers['www-authenticate'], 'Bearer realm="tessera"');
  });

  it('answers 401 invalid_token for a malformed, unknown, refresh or service token', async () => {
    const created = await h.createSession();
    for (const token of [
      'nonsense',
      `${created.access_token.slice(0, -1)}x`,
      created.refresh_token,
      h.keys.admin,
    ]) {
      const response = await getSession(token);
      assert.equal(response.statusCode, 401);
      assert.equal(
        response.headers['www-authenticate'],
        'Bearer error="invalid_token", error_description="The access token is not valid"',
      );
      assert.equal(response.json().error, 'invalid_token');
    }
  });

  it('tells an expired access token apart so the app knows to refresh', async () => {
    const created = await h.createSession();
    h.clock.advance(300 * SEC);
    const response = await getSession(created.access_token);
    assert.equal(response.statusCode, 401);
    assert.match(
      String(response.headers['www-authenticate']),
      /error_description="The access token has expired"/,
    );
  });

  it('answers the RFC 9470 challenge when the authentication is older than max_auth_age', async () => {
    const created = await h.createSession();
    h.clock.advance(120 * SEC);
    assert.equal((await getSession(created.access_token, '?max_auth_age=120')).statusCode, 200);
    h.clock.advance(1);
    const response = await getSession(created.access_token, '?max_auth_age=120');
    assert.equal(response.statusCode, 401);
    assert.equal(
      response.headers['www-authenticate'],
      'Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=120',
    );
    assert.equal(response.json().error, 'insufficient_user_authentication');
    // the session itself is still fine without the requirement
    assert.equal((await getSession(created.access_token)).statusCode, 200);
  });
  it('after a step-up by the backend, the new token passes the same max_auth_age', async () => {
    const created = await h.createSession();
    h.clock.advance(600 * SEC);
    assert.equal((await getSession(created.access_token, '?max_auth_age=300')).statusCode, 401);
    const stepped = await h.inject({
      method: 'POST',
      url: `/v1/sessions/${created.session.id}/step-up`,
      headers: bearer(h.keys['sessions:write']),
      payload: { auth_methods: ['pwd', 'otp'] },
    });
    const fresh = stepped.json().access_token;
    assert.equal((await getSession(fresh, '?max_auth_age=300')).statusCode, 200);
    assert.equal((await getSession(created.access_token)).statusCode, 401, 'old token retired');
  });
});

describe('idle and absolute timeouts over HTTP, at the boundary millisecond', () => {
  it('idle: alive 1 ms before the idle deadline, dead at it', async () => {
    const alive = await h.createSession({ policy: 'short' });
    h.clock.advance(60 * SEC - 1);
    assert.equal((await getSession(alive.access_token)).statusCode, 200);

    const idle = await h.createSession({ policy: 'short' });
    h.clock.advance(60 * SEC);
    const response = await getSession(idle.access_token);
    assert.equal(response.statusCode, 401);
    assert.match(String(response.headers['www-authenticate']), /The session has expired/);
    assert.equal((await refresh(idle.refresh_token)).statusCode, 400);
    const [ended] = (await h.tessera.events({ sessionId: idle.session.id, type: 'session.ended' }))
      .events;
    assert.equal(ended?.reason, 'idle_timeout');
  });

  it('idle: a refresh 1 ms before the deadline succeeds, at the deadline fails', async () => {
    const a = await h.createSession({ policy: 'short' });
    const b = await h.createSession({ policy: 'short' });
    h.clock.advance(60 * SEC - 1);
    assert.equal((await refresh(a.refresh_token)).statusCode, 200);
    h.clock.advance(1);
    assert.equal((await refresh(b.refresh_token)).statusCode, 400);
  });

  it('absolute: activity never extends past it, refresh included', async () => {
    const created = await h.createSession({ policy: 'short' });
    let tokens = { access: created.access_token, refresh: created.refresh_token };
    // stay active every 50 s: idle never fires, only the absolute deadline (150 s)
    for (let i = 0; i < 2; i++) {
      h.clock.advance(50 * SEC);
      const answer = (await refresh(tokens.refresh)).json();
      tokens = { access: answer.access_token, refresh: answer.refresh_token };
    }
    h.clock.advance(50 * SEC - 1); // 149.999 s
    const before = await getSession(tokens.access);
    assert.equal(before.statusCode, 200);
    assert.equal(before.json().absolute_expires_at, created.session.absolute_expires_at);
    assert.equal(before.json().idle_expires_at, created.session.absolute_expires_at);
    h.clock.advance(1); // 150 s
    assert.equal((await getSession(tokens.access)).statusCode, 401);
    assert.equal((await refresh(tokens.refresh)).statusCode, 400);
    const [ended] = (
      await h.tessera.events({ sessionId: created.session.id, type: 'session.ended' })
    ).events;
    assert.equal(ended?.reason, 'absolute_timeout');
  });
});

describe("the caller's own sessions", () => {
  it('GET /v1/sessions lists the live sessions of the caller only, current one marked', async () => {
    const phone = await h.createSession({ device: { id: 'phone' } });
    h.clock.advance(SEC); // oldest first
    const laptop = await h.createSession({ device: { id: 'laptop' } });
    await h.createSession({ user_id: 'mallory' });
    const response = await h.inject({
      method: 'GET',
      url: '/v1/sessions',
      headers: bearer(laptop.access_token),
    });
    assert.equal(response.statusCode, 200);
    const sessions = response.json().sessions as { id: string; current: boolean }[];
    assert.deepEqual(
      sessions.map((s) => [s.id, s.current]),
      [
        [phone.session.id, false],
        [laptop.session.id, true],
      ],
    );
  });

  it('DELETE /v1/sessions/:id ends one of my sessions (logout)', async () => {
    const phone = await h.createSession();
    const laptop = await h.createSession();
    const response = await h.inject({
      method: 'DELETE',
      url: `/v1/sessions/${phone.session.id}`,
      headers: bearer(laptop.access_token),
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { ended: 1 });
    assert.equal((await getSession(phone.access_token)).statusCode, 401);
    assert.equal((await getSession(laptop.access_token)).statusCode, 200);
  });

  it("a user can neither see nor end another user's session: 404, same as unknown", async () => {
    const alice = await h.createSession();
    const mallory = await h.createSession({ user_id: 'mallory' });
    const theirs = await h.inject({
      method: 'DELETE',
      url: `/v1/sessions/${alice.session.id}`,
      headers: bearer(mallory.access_token),
    });
    const unknown = await h.inject({
      method: 'DELETE',
      url: '/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA',
      headers: bearer(mallory.access_token),
    });
    assert.equal(theirs.statusCode, 404);
    assert.equal(theirs.body, unknown.body);
    assert.equal((await getSession(alice.access_token)).statusCode, 200);
    const list = await h.inject({
      method: 'GET',
      url: '/v1/sessions',
      headers: bearer(mallory.access_token),
    });
    assert.ok(!list.body.includes(alice.session.id));
  });

  it('DELETE /v1/sessions ends all my other sessions and keeps the current one', async () => {
    const a = await h.createSession();
    const b = await h.createSession();
    const current = await h.createSession();
    const bob = await h.createSession({ user_id: 'bob' });
    const response = await h.inject({
      method: 'DELETE',
      url: '/v1/sessions',
      headers: bearer(current.access_token),
    });
    assert.deepEqual(response.json(), { ended: 2 });
    assert.equal((await getSession(a.access_token)).statusCode, 401);
    assert.equal((await getSession(b.access_token)).statusCode, 401);
    assert.equal((await getSession(current.access_token)).statusCode, 200);
    assert.equal((await getSession(bob.access_token)).statusCode, 200);
    const reasons = (await h.tessera.events({ type: 'session.ended' })).events.map((e) => e.reason);
    assert.deepEqual(reasons, ['logout_all', 'logout_all']);
  });

  it('client routes refuse an ended session with invalid_token', async () => {
    const created = await h.createSession();
    await h.tessera.end(created.session.id, 'admin');
    for (const [method, url] of [
      ['GET', '/v1/sessions'],
      ['DELETE', '/v1/sessions'],
      ['DELETE', `/v1/sessions/${created.session.id}`],
    ] as const) {
      const response = await h.inject({ method, url, headers: bearer(created.access_token) });
      assert.equal(response.statusCode, 401, `${method} ${url}`);
      assert.equal(
        response.headers['www-authenticate'],
        'Bearer error="invalid_token", error_description="The session has ended"',
      );
    }
  });
});
