import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { bearer, type Harness, startHarness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness({ engine: { touchIntervalSeconds: 0 } });
});
afterEach(() => h.close());

const admin = () => bearer(h.keys.admin);
const getSession = (accessToken: string) =>
  h.inject({ method: 'GET', url: '/v1/session', headers: bearer(accessToken) });

describe('POST /v1/sessions', () => {
  it('creates a session with device metadata and answers 201 with a token pair', async () => {
    const response = await h.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: { ...admin(), 'user-agent': 'backend/1.0' },
      remoteAddress: '10.0.0.5',
      payload: {
        user_id: 'alice',
        policy: 'high',
        auth_methods: ['pwd', 'otp'],
        device: { id: 'dev-1', name: 'Pixel 9', platform: 'android', app_version: '1.2.3' },
        ip: '203.0.113.7',
        user_agent: 'app/1.2.3',
      },
    });
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers['cache-control'], 'no-store');
    const body = response.json();
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 300);
    assert.match(body.access_token, /^tsa_[0-9A-Za-z]{49}$/);
    assert.match(body.refresh_token, /^tsr_[0-9A-Za-z]{49}$/);
    assert.deepEqual(body.session, {
      id: body.session.id,
      user_id: 'alice',
      policy: 'high',
      created_at: '2026-01-01T00:00:00.000Z',
      last_active_at: '2026-01-01T00:00:00.000Z',
      idle_expires_at: '2026-01-01T00:15:00.000Z',
      absolute_expires_at: '2026-01-01T12:00:00.000Z',
      authenticated_at: '2026-01-01T00:00:00.000Z',
      auth_methods: ['pwd', 'otp'],
      // ip and user agent from the body: the request's own are the backend's
      device: {
        id: 'dev-1',
        name: 'Pixel 9',
        platform: 'android',
        app_version: '1.2.3',
        ip: '203.0.113.7',
        user_agent: 'app/1.2.3',
      },
    });
  });

  it('mints fresh ids and tokens on every create and refuses a client-supplied id (no fixation)', async () => {
    const a = await h.createSession();
    const b = await h.createSession();
    assert.notEqual(a.session.id, b.session.id);
    assert.notEqual(a.access_token, b.access_token);
    const fixed = await h.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: admin(),
      payload: { user_id: 'alice', id: a.session.id },
    });
    assert.equal(fixed.statusCode, 400);
    assert.equal(fixed.json().error_description, 'body/id is not allowed');
  });

  it('refuses an unknown policy with 400 naming it', async () => {
    const response = await h.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: admin(),
      payload: { user_id: 'alice', policy: 'nope' },
    });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error, 'invalid_request');
    assert.match(response.json().error_description, /policy "nope"/);
  });

  it('names the field of a wrong type, nested too', async () => {
    const cases: [unknown, string][] = [
      [{ user_id: 7 }, 'body/user_id must be string'],
      [{}, 'body/user_id is required'],
      [{ user_id: 'a', device: { name: 1 } }, 'body/device/name must be string'],
      [{ user_id: 'a', device: { colour: 'red' } }, 'body/device/colour is not allowed'],
      [{ user_id: 'a', auth_methods: ['pwd', 3] }, 'body/auth_methods/1 must be string'],
      [{ user_id: '' }, 'body/user_id must NOT have fewer than 1 characters'],
    ];
    for (const [payload, message] of cases) {
      const response = await h.inject({
        method: 'POST',
        url: '/v1/sessions',
        headers: admin(),
        payload: payload as object,
      });
      assert.equal(response.statusCode, 400);
      assert.deepEqual(response.json(), { error: 'invalid_request', error_description: message });
    }
  });
});

