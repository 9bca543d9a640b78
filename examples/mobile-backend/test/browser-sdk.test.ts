// @tessera/client's ESM build in real headless Chromium, against the running example (gateway,
// backend, Tessera service over real sockets): the example's web app (web/index.html, web/app.js)
// signs in through the example's /sign-in, makes 20 concurrent calls across an access-token
// expiry with one refresh, keeps a non-extractable DPoP key and its tokens across a reload, and
// logs out; every old token is then refused by the server.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TesseraClient } from '@tessera/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../../test-support/chromium.js';
import { DEMO_TIER, DEMO_USER, type Stack, startStack } from '../src/stack.js';

// The browser's globals, as the page.evaluate callbacks below use them (they run in the page;
// the test program is compiled without the DOM library).
interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
declare const window: { exampleApp: { client: TesseraClient }; inlineRan?: boolean };
declare const document: {
  createElement(tag: 'script'): { textContent: string };
  head: { append(node: unknown): void };
};
declare const location: { origin: string };
declare const indexedDB: {
  open(name: string): IdbRequest<{
    transaction(store: string): {
      objectStore(store: string): { getAll(): IdbRequest<unknown[]> };
    };
  }>;
};

const root = fileURLToPath(new URL('../../../', import.meta.url));
const clientDir = `${root}packages/client`;
const sdkDir = `${clientDir}/dist`;

/** Builds the SDK's ESM build when a module of it is missing or older than its source. */
function ensureClientBuild() {
  const stale = readdirSync(`${clientDir}/src`)
    .filter((f) => f.endsWith('.ts'))
    .some((f) => {
      const built = `${sdkDir}/${f.replace(/\.ts$/, '.js')}`;
      return (
        !existsSync(built) || statSync(built).mtimeMs < statSync(`${clientDir}/src/${f}`).mtimeMs
      );
    });
  if (!stale) return;
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', clientDir], {
    cwd: root,
    stdio: 'inherit',
  });
}

// The service's clock: moved forward to expire the access token without waiting.
let skewMs = 0;
const serviceClock = { now: () => Date.now() + skewMs };

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every token that crossed the page's wire, seen from outside the page (Playwright). */
const wireTokens = new Set<string>();
const pending: Promise<unknown>[] = [];
const pageErrors: string[] = [];
/** `STATUS /path` of every answer of 400 or more the page got. */
const failedLoads = new Set<string>();
let sessionId = '';
let jktBeforeReload = '';

const TOKEN = /\bts[ar]_[0-9A-Za-z]+/g;
const noteTokens = (text: string | null | undefined) => {
  for (const match of text?.match(TOKEN) ?? []) wireTokens.add(match);
};

before(async () => {
  ensureClientBuild();
  stack = await startStack({ clock: serviceClock, browserApp: { sdkDir } });
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('request', (request) => {
    pending.push(
      request.allHeaders().then((headers) => {
        noteTokens(headers.authorization);
        noteTokens(request.postData());
      }),
    );
  });
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (response.status() >= 400) failedLoads.add(`${response.status()} ${path}`);
    if (path === '/sign-in' || path === '/v1/token') {
      pending.push(response.text().then(noteTokens, () => undefined));
    }
  });
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

const introspect = async (token: string) => {
  const response = await fetch(`${stack.service.url}/v1/introspect`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.service.serviceKey}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  });
  return (await response.json()) as { active: boolean; cnf?: { jkt: string } };
};

const tokenRequests = () => stack.gateway.count('POST /v1/token');

test('the web app is served with a strict CSP: its only script is a file from the origin, an inline script does not run, the SDK build serves modules only', async () => {
  const response = await page.goto(`${stack.url}/app/`);
  assert.equal(response?.status(), 200);
  const csp = response?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(response?.headers()['x-content-type-options'], 'nosniff');
  const html = (await response?.text()) ?? '';
  // Every <script> has a src and no body.
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1);
  for (const [, attributes, body] of scripts) {
    assert.match(attributes ?? '', /\bsrc="\.\/app\.js"/);
    assert.equal(body?.trim(), '');
  }
  await page.waitForSelector('body[data-state="signed-out"]');

  const sdk = await fetch(`${stack.url}/app/sdk/index.js`);
  assert.equal(sdk.status, 200);
  assert.match(sdk.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.match(sdk.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  for (const path of [
    '/app/sdk/index.d.ts',
    '/app/sdk/client.js.map',
    '/app/sdk/..%2Fpackage.json',
  ]) {
    assert.equal((await fetch(`${stack.url}${path}`)).status, 404, path);
  }

  // The CSP is enforced, not only sent: an injected inline script does not run.
  const probe = await context.newPage();
  await probe.goto(`${stack.url}/app/`);
  const ran = await probe.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.inlineRan = true';
    document.head.append(script);
    return window.inlineRan === true;
  });
  assert.equal(ran, false);
  await probe.close();
});

