import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSessionGuard, remoteAuthority } from '../src/index.js';
import { FRAMEWORKS, type FrameworkApp } from './framework-apps.js';
import { type ServiceFixture, startService } from './service-fixture.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('requireSession through the service (remote introspection)', () => {
  let svc: ServiceFixture;
  const apps: FrameworkApp[] = [];
  before(async () => {
    svc = await startService();
    const authority = remoteAuthority({
      baseUrl: svc.baseUrl,
      serviceKey: svc.serviceKey,
      clock: svc.clock,
      fetch: svc.fetch,
    });
    const guard = createSessionGuard({ authority, clock: svc.clock });
    for (const build of FRAMEWORKS) apps.push(await build(guard));
  });
  after(async () => {
    for (const app of apps) await app.close();
    await svc.close();
  });

  test('a live token passes on every framework and the view comes from introspection', async () => {
    const { accessToken, session } = await svc.tessera.create({ userId: 'alice', policy: 'high' });
    for (const app of apps) {
      const answer = await app.call('GET', '/high', bearer(accessToken));
      assert.equal(answer.status, 200, app.name);
      assert.equal(answer.json.session_id, session.id);
    }
  });

  test('positive answers are reused for at most cacheTtlSeconds: one introspection for a burst, and a revocation elsewhere is refused once the TTL is over', async () => {
    const { accessToken } = await svc.tessera.create({ userId: 'bob' });
    const [app] = apps;
    const before = svc.calls.get('/v1/introspect') ?? 0;
    for (let i = 0; i < 10; i++)
      assert.equal((await app!.call('GET', '/me', bearer(accessToken))).status, 200);
    assert.equal((svc.calls.get('/v1/introspect') ?? 0) - before, 1);
    await svc.tessera.revoke(accessToken); // on the service, not through this backend
    assert.equal(
      (await app!.call('GET', '/me', bearer(accessToken))).status,
      200,
      'within the 5 s bound',
    );
    svc.clock.advance(5_000);
    assert.equal((await app!.call('GET', '/me', bearer(accessToken))).status, 401);
  });

  test('strict routes skip the cache: a revocation is seen at once', async () => {
    const { accessToken } = await svc.tessera.create({ userId: 'carol' });
    const [app] = apps;
    assert.equal((await app!.call('GET', '/me', bearer(accessToken))).status, 200); // cached now
    await svc.tessera.revoke(accessToken);
    assert.equal((await app!.call('GET', '/strict', bearer(accessToken))).status, 401);
  });

  test('the cache never outlives the access token', async () => {
    const { accessToken } = await svc.tessera.create({ userId: 'dave' });
    const [app] = apps;
    svc.clock.advance(58_000);
    assert.equal((await app!.call('GET', '/me', bearer(accessToken))).status, 200);
    svc.clock.advance(2_000);
    assert.equal((await app!.call('GET', '/me', bearer(accessToken))).status, 401);
  });

  test('a revocation through this backend drops the cached answer at once', async () => {
    const authority = remoteAuthority({
      baseUrl: svc.baseUrl,
      serviceKey: svc.serviceKey,
      clock: svc.clock,
    });
    const { accessToken } = await svc.tessera.create({ userId: 'erin' });
    assert.ok((await authority.validate(accessToken)).ok);
    assert.equal(authority.cache.size, 1);
    await authority.revoke(accessToken);
    assert.equal(authority.cache.size, 0);
    assert.equal((await authority.validate(accessToken)).ok, false);
  });

  test('a store that is down behind the service gives 503, not a pass', async () => {
    const { accessToken } = await svc.tessera.create({ userId: 'frank' });
    svc.down.value = true;
    try {
      for (const app of apps)
        assert.equal((await app.call('GET', '/strict', bearer(accessToken))).status, 503, app.name);
    } finally {
      svc.down.value = false;
    }
  });

  test('a refused service key gives 503 (a configuration fault), never a pass', async () => {
    const { key } = await svc.tessera.createServiceKey({
      name: 'no-introspect',
      scopes: ['sessions:read'],
    });
    const authority = remoteAuthority({ baseUrl: svc.baseUrl, serviceKey: key, clock: svc.clock });
    const guard = createSessionGuard({ authority, clock: svc.clock });
    const app = await FRAMEWORKS[1]!(guard);
    const { accessToken } = await svc.tessera.create({ userId: 'gina' });
    assert.equal((await app.call('GET', '/me', bearer(accessToken))).status, 503);
    await app.close();
  });

  test('an unreachable service gives 503 within the request timeout', async () => {
    const authority = remoteAuthority({
      baseUrl: 'http://127.0.0.1:1',
      serviceKey: svc.serviceKey,
      requestTimeoutMs: 500,
    });
    const app = await FRAMEWORKS[2]!(createSessionGuard({ authority }));
    const { accessToken } = await svc.tessera.create({ userId: 'hank' });
    assert.equal((await app.call('GET', '/me', bearer(accessToken))).status, 503);
  });

  test('a cache TTL above 30 s or a malformed service key is refused at start-up', () => {
    assert.throws(
      () =>
        remoteAuthority({ baseUrl: svc.baseUrl, serviceKey: svc.serviceKey, cacheTtlSeconds: 31 }),
      /0 to 30/,
    );
    assert.throws(() => remoteAuthority({ baseUrl: svc.baseUrl, serviceKey: 'secret' }), /tsk_/);
  });
});
