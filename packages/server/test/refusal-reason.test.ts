import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { generateToken } from '@tessera/core';
import type { LightMyRequestResponse } from 'fastify';
import { bearer, type CreatedSession, type Harness, startHarness } from './harness.js';

const MIN = 60_000;
let h: Harness;

beforeEach(async () => {
  h = await startHarness({
    engine: {
      refreshGraceSeconds: 30,
      touchIntervalSeconds: 0,
      maxSessionsPerUser: 2,
      // idle 20 min, absolute 30 min: short enough to reach both with a few refreshes
      policies: {
        brief: {
          idleTimeoutSeconds: 1200,
          absoluteTimeoutSeconds: 1800,
          accessTokenTtlSeconds: 300,
        },
      },
    },
  });
});
afterEach(() => h.close());

const getSession = (accessToken: string) =>
  h.inject({ method: 'GET', url: '/v1/session', headers: bearer(accessToken) });
const refresh = (refreshToken: string) =>
  h.inject({
    method: 'POST',
    url: '/v1/token',
    payload: { grant_type: 'refresh_token', refresh_token: refreshToken },
  });
async function endForUser(reason: string) {
  const response = await h.inject({
    method: 'POST',
    url: '/v1/users/alice/sessions/end',
    headers: bearer(h.keys.admin),
    payload: { reason },
  });
  assert.equal(response.statusCode, 200);
}

/** Both credentials of an ended session tell the holder the same reason. */
async function assertReason(created: CreatedSession, reason: string) {
  const access = await getSession(created.access_token);
  assert.equal(access.statusCode, 401);
  assert.equal(access.json().error, 'invalid_token');
  assert.equal(access.json().tessera_reason, reason);
  // RFC 6750 §3: the challenge is unchanged, the reason travels only in the body
  assert.match(String(access.headers['www-authenticate']), /^Bearer error="invalid_token"/);
  assert.doesNotMatch(String(access.headers['www-authenticate']), /tessera_reason/);
  const grant = await refresh(created.refresh_token);
  assert.equal(grant.statusCode, 400);
  assert.equal(grant.json().error, 'invalid_grant');
  assert.equal(grant.json().tessera_reason, reason);
}

/** The parts of an answer that could tell two causes apart. */
function shape(response: LightMyRequestResponse) {
  const { date: _date, ...headers } = response.headers;
  return { status: response.statusCode, headers, body: response.body };
}