test('sign-in through the page: the backend binds the session to the page’s DPoP key (cnf.jkt is its thumbprint)', async () => {
  await page.fill('#email', DEMO_USER.email);
  await page.fill('#password', DEMO_USER.password);
  await page.click('button[type="submit"]');
  await page.waitForSelector('body[data-state="signed-in"]');
  assert.equal(await page.textContent('#who'), `Signed in as ${DEMO_USER.email}`);
  await Promise.all(pending);
  const [session] = await stack.service.tessera.listForUser(
    (await stack.users.authenticate(DEMO_USER.email, DEMO_USER.password))!.id,
  );
  assert.ok(session);
  sessionId = session.id;
  jktBeforeReload = await page.evaluate(() => window.exampleApp.client.jkt());
  assert.match(jktBeforeReload, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(session.dpopJkt, jktBeforeReload);
  const access = [...wireTokens].find((t) => t.startsWith('tsa_'))!;
  assert.equal((await introspect(access)).cnf?.jkt, jktBeforeReload);
});

test('the DPoP private key is non-extractable and the tokens in IndexedDB are sealed (no token in clear)', async () => {
  const found = await page.evaluate(async () => {
    const sdk = '/app/sdk/index.js';
    const { indexedDbDpopKeyStore } = (await import(sdk)) as typeof import('@tessera/client');
    const pair = await indexedDbDpopKeyStore().load();
    const exported = await crypto.subtle.exportKey('pkcs8', pair!.privateKey).then(
      () => true,
      () => false,
    );
    const raw = await new Promise<string>((resolve, reject) => {
      const open = indexedDB.open('tessera');
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const all = open.result.transaction('kv').objectStore('kv').getAll();
        all.onsuccess = () => resolve(JSON.stringify(all.result));
        all.onerror = () => reject(all.error);
      };
    });
    return {
      extractable: pair!.privateKey.extractable,
      algorithm: pair!.privateKey.algorithm as { name: string; namedCurve?: string },
      exported,
      raw,
    };
  });
  assert.equal(found.extractable, false);
  assert.equal(found.exported, false);
  assert.deepEqual([found.algorithm.name, found.algorithm.namedCurve], ['ECDSA', 'P-256']);
  assert.ok(found.raw.length > 20);
  assert.doesNotMatch(found.raw, /ts[ar]_/);
});

test('20 concurrent fetches across an access-token expiry: one refresh at the server, every call answered 200', async () => {
  // The service's clock moves past the token's life; the page's does not (a tab in the
  // background): every call meets 401 invalid_token and the SDK refreshes once for all.
  skewMs += (DEMO_TIER.accessTokenTtlSeconds + 1) * 1000;
  const before = tokenRequests();
  const statuses = await page.evaluate(async () => {
    const { client } = window.exampleApp;
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/api/notes')));
    return answers.map((a) => a.status);
  });
  assert.deepEqual(statuses, Array(20).fill(200));
  assert.equal(tokenRequests() - before, 1);
  const refreshed = stack.service.events.filter(
    (e) => e.sessionId === sessionId && e.type === 'session.refreshed',
  );
  assert.equal(refreshed.length, 1);
});

test('after a page reload: the same DPoP key (same thumbprint) and the session goes on with the refresh token from browserStorage', async () => {
  const before = tokenRequests();
  await page.reload();
  await page.waitForSelector('body[data-state="signed-in"]');
  assert.equal(await page.textContent('#who'), `Signed in as ${DEMO_USER.email}`);
  const jkt = await page.evaluate(() => window.exampleApp.client.jkt());
  assert.equal(jkt, jktBeforeReload);
  // The access token lived in memory only: the reloaded page refreshed with the stored token.
  assert.equal(tokenRequests() - before, 1);
  assert.notEqual(await stack.service.tessera.getLiveSession(sessionId), null);
  assert.equal(stack.service.events.filter((e) => e.type === 'session.refresh_reuse').length, 0);
});

test('sign-out ends the session on the server (POST /v1/revoke), and the server refuses every old token, even with a valid proof of the key', async () => {
  const revokesBefore = stack.gateway.count('POST /v1/revoke');
  await page.click('#sign-out');
  await page.waitForSelector('body[data-state="signed-out"]');
  assert.equal(await page.textContent('#status'), 'signed out: logout');
  assert.equal(stack.gateway.count('POST /v1/revoke') - revokesBefore, 1);
  assert.equal(await stack.service.tessera.getLiveSession(sessionId), null);
  await Promise.all(pending);

  const tokens = [...wireTokens];
  assert.ok(tokens.filter((t) => t.startsWith('tsa_')).length >= 3);
  assert.ok(tokens.filter((t) => t.startsWith('tsr_')).length >= 3);
  const answers = await page.evaluate(async (held) => {
    const sdk = '/app/sdk/index.js';
    const { createDpopProof, indexedDbDpopKeyStore, webCryptoDpopKey } = (await import(
      sdk
    )) as typeof import('@tessera/client');
    const key = await webCryptoDpopKey(indexedDbDpopKeyStore());
    const out: { kind: string; status: number; error: string | null }[] = [];
    for (const token of held) {
      const access = token.startsWith('tsa_');
      const url = `${location.origin}${access ? '/api/profile' : '/v1/token'}`;
      const proof = await createDpopProof(key, {
        htm: access ? 'GET' : 'POST',
        htu: url,
        ...(access ? { accessToken: token } : {}),
      });
      const response = access
        ? await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: proof } })
        : await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
            body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }),
          });
      const body = (await response.json().catch(() => ({}))) as { error?: string };
      out.push({
        kind: access ? 'access' : 'refresh',
        status: response.status,
        error: body.error ?? null,
      });
    }
    return out;
  }, tokens);
  for (const answer of answers) {
    assert.deepEqual(
      [answer.status, answer.error],
      answer.kind === 'access' ? [401, 'invalid_token'] : [400, 'invalid_grant'],
    );
  }
  for (const token of tokens) assert.equal((await introspect(token)).active, false);
  // The page never hit a CSP violation nor an uncaught error. Its only failed loads: the 401s
  // of the calls across the expiry (each retried after the refresh) and the old tokens'
  // refusals above. (The console's "Failed to load resource" lines are those, and the
  // browser's own /favicon.ico, which Playwright does not report as a page request.)
  assert.deepEqual(
    pageErrors.filter((e) => !e.startsWith('Failed to load resource')),
    [],
  );
  assert.deepEqual([...failedLoads].sort(), [
    '400 /v1/token',
    '401 /api/notes',
    '401 /api/profile',
  ]);
});
