import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createCookieSessions,
  inProcessAuthority,
  remoteAuthority,
  type SessionAuthority,
} from '../src/index.js';
import { COOKIE_APPS } from './cookie-apps.js';
import { CookieJar } from './cookie-jar.js';
import { CSRF_SECRET } from './fixtures.js';
import type { FrameworkApp } from './framework-apps.js';
import { type ServiceFixture, startService } from './service-fixture.js';

/*
 * The cookie-mode rules once per framework adapter and per authority (in-process engine, and
 * the service over HTTP). The full rule set runs on Fastify in cookie-mode-fastify.test.ts;
 * this proves each adapter sets, reads and clears the cookies and enforces CSRF the same way.
 */
const AUTHORITIES: Record<string, (svc: ServiceFixture) => SessionAuthority> = {
  'in-process': (svc) => inProcessAuthority(svc.tessera),
  remote: (svc) =>
    remoteAuthority({ baseUrl: svc.baseUrl, serviceKey: svc.serviceKey, clock: svc.clock }),
};

for (const [authorityName, makeAuthority] of Object.entries(AUTHORITIES)) {
  for (const build of COOKIE_APPS) {
    describe(`cookie mode, ${authorityName} authority, ${build.name.replace('CookieApp', '')} adapter`, () => {
      let svc: ServiceFixture;
      let app: FrameworkApp;
      before(async () => {
        svc = await startService();
        app = await build(
          createCookieSessions({
            authority: makeAuthority(svc),
            csrfSecret: CSRF_SECRET,
            clock: svc.clock,
          }),
        );
      });
      after(async () => {
        await app.close();
        await svc.close();
      });

      async function call(
        jar: CookieJar,
        method: string,
        path: string,
        headers: Record<string, string> = {},
      ) {
        const answer = await app.call(method, path, { cookie: jar.header(), ...headers });
        jar.store(answer.setCookies);
        return answer;
      }

      test('sign-in, a GET, CSRF on POST, a transparent refresh, step-up and a server-side sign-out', async () => {
        const jar = new CookieJar();
        const signIn = await call(jar, 'POST', '/sign-in?user=alice');
        assert.equal(signIn.status, 200);
        assert.match(String(jar.get('__Host-tessera')), /^tsa_\w+$/);
        assert.match(String(jar.get('__Host-tessera-refresh')), /^tsr_\w+$/);
        const csrf = signIn.json.csrf_token as string;
        assert.equal(jar.get('__Host-tessera-csrf'), csrf);
        assert.equal((await call(jar, 'GET', '/me')).status, 200);
        assert.equal((await call(jar, 'POST', '/notes')).status, 403, 'no CSRF token');
        assert.equal(
          (
            await call(jar, 'POST', '/notes', {
              'x-csrf-token': csrf,
              'sec-fetch-site': 'cross-site',
            })
          ).status,
          403,
        );
        assert.equal((await call(jar, 'POST', '/notes', { 'x-csrf-token': csrf })).status, 200);

        const beforeRefresh = jar.get('__Host-tessera');
        svc.clock.advance(61_000);
        const refreshed = await call(jar, 'GET', '/me');
        assert.equal(refreshed.status, 200);
        assert.notEqual(jar.get('__Host-tessera'), beforeRefresh);
        assert.equal(refreshed.json.csrf_token, csrf, 'the CSRF token survives a refresh');

        const stepped = await call(jar, 'POST', '/step-up', { 'x-csrf-token': csrf });
        assert.equal(stepped.status, 200);
        const newCsrf = stepped.json.csrf_token as string;
        assert.notEqual(newCsrf, csrf);

        const stolen = jar.clone();
        assert.equal(
          (await call(jar, 'POST', '/sign-out', { 'x-csrf-token': newCsrf })).status,
          200,
        );
        assert.equal(jar.cookies.size, 0, 'both cookies cleared');
        svc.clock.advance(6_000); // past any introspection cache
        assert.equal((await call(stolen, 'GET', '/me')).status, 401);
        assert.equal(await svc.tessera.getLiveSession(signIn.json.session_id as string), null);
      });

      test('a planted session cookie is not adopted at sign-in', async () => {
        const planted = new CookieJar();
        const first = await call(planted, 'POST', '/sign-in?user=mallory');
        const victim = planted.clone();
        const second = await call(victim, 'POST', '/sign-in?user=alice');
        assert.notEqual(second.json.session_id, first.json.session_id);
        assert.equal(await svc.tessera.getLiveSession(first.json.session_id as string), null);
      });

      test('a store that is down gives 503, never a pass', async () => {
        const jar = new CookieJar();
        await call(jar, 'POST', '/sign-in?user=bob');
        svc.clock.advance(61_000); // force a store round trip (no cache can answer)
        svc.down.value = true;
        try {
          assert.equal((await call(jar, 'GET', '/me')).status, 503);
        } finally {
          svc.down.value = false;
        }
      });
    });
  }
}