describe('tessera_reason: why the holder of a token was refused', () => {
  it('says access_token_expired while the session is alive, so the app refreshes', async () => {
    const created = await h.createSession();
    h.clock.advance(6 * MIN);
    const response = await getSession(created.access_token);
    assert.equal(response.statusCode, 401);
    assert.equal(response.json().tessera_reason, 'access_token_expired');
    assert.equal((await refresh(created.refresh_token)).statusCode, 200);
  });

  it('says idle_timeout after the idle deadline (ASVS 5.0 7.3.1)', async () => {
    const created = await h.createSession({ policy: 'brief' });
    h.clock.advance(21 * MIN);
    await assertReason(created, 'idle_timeout');
  });

  it('says idle_timeout on /v1/token first too, before any access-token use', async () => {
    const created = await h.createSession({ policy: 'brief' });
    h.clock.advance(21 * MIN);
    const grant = await refresh(created.refresh_token);
    assert.equal(grant.json().tessera_reason, 'idle_timeout');
  });

  it('says absolute_timeout after the absolute lifetime, however active (ASVS 5.0 7.3.2)', async () => {
    let tokens: CreatedSession = await h.createSession({ policy: 'brief' });
    for (let i = 0; i < 3; i++) {
      h.clock.advance(10 * MIN);
      const next = await refresh(tokens.refresh_token);
      if (next.statusCode !== 200) break;
      tokens = { ...tokens, ...next.json() };
    }
    h.clock.advance(1 * MIN);
    await assertReason(tokens, 'absolute_timeout');
  });

  it('says logout after a revocation (RFC 7009)', async () => {
    const created = await h.createSession();
    await h.inject({
      method: 'POST',
      url: '/v1/revoke',
      payload: { token: created.refresh_token },
    });
    await assertReason(created, 'logout');
  });

  it('says logout_all when the user ended their other sessions', async () => {
    const other = await h.createSession();
    const current = await h.createSession();
    const ended = await h.inject({
      method: 'DELETE',
      url: '/v1/sessions',
      headers: bearer(current.access_token),
    });
    assert.equal(ended.json().ended, 1);
    await assertReason(other, 'logout_all');
  });

  for (const reason of [
    'password_changed',
    'privilege_changed',
    'account_disabled',
    'admin',
  ] as const) {
    it(`says ${reason} when the backend ended the user's sessions for that reason`, async () => {
      const created = await h.createSession();
      await endForUser(reason);
      await assertReason(created, reason);
    });
  }

  it('says device_lost when the backend ended the device', async () => {
    const created = await h.createSession({ device: { id: 'phone-1' } });
    const response = await h.inject({
      method: 'POST',
      url: '/v1/users/alice/devices/phone-1/end',
      headers: bearer(h.keys.admin),
    });
    assert.equal(response.json().ended, 1);
    await assertReason(created, 'device_lost');
  });

  it('says admin when the backend ended the one session', async () => {
    const created = await h.createSession();
    await h.inject({
      method: 'DELETE',
      url: `/v1/sessions/${created.session.id}`,
      headers: bearer(h.keys.admin),
    });
    await assertReason(created, 'admin');
  });

  it('says refresh_token_reuse to both the thief and the victim (RFC 9700 §4.14.2)', async () => {
    const created = await h.createSession();
    const rotated = (await refresh(created.refresh_token)).json();
    h.clock.advance(31_000);
    const reuse = await refresh(created.refresh_token);
    assert.equal(reuse.json().tessera_reason, 'refresh_token_reuse');
    await assertReason({ ...created, ...rotated }, 'refresh_token_reuse');
  });

  it('says session_limit when a newer sign-in pushed the session out (ASVS 5.0 7.1.2)', async () => {
    const oldest = await h.createSession();
    h.clock.advance(1000);
    await h.createSession();
    h.clock.advance(1000);
    await h.createSession();
    await assertReason(oldest, 'session_limit');
  });

  it('is absent, with one identical answer, for every malformed or unknown access token', async () => {
    const created = await h.createSession();
    await refresh(created.refresh_token); // the first access token is now rotated away
    const live = (await h.createSession()).access_token;
    const causes = [
      'garbage',
      `${created.access_token.slice(0, -1)}${created.access_token.endsWith('A') ? 'B' : 'A'}`, // bad checksum
      `tsa_${'A'.repeat(43)}000000`,
      generateToken('access'), // well-formed, never issued
      created.access_token, // rotated away
      created.refresh_token, // a refresh token where an access token belongs
    ];
    const answers = await Promise.all(causes.map((token) => getSession(token)));
    const first = shape(answers[0] as LightMyRequestResponse);
    assert.equal(first.status, 401);
    assert.equal(JSON.parse(first.body).tessera_reason, undefined);
    for (const answer of answers) assert.deepEqual(shape(answer), first);
    // sanity: a live token still works, so the refusals above are about the token alone
    assert.equal((await getSession(live)).statusCode, 200);
  });

  it('is absent, with one identical answer, for every malformed or unknown refresh token', async () => {
    const created = await h.createSession();
    const gone = await h.createSession();
    await h.store.endSession(gone.session.id, 'logout', h.clock.now());
    h.clock.advance(2 * 3600_000);
    await h.tessera.purgeExpired(); // the ended session and its token hashes are gone
    const causes = [
      'garbage',
      `tsr_${'A'.repeat(43)}000000`,
      generateToken('refresh'), // well-formed, never issued
      gone.refresh_token, // purged
      created.access_token, // an access token where a refresh token belongs
    ];
    const answers = await Promise.all(causes.map((token) => refresh(token)));
    const first = shape(answers[0] as LightMyRequestResponse);
    assert.equal(first.status, 400);
    assert.deepEqual(Object.keys(JSON.parse(first.body)).sort(), ['error', 'error_description']);
    for (const answer of answers) assert.deepEqual(shape(answer), first);
  });

  it('never appears in introspection: inactive is exactly {"active": false} (RFC 7662 §2.2)', async () => {
    const created = await h.createSession();
    await endForUser('password_changed');
    for (const token of [created.access_token, created.refresh_token]) {
      const response = await h.inject({
        method: 'POST',
        url: '/v1/introspect',
        headers: bearer(h.keys.introspect),
        payload: { token },
      });
      assert.deepEqual(response.json(), { active: false });
    }
  });

  it('is listed in the OpenAPI error schema', async () => {
    const doc = (await h.inject({ method: 'GET', url: '/openapi.json' })).json();
    const text = JSON.stringify(doc);
    assert.match(text, /"tessera_reason"/);
    assert.match(text, /access_token_expired/);
  });
});
