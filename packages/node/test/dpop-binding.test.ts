import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDpopVerifier } from '@tessera/core';
import { createSessionGuard, inProcessAuthority, remoteAuthority } from '../src/index.js';
import { dpopKey, type TestDpopKey } from './dpop-keys.js';
import { type EngineFixture, engineFixture } from './fixtures.js';
import { FRAMEWORKS, type FrameworkApp } from './framework-apps.js';
import { type ServiceFixture, startService } from './service-fixture.js';

for (const build of FRAMEWORKS) {
  describe(`requireSession with DPoP-bound sessions (${build.name.replace('App', '')} app, RFC 9449)`, () => {
    let fx: EngineFixture;
    let app: FrameworkApp;
    let key: TestDpopKey;
    let other: TestDpopKey;
    before(async () => {
      fx = engineFixture();
      const dpop = createDpopVerifier({ store: fx.tessera.store, clock: fx.clock });
      app = await build(
        createSessionGuard({ authority: inProcessAuthority(fx.tessera), dpop, clock: fx.clock }),
      );
      key = await dpopKey();
      other = await dpopKey();
    });
    after(() => app.close());

    const now = () => Math.floor(fx.clock.now() / 1000);
    const bound = () => fx.tessera.create({ userId: 'alice', dpopJkt: key.jkt });
    const dpopHeaders = async (token: string, signer = key, path = '/me', method = 'GET') => ({
      authorization: `DPoP ${token}`,
      dpop: await signer.proof({
        method,
        url: `${app.origin}${path}`,
        accessToken: token,
        iatSeconds: now(),
      }),
    });

    test('a bound token with a fresh proof by its key passes, as mode dpop', async () => {
      const { accessToken } = await bound();
      const answer = await app.call('GET', '/me', await dpopHeaders(accessToken));
      assert.equal(answer.status, 200);
      assert.equal(answer.json.mode, 'dpop');
    });

    test('a stolen bound token sent as Bearer is refused with a DPoP challenge (RFC 9449 §7.2)', async () => {
      const { accessToken } = await bound();
      const answer = await app.call('GET', '/me', { authorization: `Bearer ${accessToken}` });
      assert.equal(answer.status, 401);
      assert.match(
        String(answer.header('www-authenticate')),
        /^DPoP realm="tessera", algs="[^"]+", error="invalid_token"/,
      );
    });

    test('a bound token with a proof by another key is refused', async () => {
      const { accessToken } = await bound();
      const answer = await app.call('GET', '/me', await dpopHeaders(accessToken, other));
      assert.equal(answer.status, 401);
      assert.equal(answer.json.error, 'invalid_token');
    });

    test('a replayed proof is refused with invalid_dpop_proof (jti replay cache in the store)', async () => {
      const { accessToken } = await bound();
      const headers = await dpopHeaders(accessToken);
      assert.equal((await app.call('GET', '/me', headers)).status, 200);
      const replay = await app.call('GET', '/me', headers);
      assert.equal(replay.status, 401);
      assert.equal(replay.json.error, 'invalid_dpop_proof');
    });

    test('a proof for another URL or method, without ath, or too old is refused', async () => {
      const { accessToken } = await bound();
      const otherUrl = await dpopHeaders(accessToken, key, '/high');
      assert.equal((await app.call('GET', '/me', otherUrl)).status, 401);
      const otherMethod = await dpopHeaders(accessToken, key, '/me', 'POST');
      assert.equal((await app.call('GET', '/me', otherMethod)).status, 401);
      const noAth = {
        authorization: `DPoP ${accessToken}`,
        dpop: await key.proof({ method: 'GET', url: `${app.origin}/me`, iatSeconds: now() }),
      };
      assert.equal((await app.call('GET', '/me', noAth)).status, 401);
      const old = {
        authorization: `DPoP ${accessToken}`,
        dpop: await key.proof({
          method: 'GET',
          url: `${app.origin}/me`,
          accessToken,
          iatSeconds: now() - 600,
        }),
      };
      const answer = await app.call('GET', '/me', old);
      assert.equal(answer.status, 401);
      assert.equal(answer.json.error, 'invalid_dpop_proof');
    });

    test('a DPoP request without a proof is refused', async () => {
      const { accessToken } = await bound();
      const answer = await app.call('GET', '/me', { authorization: `DPoP ${accessToken}` });
      assert.equal(answer.status, 401);
      assert.equal(answer.json.error, 'invalid_dpop_proof');
    });

    test('an unbound token sent with the DPoP scheme is refused', async () => {
      const { accessToken } = await fx.tessera.create({ userId: 'bob' });
      const answer = await app.call('GET', '/me', await dpopHeaders(accessToken));
      assert.equal(answer.status, 401);
    });
  });
}

describe('requireSession with DPoP-bound sessions through the service (proof forwarded to introspection)', () => {
  let svc: ServiceFixture;
  let app: FrameworkApp;
  let key: TestDpopKey;
  let other: TestDpopKey;
  before(async () => {
    svc = await startService();
    const authority = remoteAuthority({
      baseUrl: svc.baseUrl,
      serviceKey: svc.serviceKey,
      clock: svc.clock,
      fetch: svc.fetch,
    });
    app = await FRAMEWORKS[1]!(createSessionGuard({ authority, clock: svc.clock }));
    key = await dpopKey();
    other = await dpopKey();
  });
  after(async () => {
    await app.close();
    await svc.close();
  });
  const now = () => Math.floor(svc.clock.now() / 1000);
  const headers = async (token: string, signer: TestDpopKey) => ({
    authorization: `DPoP ${token}`,
    dpop: await signer.proof({
      method: 'GET',
      url: `${app.origin}/me`,
      accessToken: token,
      iatSeconds: now(),
    }),
  });

  test('a proof by the bound key passes; another key, a replay and Bearer use are refused; proofs are never served from the cache', async () => {
    const { accessToken } = await svc.tessera.create({ userId: 'alice', dpopJkt: key.jkt });
    const good = await headers(accessToken, key);
    const before = svc.calls.get('/v1/introspect') ?? 0;
    assert.equal((await app.call('GET', '/me', good)).status, 200);
    assert.equal((await app.call('GET', '/me', await headers(accessToken, key))).status, 200);
    assert.equal((svc.calls.get('/v1/introspect') ?? 0) - before, 2, 'one introspection per proof');
    const replay = await app.call('GET', '/me', good);
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error, 'invalid_dpop_proof');
    assert.equal((await app.call('GET', '/me', await headers(accessToken, other))).status, 401);
    const asBearer = await app.call('GET', '/me', { authorization: `Bearer ${accessToken}` });
    assert.equal(asBearer.status, 401);
    assert.match(String(asBearer.header('www-authenticate')), /^DPoP /);
  });
});
