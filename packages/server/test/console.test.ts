import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createMemoryStore,
  createOperatorAccounts,
  createTessera,
  manualClock,
  operatorUserId,
  type SessionStore,
  TesseraError,
} from '@tessera/core';
import { buildServer, CONSOLE_CSP } from '@tessera/server';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/*
 * The console's sign-in and its guards, in process (fastify.inject) with an injected clock:
 * lock-out after repeated failures held in the store (so every node sees it), one uniform
 * failure, no fixation, the operator-session checks, CSP scoped to the console, fail closed.
 * The browser flows are in console-browser.test.ts.
 */

const SCRYPT = { logN: 10, r: 8, p: 1 };
const PASSWORD = 'a long operator pass phrase';
const ORIGIN = 'http://localhost';

async function setup(store: SessionStore = createMemoryStore()) {
  const clock = manualClock(Date.UTC(2026, 11, 7, 12));
  const tessera = createTessera({ store, clock });
  const app = await buildServer({
    tessera,
    logger: false,
    purgeIntervalSeconds: 0,
    rateLimit: { enabled: false },
    console: { accounts: { scrypt: SCRYPT }, signInPerMinute: 1000 },
  });
  const accounts = createOperatorAccounts({ tessera, scrypt: SCRYPT });
  return { app, tessera, clock, accounts, store };
}

const cookiesOf = (response: LightMyRequestResponse) =>
  ([] as string[])
    .concat(response.headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0] as string)
    .filter((c) => !c.endsWith('='))
    .join('; ');

function signIn(
  app: FastifyInstance,
  name: string,
  password: string,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/console/sign-in',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: ORIGIN,
      'sec-fetch-site': 'same-origin',
      ...headers,
    },
    payload: new URLSearchParams({ name, password }).toString(),
  });
}

const overview = (app: FastifyInstance, cookie: string) =>
  app.inject({ method: 'GET', url: '/console/overview', headers: { cookie } });

/** The failure message of a sign-in answer. */
const failureOf = (response: LightMyRequestResponse) =>
  /<p class="error" role="alert">([^<]*)<\/p>/.exec(response.body)?.[1];