describe('user-level ends', () => {
  it('password change ends every other session and keeps the current one only when asked', async () => {
    const current = await h.createSession();
    const other = await h.createSession();
    const response = await h.inject({
      method: 'POST',
      url: '/v1/users/alice/sessions/end',
      headers: bearer(h.keys['sessions:write']),
      payload: { reason: 'password_changed', except_session_id: current.session.id },
    });
    assert.deepEqual(response.json(), { ended: 1 });
    assert.equal((await getSession(current.access_token)).statusCode, 200);
    assert.equal((await getSession(other.access_token)).statusCode, 401);

    const all = await h.inject({
      method: 'POST',
      url: '/v1/users/alice/sessions/end',
      headers: admin(),
      payload: { reason: 'password_changed' },
    });
    assert.deepEqual(all.json(), { ended: 1 });
    assert.equal((await getSession(current.access_token)).statusCode, 401);
    const reasons = (await h.tessera.events({ type: 'session.ended' })).events.map((e) => e.reason);
    assert.deepEqual(reasons, ['password_changed', 'password_changed']);
  });

  it('refuses a reason outside the list', async () => {
    const response = await h.inject({
      method: 'POST',
      url: '/v1/users/alice/sessions/end',
      headers: admin(),
      payload: { reason: 'refresh_token_reuse' },
    });
    assert.equal(response.statusCode, 400);
    assert.match(response.json().error_description, /^body\/reason must be one of: logout_all, /);
  });

  it('ends every session of one device with reason device_lost', async () => {
    const phone = await h.createSession({ device: { id: 'phone' } });
    const phone2 = await h.createSession({ device: { id: 'phone' } });
    const laptop = await h.createSession({ device: { id: 'laptop' } });
    const response = await h.inject({
      method: 'POST',
      url: '/v1/users/alice/devices/phone/end',
      headers: admin(),
    });
    assert.deepEqual(response.json(), { ended: 2 });
    assert.equal((await getSession(phone.access_token)).statusCode, 401);
    assert.equal((await getSession(phone2.access_token)).statusCode, 401);
    assert.equal((await getSession(laptop.access_token)).statusCode, 200);
    const [event] = (await h.tessera.events({ sessionId: phone.session.id, type: 'session.ended' }))
      .events;
    assert.equal(event?.reason, 'device_lost');
  });

  it('lists the live sessions of a user', async () => {
    const a = await h.createSession();
    await h.createSession({ user_id: 'bob' });
    const response = await h.inject({
      method: 'GET',
      url: '/v1/users/alice/sessions',
      headers: bearer(h.keys['sessions:read']),
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(
      response.json().sessions.map((s: { id: string }) => s.id),
      [a.session.id],
    );
  });
});

describe('DELETE /v1/sessions/:id with a service key', () => {
  it('ends any live session with reason admin, then answers 404', async () => {
    const created = await h.createSession();
    const url = `/v1/sessions/${created.session.id}`;
    const first = await h.inject({ method: 'DELETE', url, headers: admin() });
    assert.equal(first.statusCode, 200);
    assert.deepEqual(first.json(), { ended: 1 });
    assert.equal((await getSession(created.access_token)).statusCode, 401);
    const again = await h.inject({ method: 'DELETE', url, headers: admin() });
    assert.equal(again.statusCode, 404);
    const unknown = await h.inject({
      method: 'DELETE',
      url: '/v1/sessions/nope',
      headers: admin(),
    });
    assert.equal(unknown.statusCode, 404);
    const [event] = (await h.tessera.events({ type: 'session.ended' })).events;
    assert.equal(event?.reason, 'admin');
  });
});

describe('POST /v1/sessions/:id/step-up', () => {
  it('records the new authentication and issues a new pair; the old tokens die', async () => {
    const created = await h.createSession({ auth_methods: ['pwd'] });
    h.clock.advance(600_000);
    const response = await h.inject({
      method: 'POST',
      url: `/v1/sessions/${created.session.id}/step-up`,
      headers: admin(),
      payload: { auth_methods: ['pwd', 'webauthn'] },
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['cache-control'], 'no-store');
    const body = response.json();
    assert.equal(body.session.authenticated_at, '2026-01-01T00:10:00.000Z');
    assert.deepEqual(body.session.auth_methods, ['pwd', 'webauthn']);
    assert.notEqual(body.access_token, created.access_token);
    assert.equal((await getSession(created.access_token)).statusCode, 401);
    const fresh = await h.inject({
      method: 'GET',
      url: '/v1/session?max_auth_age=60',
      headers: bearer(body.access_token),
    });
    assert.equal(fresh.statusCode, 200);
    const oldRefresh = await h.inject({
      method: 'POST',
      url: '/v1/token',
      payload: { grant_type: 'refresh_token', refresh_token: created.refresh_token },
    });
    assert.equal(oldRefresh.statusCode, 400);
  });

  it('answers 404 for an unknown or ended session', async () => {
    const created = await h.createSession();
    await h.tessera.end(created.session.id, 'logout');
    for (const id of [created.session.id, 'unknown']) {
      const response = await h.inject({
        method: 'POST',
        url: `/v1/sessions/${id}/step-up`,
        headers: admin(),
        payload: { auth_methods: ['pwd'] },
      });
      assert.equal(response.statusCode, 404);
    }
  });

  it('requires at least one auth method', async () => {
    const created = await h.createSession();
    const response = await h.inject({
      method: 'POST',
      url: `/v1/sessions/${created.session.id}/step-up`,
      headers: admin(),
      payload: { auth_methods: [] },
    });
    assert.equal(response.statusCode, 400);
    assert.equal(
      response.json().error_description,
      'body/auth_methods must NOT have fewer than 1 items',
    );
  });
});

describe('GET /v1/events', () => {
  const events = (query: string) =>
    h.inject({
      method: 'GET',
      url: `/v1/events${query}`,
      headers: bearer(h.keys['sessions:read']),
    });

  it('filters by user, session and type, in snake_case, with cursor paging', async () => {
    const a = await h.createSession({ device: { id: 'd1' }, ip: '203.0.113.1' });
    await h.createSession({ user_id: 'bob' });
    await h.inject({ method: 'POST', url: '/v1/revoke', payload: { token: a.access_token } });

    const byUser = (await events('?user_id=alice')).json();
    assert.deepEqual(
      byUser.events.map((e: { type: string }) => e.type),
      ['session.created', 'session.ended'],
    );
    assert.deepEqual(byUser.events[0], {
      id: byUser.events[0].id,
      type: 'session.created',
      at: '2026-01-01T00:00:00.000Z',
      session_id: a.session.id,
      user_id: 'alice',
      reason: null,
      device_id: 'd1',
      ip: '203.0.113.1',
      data: { policy: 'medium', auth_methods: [] },
    });
    assert.equal(byUser.next_cursor, null);

    const ended = (await events(`?session_id=${a.session.id}&type=session.ended`)).json();
    assert.equal(ended.events.length, 1);
    assert.equal(ended.events[0].reason, 'logout');

    const page1 = (await events('?limit=2')).json();
    assert.equal(page1.events.length, 2);
    assert.notEqual(page1.next_cursor, null);
    const page2 = (await events(`?limit=2&cursor=${page1.next_cursor}`)).json();
    assert.equal(page2.events.length, 1);
    assert.equal(page2.next_cursor, null);
  });

  it('takes since as an ISO-8601 date-time', async () => {
    await h.createSession();
    h.clock.advance(3_600_000);
    await h.createSession({ user_id: 'bob' });
    const later = (await events('?since=2026-01-01T00:30:00Z')).json();
    assert.deepEqual(
      later.events.map((e: { user_id: string }) => e.user_id),
      ['bob'],
    );
    const offset = (await events('?since=2026-01-01T01:30:00%2B01:00')).json();
    assert.equal(offset.events.length, 1);
  });

  it('refuses a since that is not an ISO-8601 date-time, and a limit out of range', async () => {
    for (const query of [
      '?since=1767225600',
      '?since=2026-13-45T00:00:00Z',
      '?limit=0',
      '?limit=1001',
      '?limit=ten',
      '?type=nope',
      '?colour=red',
    ]) {
      const response = await events(query);
      assert.equal(response.statusCode, 400, query);
      assert.match(response.json().error_description, /^querystring/, query);
    }
  });
});
