import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { fastifyCookieSessions, fastifySessionOf } from '../src/fastify.js';
import {
  type CookieSessionsOptions,
  createCookieSessions,
  inProcessAuthority,
} from '../src/index.js';
import { CookieJar, parseSetCookieLine } from './cookie-jar.js';
import { CSRF_SECRET, type EngineFixture, engineFixture } from './fixtures.js';

function buildApp(fx: EngineFixture, extra: Partial<CookieSessionsOptions> = {}): FastifyInstance {
  const cookies = fastifyCookieSessions(
    createCookieSessions({
      authority: inProcessAuthority(fx.tessera),
      csrfSecret: CSRF_SECRET,
      clock: fx.clock,
      ...extra,
    }),
  );
  const app = Fastify();
  app.post<{ Body: { user: string } }>('/sign-in', async (request, reply) => {
    const issued = await cookies.signIn(request, reply, {
      userId: request.body.user,
      authMethods: ['pwd'],
    });
    if (issued === null) return reply;
    return { csrf_token: issued.csrfToken, session_id: issued.session.sessionId };
  });
  app.get('/me', { preHandler: cookies.requireSession() }, async (request) => {
    const { session, csrfToken } = fastifySessionOf(request)!;
    return { user: session.userId, session_id: session.sessionId, csrf_token: csrfToken };
  });
  app.post('/notes', { preHandler: cookies.requireSession() }, async () => ({ saved: true }));
  app.post(
    '/email',
    { preHandler: cookies.requireSession({ maxAuthAgeSeconds: 300 }) },
    async () => ({
      changed: true,
    }),
  );
  app.post('/step-up', { preHandler: cookies.requireSession() }, async (request, reply) => {
    const issued = await cookies.stepUp(request, reply, ['pwd']);
    return { csrf_token: issued?.csrfToken };
  });
  app.post('/sign-out', async (request, reply) => {
    if (await cookies.signOut(request, reply)) return { signed_out: true };
    return reply;
  });
  return app;
}

async function signIn(app: FastifyInstance, jar = new CookieJar(), user = 'alice') {
  const response = await app.inject({
    method: 'POST',
    url: '/sign-in',
    headers: { cookie: jar.header() },
    payload: { user },
  });
  assert.equal(response.statusCode, 200);
  jar.store(response.headers['set-cookie']);
  return {
    jar,
    csrf: response.json().csrf_token as string,
    sessionId: response.json().session_id as string,
    response,
  };
}

const send = (
  app: FastifyInstance,
  jar: CookieJar,
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string> = {},
) =>
  app.inject({ method, url, headers: { cookie: jar.header(), ...headers } }).then((response) => {
    jar.store(response.headers['set-cookie']);
    return response;
  });