describe('console sign-in', () => {
  test('signs in with a __Host- cookie of a high session and opens the pages', async () => {
    const { app, accounts, tessera } = await setup();
    const ada = await accounts.create({ name: 'Ada', password: PASSWORD });
    const answer = await signIn(app, 'ada', PASSWORD);
    assert.equal(answer.statusCode, 303);
    assert.equal(answer.headers.location, '/console/overview');
    const setCookies = [answer.headers['set-cookie']].flat() as string[];
    assert.ok(
      setCookies.some((c) =>
        /^__Host-tessera-console=tsa_.*HttpOnly; Secure; SameSite=Strict/.test(c),
      ),
    );
    const [session] = await tessera.listForUser(operatorUserId(ada.id));
    assert.equal(session?.policy, 'high', 'operator sessions are policy high (15 min idle)');
    for (const url of [
      '/console/overview',
      '/console/users',
      '/console/events',
      '/console/policies',
      '/console/keys',
    ]) {
      const page = await app.inject({ method: 'GET', url, headers: { cookie: cookiesOf(answer) } });
      assert.equal(page.statusCode, 200, url);
      assert.match(page.body, /Signed in as <strong>ada<\/strong>/);
    }
  });

  test('every failure reads the same, and five in a row make the next attempts wait (held in the store for every node)', async () => {
    const { app, accounts, clock, store, tessera } = await setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    const disabled = await accounts.create({ name: 'bob', password: PASSWORD });
    await accounts.disable(disabled.name);

    const unknown = await signIn(app, 'nobody', PASSWORD);
    const wrong = await signIn(app, 'ada', 'not the right password');
    const off = await signIn(app, 'bob', PASSWORD);
    for (const answer of [unknown, wrong, off]) {
      assert.equal(answer.statusCode, 401);
      assert.equal(failureOf(answer), failureOf(wrong));
      assert.equal(answer.headers['set-cookie'], undefined);
    }

    for (let i = 0; i < 4; i += 1) await signIn(app, 'ada', `wrong password number ${i}`);
    // Five consecutive failures: the right password is now refused too, with the same words.
    const locked = await signIn(app, 'ada', PASSWORD);
    assert.equal(locked.statusCode, 401);
    assert.equal(failureOf(locked), failureOf(wrong));

    // Another node on the same store holds the same lock-out.
    const other = await buildServer({
      tessera: createTessera({ store, clock }),
      logger: false,
      purgeIntervalSeconds: 0,
      console: { accounts: { scrypt: SCRYPT } },
    });
    assert.equal((await signIn(other, 'ada', PASSWORD)).statusCode, 401);

    clock.advance(29_999);
    assert.equal((await signIn(app, 'ada', PASSWORD)).statusCode, 401, 'still waiting at 29.999 s');
    clock.advance(1);
    const after = await signIn(other, 'ada', PASSWORD);
    assert.equal(after.statusCode, 303, 'the wait is over at 30 s, on any node');
    assert.equal(
      (await store.findOperatorByName('ada'))?.failedSignIns,
      0,
      'success clears the count',
    );

    const failures = (await tessera.events({ type: 'operator.action', limit: 100 })).events.filter(
      (e) => e.data['action'] === 'sign_in_failed',
    );
    assert.deepEqual(
      [...new Set(failures.map((e) => e.data['cause']))].sort(),
      ['disabled', 'locked', 'unknown', 'wrong_password'],
      'the record knows why, the page does not say',
    );
    await other.close();
  });

  test('a cross-site sign-in is refused before the password is even checked', async () => {
    const { app, accounts, store } = await setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    const answer = await signIn(app, 'ada', 'wrong password from evil.example', {
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(answer.statusCode, 403);
    assert.equal((await store.findOperatorByName('ada'))?.failedSignIns, 0, 'not even counted');
  });

  test('Origin: null is the page itself only with Sec-Fetch-Site: same-origin (a no-referrer form post)', async () => {
    const { app, accounts } = await setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    const own = await signIn(app, 'ada', PASSWORD, {
      origin: 'null',
      'sec-fetch-site': 'same-origin',
    });
    assert.equal(own.statusCode, 303);
    const sandboxed = await signIn(app, 'ada', PASSWORD, {
      origin: 'null',
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(sandboxed.statusCode, 403);
    const bare = await signIn(app, 'ada', PASSWORD, { origin: 'null', 'sec-fetch-site': '' });
    assert.equal(bare.statusCode, 403, 'null without Fetch Metadata is not trusted');
  });

  test('a session cookie presented at sign-in is never adopted: its session ends (no fixation)', async () => {
    const { app, accounts, tessera } = await setup();
    const ada = await accounts.create({ name: 'ada', password: PASSWORD });
    const first = await signIn(app, 'ada', PASSWORD);
    const again = await signIn(app, 'ada', PASSWORD, { cookie: cookiesOf(first) });
    assert.equal(again.statusCode, 303);
    assert.notEqual(cookiesOf(again), cookiesOf(first));
    assert.equal((await tessera.listForUser(operatorUserId(ada.id))).length, 1);
    assert.equal((await overview(app, cookiesOf(first))).statusCode, 303, 'the old cookie is dead');
    assert.equal((await overview(app, cookiesOf(again))).statusCode, 200);
  });

  test('a session minted through the API for an operator id is not a console session', async () => {
    const { app, accounts, tessera } = await setup();
    const ada = await accounts.create({ name: 'ada', password: PASSWORD });
    // A service key holder can create a session for any user id, `operator:<id>` included.
    const minted = await tessera.create({ userId: operatorUserId(ada.id), policy: 'high' });
    const forged = [
      `__Host-tessera-console=${minted.accessToken}`,
      `__Host-tessera-console-refresh=${minted.refreshToken}`,
      `__Host-tessera-console-csrf=${'A'.repeat(43)}`,
    ].join('; ');
    const answer = await overview(app, forged);
    assert.equal(answer.statusCode, 303);
    assert.equal(answer.headers.location, '/console/sign-in');
  });

  test('disabling an operator or resetting its password ends its console sessions at once', async () => {
    const { app, accounts } = await setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    const cookie = cookiesOf(await signIn(app, 'ada', PASSWORD));
    assert.equal((await overview(app, cookie)).statusCode, 200);
    const { endedSessions } = await accounts.resetPassword('ada', 'another long pass phrase');
    assert.equal(endedSessions, 1);
    assert.equal((await overview(app, cookie)).statusCode, 303);
    const second = cookiesOf(await signIn(app, 'ada', 'another long pass phrase'));
    await accounts.disable('ada');
    assert.equal((await overview(app, second)).statusCode, 303, 'ASVS 5.0 7.4.2');
  });

  test('the console session ends after 15 idle minutes (policy high), to the millisecond', async () => {
    const { app, accounts, clock } = await setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    const cookie = cookiesOf(await signIn(app, 'ada', PASSWORD));
    clock.advance(15 * 60_000 - 1);
    const alive = await overview(app, cookie);
    assert.equal(alive.statusCode, 200, 'activity at 14:59.999 keeps it');
    const renewed = cookiesOf(alive) === '' ? cookie : mergeCookies(cookie, cookiesOf(alive));
    clock.advance(15 * 60_000);
    assert.equal((await overview(app, renewed)).statusCode, 303, 'idle for 15 min: signed out');
  });

  test('an expired access token is refreshed behind the cookie and the renewed cookies reach the browser', async () => {
    const { app, accounts, clock } = await setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    const cookie = cookiesOf(await signIn(app, 'ada', PASSWORD));
    clock.advance(5 * 60_000); // the high tier's access token lives 5 min
    const refreshed = await overview(app, cookie);
    assert.equal(refreshed.statusCode, 200);
    assert.match(cookiesOf(refreshed), /__Host-tessera-console=tsa_/, 'renewed pair sent');
    const jar = mergeCookies(cookie, cookiesOf(refreshed));
    // Past the refresh grace window the rotated-out pair would count as a stolen copy; the
    // browser holds the renewed one, so the operator stays signed in.
    clock.advance(31_000);
    assert.equal((await overview(app, jar)).statusCode, 200);
    assert.equal((await overview(app, cookie)).statusCode, 303, 'the old pair is reuse: ended');
  });

  test('state-changing requests need the CSRF token; the cookie alone is refused', async () => {
    const { app, accounts, tessera } = await setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    const cookie = cookiesOf(await signIn(app, 'ada', PASSWORD));
    const victim = await tessera.create({ userId: 'alice' });
    const post = (payload: Record<string, string>, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/console/sessions/end',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: new URLSearchParams(payload).toString(),
      });
    assert.equal((await post({ session_id: victim.session.id })).statusCode, 403);
    assert.equal(
      (await post({ session_id: victim.session.id, csrf_token: 'x'.repeat(43) })).statusCode,
      403,
    );
    const token = /name="csrf_token" value="([^"]+)"/.exec((await overview(app, cookie)).body)?.[1];
    assert.ok(token);
    const crossSite = await post(
      { session_id: victim.session.id, csrf_token: token },
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    );
    assert.equal(crossSite.statusCode, 403, 'even with the token, a cross-site request is refused');
    assert.equal((await tessera.validate(victim.accessToken)).ok, true, 'nothing ended so far');
    const ok = await post({ session_id: victim.session.id, csrf_token: token });
    assert.equal(ok.statusCode, 303);
    assert.equal((await tessera.validate(victim.accessToken)).ok, false);
  });

  test('console answers carry the strict CSP; the API keeps its own headers', async () => {
    const { app } = await setup();
    for (const url of ['/console/sign-in', '/console/assets/console.js', '/console/nothing-here']) {
      const answer = await app.inject({ method: 'GET', url });
      assert.equal(answer.headers['content-security-policy'], CONSOLE_CSP, url);
      assert.equal(answer.headers['x-frame-options'], 'DENY');
    }
    const openapi = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.doesNotMatch(openapi.body, /\/console/, 'console routes stay out of the API document');
    const api = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(
      api.headers['content-security-policy'],
      "default-src 'none'; frame-ancestors 'none'",
    );
    assert.equal(api.headers['referrer-policy'], 'no-referrer');
    const page = await app.inject({ method: 'GET', url: '/console/sign-in' });
    assert.doesNotMatch(
      page.body,
      /<script>|<style|\sstyle=|\son[a-z]+="/i,
      'no inline script or style',
    );
  });

  test('sign-in attempts are limited per client IP, with an HTML 429 and Retry-After', async () => {
    const tessera = createTessera({ store: createMemoryStore() });
    const app = await buildServer({
      tessera,
      logger: false,
      purgeIntervalSeconds: 0,
      console: { accounts: { scrypt: SCRYPT }, signInPerMinute: 3 },
    });
    const statuses = [];
    for (let i = 0; i < 4; i += 1)
      statuses.push((await signIn(app, 'ada', 'whatever it is')).statusCode);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const limited = await signIn(app, 'ada', 'whatever it is');
    assert.equal(limited.statusCode, 429);
    assert.ok(limited.headers['retry-after']);
    assert.match(limited.headers['content-type'] as string, /text\/html/);
  });

  test('malformed console requests get a 4xx (or a redirect), never a 5xx, and change nothing', async () => {
    const { app, accounts, tessera } = await setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    const cookie = cookiesOf(await signIn(app, 'ada', PASSWORD));
    const token =
      /name="csrf_token" value="([^"]+)"/.exec((await overview(app, cookie)).body)?.[1] ?? '';
    const victim = await tessera.create({ userId: 'alice' });
    const routes = [
      '/console/sign-in',
      '/console/sign-out',
      '/console/sessions/end',
      '/console/devices/end',
      '/console/users/end-all',
      '/console/keys',
      '/console/keys/revoke',
      '/console/account/password',
      '/console/account/sign-out-everywhere',
    ];
    const bodies: Array<{ type: string; payload: string }> = [
      { type: 'application/x-www-form-urlencoded', payload: '' },
      {
        type: 'application/x-www-form-urlencoded',
        payload: `csrf_token=${token}&session_id=%E0%A4%A`,
      },
      {
        type: 'application/x-www-form-urlencoded',
        payload: `csrf_token=${token}&session_id=a&session_id=b&user_id[]=x`,
      },
      {
        type: 'application/x-www-form-urlencoded',
        payload: `csrf_token=${token}&name=${'n'.repeat(5000)}&scopes=root`,
      },
      {
        type: 'application/x-www-form-urlencoded',
        payload: `csrf_token=${token}&password=${'p'.repeat(20_000)}`,
      },
      { type: 'application/json', payload: '[1,2,3]' },
      { type: 'application/json', payload: `{"csrf_token":"${token}","session_id":{"$gt":""}}` },
      { type: 'application/json', payload: '{"__proto__":{"admin":true}}' },
      { type: 'text/plain', payload: 'hello' },
      { type: 'application/x-www-form-urlencoded', payload: 'a=%' },
    ];
    for (const url of routes) {
      for (const body of bodies) {
        for (const headers of [{}, { cookie }]) {
          const answer = await app.inject({
            method: 'POST',
            url,
            headers: { 'content-type': body.type, ...headers },
            payload: body.payload,
          });
          assert.ok(
            answer.statusCode >= 300 && answer.statusCode < 500,
            `${url} ${body.payload.slice(0, 40)}: ${answer.statusCode} ${answer.body.slice(0, 200)}`,
          );
        }
      }
    }
    for (const url of [
      '/console/users?user_id[]=a',
      '/console/events?type=nope&reason=%00',
      '/console/users?user_id=%ZZ',
    ]) {
      const answer = await app.inject({ method: 'GET', url, headers: { cookie } });
      assert.ok(answer.statusCode < 500, `${url}: ${answer.statusCode}`);
    }
    assert.equal((await tessera.validate(victim.accessToken)).ok, true, 'nothing ended');
    assert.equal((await tessera.listServiceKeys()).length, 0, 'no key created');
  });

  test('with the store unreachable the console answers 503 and lets nobody in (fail closed)', async () => {
    const inner = createMemoryStore();
    let down = false;
    const store = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function' || name === 'close') return value;
        return (...args: unknown[]) =>
          down
            ? Promise.reject(new TesseraError('store_unavailable', 'store down'))
            : value.apply(target, args);
      },
    });
    const { app, accounts } = await setup(store);
    await accounts.create({ name: 'ada', password: PASSWORD });
    const cookie = cookiesOf(await signIn(app, 'ada', PASSWORD));
    down = true;
    const page = await overview(app, cookie);
    assert.equal(page.statusCode, 503);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.equal((await signIn(app, 'ada', PASSWORD)).statusCode, 503);
    down = false;
    assert.equal((await overview(app, cookie)).statusCode, 200, 'recovers on its own');
  });
});

function mergeCookies(old: string, renewed: string): string {
  const jar = new Map(old.split('; ').map((c) => [c.split('=')[0], c] as const));
  for (const c of renewed.split('; ')) jar.set(c.split('=')[0], c);
  return [...jar.values()].join('; ');
}
