import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { bearer, type Harness, startHarness } from './harness.js';

const SEC = 1000;
let h: Harness;

beforeEach(async () => {
  h = await startHarness({ engine: { refreshGraceSeconds: 30, touchIntervalSeconds: 0 } });
});
afterEach(() => h.close());

const refresh = (refreshToken: unknown, extra: Record<string, unknown> = {}) =>
  h.inject({
    method: 'POST',
    url: '/v1/token',
    payload: { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra },
  });

const getSession = (accessToken: string) =>
  h.inject({ method: 'GET', url: '/v1/session', headers: bearer(accessToken) });

describe('POST /v1/token (refresh, RFC 6749)', () => {
  it('rotates the refresh token and answers the RFC 6749 §5.1 shape with no-store', async () => {
    const created = await h.createSession();
    const response = await refresh(created.refresh_token);
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.deepEqual(Object.keys(body).sort(), [
      'access_token',
      'expires_in',
      'refresh_token',
      'token_type',
    ]);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 300);
    assert.match(body.access_token, /^tsa_/);
    assert.match(body.refresh_token, /^tsr_/);
    assert.notEqual(body.refresh_token, created.refresh_token);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.equal(response.headers['pragma'], 'no-cache');
    // the old access token died with the rotation; the new one works
    assert.equal((await getSession(created.access_token)).statusCode, 401);
    assert.equal((await getSession(body.access_token)).statusCode, 200);
  });

  it('accepts an application/x-www-form-urlencoded body as RFC 6749 defines it', async () => {
    const created = await h.createSession();
    const response = await h.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=refresh_token&refresh_token=${created.refresh_token}&client_id=app`,
    });
    assert.equal(response.statusCode, 200);
    assert.match(response.json().refresh_token, /^tsr_/);
  });

  it('returns the same pair when the parent token comes back within the grace window', async () => {
    const created = await h.createSession();
    const first = (await refresh(created.refresh_token)).json();
    h.clock.advance(30 * SEC - 1);
    const replay = await refresh(created.refresh_token);
    assert.equal(replay.statusCode, 200);
    assert.deepEqual(replay.json(), { ...first, expires_in: replay.json().expires_in });
    assert.equal(replay.json().access_token, first.access_token);
    assert.equal(replay.json().refresh_token, first.refresh_token);
    assert.equal((await getSession(first.access_token)).statusCode, 200);
  });

  it('ends the session when a rotated token comes back after the grace window (reuse)', async () => {
    const created = await h.createSession();
    const first = (await refresh(created.refresh_token)).json();
    h.clock.advance(30 * SEC);
    const reuse = await refresh(created.refresh_token);
    assert.equal(reuse.statusCode, 400);
    assert.deepEqual(reuse.json(), {
      error: 'invalid_grant',
      error_description: 'the refresh token is invalid, expired or revoked',
      tessera_reason: 'refresh_token_reuse',
    });
    // both tokens of the thief's and the victim's branch are dead
    assert.equal((await getSession(first.access_token)).statusCode, 401);
    assert.equal((await refresh(first.refresh_token)).statusCode, 400);
    const events = await h.tessera.events({ sessionId: created.session.id });
    assert.ok(events.events.some((e) => e.type === 'session.refresh_reuse'));
    assert.ok(events.events.some((e) => e.reason === 'refresh_token_reuse'));
  });

  it('gives N concurrent refreshes with one token the same pair and keeps the session', async () => {
    const created = await h.createSession();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => refresh(created.refresh_token)),
    );
    for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body);
    const pairs = new Set(answers.map((a) => `${a.json().access_token} ${a.json().refresh_token}`));
    assert.equal(pairs.size, 1, 'every racer holds the same live pair');
    const [pair] = answers.map((a) => a.json());
    assert.equal((await getSession(pair.access_token)).statusCode, 200, 'session not ended');
    // exactly one live refresh token: the successor introspects active, the parent does not
    const introspect = (token: string) =>
      h.inject({
        method: 'POST',
        url: '/v1/introspect',
        headers: bearer(h.keys.introspect),
        payload: { token },
      });
    assert.equal((await introspect(pair.refresh_token)).json().active, true);
    assert.deepEqual((await introspect(created.refresh_token)).json(), { active: false });
    assert.equal((await h.tessera.listForUser('alice')).length, 1);
  });

  it('fails every engine refusal with invalid_grant; only a token of the session learns why', async () => {
    const created = await h.createSession();
    const garbage = await refresh('tsr_nope');
    const accessInstead = await refresh(created.access_token);
    await h.inject({ method: 'POST', url: '/v1/revoke', payload: { token: created.access_token } });
    const ended = await refresh(created.refresh_token);
    for (const answer of [garbage, accessInstead, ended]) {
      assert.equal(answer.statusCode, 400);
      assert.equal(answer.json().error, 'invalid_grant');
    }
    // a stranger's tokens read the same; the ended session's own token gets tessera_reason
    assert.equal(garbage.body, accessInstead.body);
    assert.deepEqual(ended.json(), { ...garbage.json(), tessera_reason: 'logout' });
  });

  it('answers unsupported_grant_type for any other grant', async () => {
    const response = await h.inject({
      method: 'POST',
      url: '/v1/token',
      payload: { grant_type: 'password' },
    });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error, 'unsupported_grant_type');
  });

  it('answers invalid_request when a parameter is missing or of the wrong type', async () => {
    const noToken = await h.inject({
      method: 'POST',
      url: '/v1/token',
      payload: { grant_type: 'refresh_token' },
    });
    assert.deepEqual(noToken.json(), {
      error: 'invalid_request',
      error_description: 'body/refresh_token is required',
    });
    const noGrant = await h.inject({ method: 'POST', url: '/v1/token', payload: {} });
    assert.deepEqual(noGrant.json(), {
      error: 'invalid_request',
      error_description: 'body/grant_type is required',
    });
    const wrongType = await refresh(42);
    assert.equal(wrongType.statusCode, 400);
    assert.equal(wrongType.json().error_description, 'body/refresh_token must be string');
    const repeated = await h.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=refresh_token&refresh_token=a&refresh_token=b',
    });
    assert.equal(repeated.statusCode, 400);
    assert.equal(repeated.json().error_description, 'body/refresh_token must be string');
  });
});

describe('POST /v1/revoke (logout, RFC 7009)', () => {
  it('kills both tokens server-side when given the refresh token', async () => {
    const created = await h.createSession();
    const response = await h.inject({
      method: 'POST',
      url: '/v1/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${created.refresh_token}&token_type_hint=refresh_token`,
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.body, '');
    assert.equal((await getSession(created.access_token)).statusCode, 401);
    assert.equal((await refresh(created.refresh_token)).statusCode, 400);
    const [ended] = (await h.tessera.events({ type: 'session.ended' })).events;
    assert.equal(ended?.reason, 'logout');
  });

  it('kills both tokens server-side when given the access token', async () => {
    const created = await h.createSession();
    const response = await h.inject({
      method: 'POST',
      url: '/v1/revoke',
      payload: { token: created.access_token, token_type_hint: 'access_token' },
    });
    assert.equal(response.statusCode, 200);
    assert.equal((await getSession(created.access_token)).statusCode, 401);
    assert.equal((await refresh(created.refresh_token)).statusCode, 400);
  });

  it('answers 200 with an empty body for unknown, invalid and already revoked tokens', async () => {
    const created = await h.createSession();
    for (const token of [
      'nonsense',
      'tsa_x',
      h.keys.admin,
      created.access_token,
      created.access_token,
    ]) {
      const response = await h.inject({ method: 'POST', url: '/v1/revoke', payload: { token } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.body, '');
    }
    // a service key is not revoked through this endpoint
    assert.notEqual(await h.tessera.authenticateServiceKey(h.keys.admin), null);
  });

  it('answers invalid_request without the token parameter', async () => {
    const response = await h.inject({ method: 'POST', url: '/v1/revoke', payload: {} });
    assert.equal(response.statusCode, 400);
    assert.deepEqual(response.json(), {
      error: 'invalid_request',
      error_description: 'body/token is required',
    });
  });
});