describe('cookie mode with Fastify', () => {
  test('sign-in sets a __Host- session cookie that is Secure, HttpOnly, Path=/, SameSite=Lax, without Domain or Max-Age (ASVS 5.0 3.3.1-3.3.4)', async () => {
    const app = buildApp(engineFixture());
    const { response } = await signIn(app);
    const lines = ([] as string[])
      .concat(response.headers['set-cookie'] ?? [])
      .map(parseSetCookieLine);
    const session = lines.find((l) => l.name === '__Host-tessera');
    assert.ok(session, 'session cookie set');
    assert.ok(session.attributes.has('secure'));
    assert.ok(session.attributes.has('httponly'));
    assert.equal(session.attributes.get('path'), '/');
    assert.equal(session.attributes.get('samesite'), 'Lax');
    assert.ok(!session.attributes.has('domain'));
    assert.ok(!session.attributes.has('max-age') && !session.attributes.has('expires'));
    const csrf = lines.find((l) => l.name === '__Host-tessera-csrf');
    assert.ok(csrf && !csrf.attributes.has('httponly'), 'the CSRF cookie is readable by the page');
    assert.ok(csrf.attributes.has('secure'));
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  test('SameSite=Strict is used when asked for', async () => {
    const app = buildApp(engineFixture(), { sameSite: 'strict' });
    const { response } = await signIn(app);
    const line = ([] as string[])
      .concat(response.headers['set-cookie'] ?? [])
      .map(parseSetCookieLine)[0];
    assert.equal(line?.attributes.get('samesite'), 'Strict');
  });

  test('a signed-in GET passes and shows the session; no cookie answers 401 with a challenge', async () => {
    const app = buildApp(engineFixture());
    const { jar, sessionId } = await signIn(app);
    const me = await send(app, jar, 'GET', '/me');
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().session_id, sessionId);
    const anonymous = await app.inject({ method: 'GET', url: '/me' });
    assert.equal(anonymous.statusCode, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Cookie realm="tessera"/);
  });

  test('a malformed session cookie is refused without a store read and cleared', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    fx.down.value = true; // any store read would answer 503
    const response = await app.inject({
      method: 'GET',
      url: '/me',
      headers: { cookie: '__Host-tessera=tsa_x; __Host-tessera-refresh=tsr_y' },
    });
    assert.equal(response.statusCode, 401);
    const cleared = ([] as string[])
      .concat(response.headers['set-cookie'] ?? [])
      .map(parseSetCookieLine);
    assert.ok(
      cleared.some((l) => l.name === '__Host-tessera' && l.attributes.get('max-age') === '0'),
    );
  });

  test('a lone access or refresh cookie (the other removed) is refused and cleared without a store read', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar } = await signIn(app);
    fx.down.value = true;
    for (const keep of ['__Host-tessera', '__Host-tessera-refresh']) {
      const response = await app.inject({
        method: 'GET',
        url: '/me',
        headers: { cookie: `${keep}=${jar.get(keep)}` },
      });
      assert.equal(response.statusCode, 401, keep);
    }
  });

  test('a cross-site sign-in is refused with 403 before any session is made (login CSRF)', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example' },
    ]) {
      const response = await app.inject({
        method: 'POST',
        url: '/sign-in',
        headers,
        payload: { user: 'alice' },
      });
      assert.equal(response.statusCode, 403);
      assert.equal(response.headers['set-cookie'], undefined);
    }
    assert.deepEqual(await fx.tessera.listForUser('alice'), []);
  });

  test('sign-in never adopts a presented session cookie: new tokens, new id, and the old session ends (ASVS 5.0 7.2.4, WSTG-SESS-03)', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const first = await signIn(app);
    const planted = first.jar.clone();
    const second = await signIn(app, first.jar);
    assert.notEqual(second.sessionId, first.sessionId);
    assert.notEqual(second.jar.get('__Host-tessera'), planted.get('__Host-tessera'));
    assert.equal((await send(app, planted, 'GET', '/me')).statusCode, 401);
    assert.equal(await fx.tessera.getLiveSession(first.sessionId), null);
    assert.equal((await send(app, second.jar, 'GET', '/me')).statusCode, 200);
  });

  test('a state-changing request without the CSRF token, or with a wrong one, is refused with 403 (ASVS 5.0 3.5.1)', async () => {
    const app = buildApp(engineFixture());
    const { jar, csrf } = await signIn(app);
    assert.equal((await send(app, jar, 'POST', '/notes')).statusCode, 403);
    const wrong = await send(app, jar, 'POST', '/notes', {
      'x-csrf-token': `${csrf.slice(0, -2)}AA`,
    });
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json().error, 'csrf_failed');
    assert.equal(
      (await send(app, jar, 'POST', '/notes', { 'x-csrf-token': csrf })).statusCode,
      200,
    );
  });

  test("another session's CSRF token does not work: the token is bound to the session", async () => {
    const app = buildApp(engineFixture());
    const alice = await signIn(app);
    const mallory = await signIn(app, new CookieJar(), 'mallory');
    const response = await send(app, alice.jar, 'POST', '/notes', { 'x-csrf-token': mallory.csrf });
    assert.equal(response.statusCode, 403);
  });

  test('a cross-site request is refused by Fetch Metadata or Origin even with the right token', async () => {
    const app = buildApp(engineFixture());
    const { jar, csrf } = await signIn(app);
    const crossSite = await send(app, jar, 'POST', '/notes', {
      'x-csrf-token': csrf,
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(crossSite.statusCode, 403);
    const sameSite = await send(app, jar, 'POST', '/notes', {
      'x-csrf-token': csrf,
      'sec-fetch-site': 'same-site',
    });
    assert.equal(sameSite.statusCode, 403);
    const foreign = await send(app, jar, 'POST', '/notes', {
      'x-csrf-token': csrf,
      origin: 'https://evil.example',
    });
    assert.equal(foreign.statusCode, 403);
    const nullOrigin = await send(app, jar, 'POST', '/notes', {
      'x-csrf-token': csrf,
      origin: 'null',
    });
    assert.equal(nullOrigin.statusCode, 403);
    const own = await send(app, jar, 'POST', '/notes', {
      'x-csrf-token': csrf,
      'sec-fetch-site': 'same-origin',
      origin: 'http://localhost',
    });
    assert.equal(own.statusCode, 200);
  });

  test('a listed origin may send state-changing requests from another site', async () => {
    const app = buildApp(engineFixture(), { allowedOrigins: ['https://app.example.com'] });
    const { jar, csrf } = await signIn(app);
    const response = await send(app, jar, 'POST', '/notes', {
      'x-csrf-token': csrf,
      'sec-fetch-site': 'same-site',
      origin: 'https://app.example.com',
    });
    assert.equal(response.statusCode, 200);
  });

  test('an expired access token is refreshed behind the cookie, and parallel requests with the old cookie get the same new pair', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar, sessionId } = await signIn(app);
    const before = jar.get('__Host-tessera');
    fx.clock.advance(61_000);
    const parallel = jar.clone();
    const first = await send(app, jar, 'GET', '/me');
    assert.equal(first.statusCode, 200);
    const after = jar.get('__Host-tessera');
    assert.notEqual(after, before, 'a new pair in the cookie');
    const second = await send(app, parallel, 'GET', '/me');
    assert.equal(second.statusCode, 200);
    assert.equal(parallel.get('__Host-tessera'), after, 'the grace window hands out the same pair');
    assert.equal(first.json().session_id, sessionId);
    const refreshed = await fx.tessera.events({ sessionId, type: 'session.refreshed' });
    assert.equal(refreshed.events.length, 1);
  });

  test('the idle timeout is enforced by the engine behind the cookie: an idle session is refused and its cookies cleared (ASVS 5.0 7.3.1)', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar } = await signIn(app);
    fx.clock.advance(601_000);
    const response = await send(app, jar, 'GET', '/me');
    assert.equal(response.statusCode, 401);
    assert.equal(jar.get('__Host-tessera'), undefined);
  });

  test('the absolute timeout holds however active the session is (ASVS 5.0 7.3.2)', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar } = await signIn(app);
    for (let minute = 0; minute < 59; minute++) {
      fx.clock.advance(60_000);
      assert.equal((await send(app, jar, 'GET', '/me')).statusCode, 200);
    }
    fx.clock.advance(60_000);
    assert.equal((await send(app, jar, 'GET', '/me')).statusCode, 401);
  });

  test('sign-out ends the session on the server and clears both cookies; the old cookie is refused afterwards', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar, csrf, sessionId } = await signIn(app);
    const stolen = jar.clone();
    const out = await send(app, jar, 'POST', '/sign-out', { 'x-csrf-token': csrf });
    assert.equal(out.statusCode, 200);
    assert.equal(jar.cookies.size, 0);
    assert.equal(await fx.tessera.getLiveSession(sessionId), null);
    assert.equal((await send(app, stolen, 'GET', '/me')).statusCode, 401);
  });

  test('a forged sign-out without the CSRF token is refused and the session lives on', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar, sessionId } = await signIn(app);
    const out = await send(app, jar.clone(), 'POST', '/sign-out');
    assert.equal(out.statusCode, 403);
    assert.notEqual(await fx.tessera.getLiveSession(sessionId), null);
  });

  test('maxAuthAgeSeconds answers the RFC 9470 challenge; step-up renews tokens and CSRF token and the old ones stop working', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar, csrf } = await signIn(app);
    fx.clock.advance(301_000);
    assert.equal((await send(app, jar, 'GET', '/me')).statusCode, 200); // refreshes the pair
    const stale = await send(app, jar, 'POST', '/email', { 'x-csrf-token': csrf });
    assert.equal(stale.statusCode, 401);
    assert.equal(stale.json().error, 'insufficient_user_authentication');
    assert.match(
      String(stale.headers['www-authenticate']),
      /error="insufficient_user_authentication".*max_age="300"/,
    );
    const beforeStepUp = jar.clone();
    const stepped = await send(app, jar, 'POST', '/step-up', { 'x-csrf-token': csrf });
    assert.equal(stepped.statusCode, 200);
    const newCsrf = stepped.json().csrf_token as string;
    assert.notEqual(newCsrf, csrf, 'a new CSRF token at step-up');
    assert.notEqual(jar.get('__Host-tessera'), beforeStepUp.get('__Host-tessera'));
    assert.equal(
      (await send(app, jar, 'POST', '/email', { 'x-csrf-token': csrf })).statusCode,
      403,
    );
    assert.equal(
      (await send(app, jar, 'POST', '/email', { 'x-csrf-token': newCsrf })).statusCode,
      200,
    );
  });

  test('the pre-step-up cookie is refused after step-up (and, as a reused refresh token, ends the session)', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar, csrf, sessionId } = await signIn(app);
    const old = jar.clone();
    await send(app, jar, 'POST', '/step-up', { 'x-csrf-token': csrf });
    assert.equal((await send(app, old, 'GET', '/me')).statusCode, 401);
    assert.equal(await fx.tessera.getLiveSession(sessionId), null);
  });

  test('a store that does not answer gives 503, never a signed-in request (fail closed)', async () => {
    const fx = engineFixture();
    const app = buildApp(fx);
    const { jar } = await signIn(app);
    fx.down.value = true;
    const response = await send(app, jar, 'GET', '/me');
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().error, 'temporarily_unavailable');
    assert.ok(jar.get('__Host-tessera'), 'the cookie is kept: the session may be fine');
  });

  test('insecureHttpForLocalDev drops __Host- and Secure, and is refused when NODE_ENV=production', async () => {
    const app = buildApp(engineFixture(), { insecureHttpForLocalDev: true });
    const { response } = await signIn(app);
    const line = ([] as string[])
      .concat(response.headers['set-cookie'] ?? [])
      .map(parseSetCookieLine)[0];
    assert.equal(line?.name, 'tessera');
    assert.ok(!line?.attributes.has('secure'));
    assert.ok(line?.attributes.has('httponly'));
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      assert.throws(
        () => buildApp(engineFixture(), { insecureHttpForLocalDev: true }),
        /production/,
      );
    } finally {
      if (previous === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = previous;
    }
  });

  test('a CSRF secret shorter than 32 bytes is refused at start-up', () => {
    assert.throws(() => buildApp(engineFixture(), { csrfSecret: 'short' }), /32 bytes/);
  });
});
