import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSessionGuard, inProcessAuthority } from '../src/index.js';
import { type EngineFixture, engineFixture } from './fixtures.js';
import { FRAMEWORKS, type FrameworkApp } from './framework-apps.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

for (const build of FRAMEWORKS) {
  describe(`requireSession with an in-process engine (${build.name.replace('App', '')} app)`, () => {
    let fx: EngineFixture;
    let app: FrameworkApp;
    before(async () => {
      fx = engineFixture();
      app = await build(
        createSessionGuard({ authority: inProcessAuthority(fx.tessera), clock: fx.clock }),
      );
    });
    after(() => app.close());

    test('a request without a token gets 401 and a bare Bearer challenge (RFC 6750 §3.1)', async () => {
      const answer = await app.call('GET', '/me');
      assert.equal(answer.status, 401);
      assert.equal(answer.header('www-authenticate'), 'Bearer realm="tessera"');
    });

    test('a live access token reaches the route with its session', async () => {
      const { accessToken, session } = await fx.tessera.create({ userId: 'alice' });
      const answer = await app.call('GET', '/me', bearer(accessToken));
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json, { user: 'alice', session_id: session.id, mode: 'bearer' });
    });

    test('garbage and unknown tokens get 401 invalid_token and the same body, without a reason', async () => {
      const garbage = await app.call('GET', '/me', bearer('tsa_nope'));
      const unknown = await app.call(
        'GET',
        '/me',
        bearer((await fx.tessera.create({ userId: 'x' })).accessToken.replace(/.$/, 'Z')),
      );
      for (const answer of [garbage, unknown]) {
        assert.equal(answer.status, 401);
        assert.match(
          String(answer.header('www-authenticate')),
          /^Bearer realm="tessera", error="invalid_token"/,
        );
        assert.equal(answer.json.tessera_reason, undefined);
      }
    });

    test('an expired access token gets 401 invalid_token with tessera_reason access_token_expired, so the app refreshes', async () => {
      const { accessToken } = await fx.tessera.create({ userId: 'bob' });
      fx.clock.advance(61_000);
      const answer = await app.call('GET', '/me', bearer(accessToken));
      assert.equal(answer.status, 401);
      assert.equal(answer.json.error, 'invalid_token');
      assert.equal(answer.json.tessera_reason, 'access_token_expired');
    });

    test('a revoked session is refused at once, with tessera_reason logout', async () => {
      const { accessToken } = await fx.tessera.create({ userId: 'carol' });
      assert.equal((await app.call('GET', '/me', bearer(accessToken))).status, 200);
      await fx.tessera.revoke(accessToken);
      const answer = await app.call('GET', '/me', bearer(accessToken));
      assert.equal(answer.status, 401);
      assert.equal(answer.json.tessera_reason, 'logout');
    });

    test('a refresh token is never accepted as an access token', async () => {
      const { refreshToken } = await fx.tessera.create({ userId: 'dave' });
      assert.equal((await app.call('GET', '/me', bearer(refreshToken))).status, 401);
    });

    test('a token in the query string is refused with 400 invalid_request (RFC 6750 §2.3, §5.3)', async () => {
      const { accessToken } = await fx.tessera.create({ userId: 'erin' });
      const answer = await app.call('GET', `/me?access_token=${accessToken}`);
      assert.equal(answer.status, 400);
      assert.equal(answer.json.error, 'invalid_request');
    });

    test('two credentials in Authorization are refused with 400 invalid_request', async () => {
      const { accessToken } = await fx.tessera.create({ userId: 'erin' });
      const answer = await app.call('GET', '/me', {
        authorization: `Bearer ${accessToken}, Bearer ${accessToken}`,
      });
      assert.equal(answer.status, 400);
    });

    test('a route that needs the high tier refuses a session of another tier with 403 insufficient_scope', async () => {
      const web = await fx.tessera.create({ userId: 'frank' });
      const high = await fx.tessera.create({ userId: 'frank', policy: 'high' });
      const refused = await app.call('GET', '/high', bearer(web.accessToken));
      assert.equal(refused.status, 403);
      assert.match(String(refused.header('www-authenticate')), /error="insufficient_scope"/);
      assert.equal((await app.call('GET', '/high', bearer(high.accessToken))).status, 200);
    });

    test('maxAuthAgeSeconds answers the RFC 9470 challenge once the authentication is too old, and passes after step-up', async () => {
      const created = await fx.tessera.create({ userId: 'gina' });
      assert.equal((await app.call('GET', '/fresh', bearer(created.accessToken))).status, 200);
      // Refreshing keeps the session alive but not the authentication fresh.
      fx.clock.advance(290_000);
      const refreshed = await fx.tessera.refresh(created.refreshToken);
      assert.ok(refreshed.ok);
      fx.clock.advance(20_000);
      const answer = await app.call('GET', '/fresh', bearer(refreshed.accessToken));
      assert.equal(answer.status, 401);
      assert.equal(answer.json.error, 'insufficient_user_authentication');
      assert.match(
        String(answer.header('www-authenticate')),
        /error="insufficient_user_authentication".*max_age="300"/,
      );
      const renewed = await fx.tessera.stepUp(created.session.id, { authMethods: ['pwd'] });
      assert.ok(renewed.ok);
      assert.equal((await app.call('GET', '/fresh', bearer(renewed.accessToken))).status, 200);
    });

    test('a store that does not answer gives 503, never a pass (fail closed)', async () => {
      const { accessToken } = await fx.tessera.create({ userId: 'hank' });
      fx.down.value = true;
      try {
        const answer = await app.call('GET', '/me', bearer(accessToken));
        assert.equal(answer.status, 503);
        assert.equal(answer.json.error, 'temporarily_unavailable');
      } finally {
        fx.down.value = false;
      }
    });
  });
}