describe('POST /v1/introspect (RFC 7662)', () => {
  const introspect = (token: unknown, key = h.keys.introspect) =>
    h.inject({ method: 'POST', url: '/v1/introspect', headers: bearer(key), payload: { token } });

  it('describes an active access token with its claims in epoch seconds', async () => {
    const created = await h.createSession({ policy: 'high' });
    const t0 = Math.floor(h.clock.now() / 1000);
    h.clock.advance(10 * SEC);
    const response = await introspect(created.access_token);
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), {
      active: true,
      sub: 'alice',
      sid: created.session.id,
      exp: t0 + 300,
      iat: t0,
      auth_time: t0,
      policy: 'high',
      token_type: 'Bearer',
    });
  });

  it('counts as activity: it slides the idle deadline', async () => {
    const created = await h.createSession();
    h.clock.advance(60 * SEC);
    await introspect(created.access_token);
    const [session] = await h.tessera.listForUser('alice');
    assert.equal(session?.lastActiveAt, h.clock.now());
  });

  it('describes a current refresh token without rotating it', async () => {
    const created = await h.createSession();
    const response = await introspect(created.refresh_token);
    assert.equal(response.json().active, true);
    assert.equal(response.json().token_type, 'refresh_token');
    assert.equal(response.json().sid, created.session.id);
    // not rotated: the same refresh token still refreshes
    assert.equal((await refresh(created.refresh_token)).statusCode, 200);
  });

  it('answers exactly {"active": false} for anything else', async () => {
    const created = await h.createSession();
    const rotated = (await refresh(created.refresh_token)).json();
    await h.inject({ method: 'POST', url: '/v1/revoke', payload: { token: rotated.access_token } });
    for (const token of [
      'garbage',
      h.keys.admin,
      created.access_token,
      created.refresh_token,
      rotated.access_token,
      rotated.refresh_token,
    ]) {
      const response = await introspect(token);
      assert.equal(response.statusCode, 200);
      assert.equal(response.body, '{"active":false}');
    }
  });

  it('answers inactive for an access token past its expiry', async () => {
    const created = await h.createSession();
    h.clock.advance(300 * SEC);
    assert.equal((await introspect(created.access_token)).body, '{"active":false}');
  });

  it('accepts a form body with token_type_hint', async () => {
    const created = await h.createSession();
    const response = await h.inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: {
        ...bearer(h.keys.admin),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `token=${created.access_token}&token_type_hint=refresh_token`,
    });
    assert.equal(response.json().active, true);
  });
});
