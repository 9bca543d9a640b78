import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../test-support/chromium.js';
import { type Service, startService } from './service.js';

/*
 * The browser build (tsc's ESM in dist/, loaded as is) in real headless Chromium against the
 * real service. A tiny node:http server serves the page and dist/, and passes /v1/* through to
 * the service (same origin, as a reverse proxy would in production). Checked: browserStorage
 * round-trips and keeps only ciphertext in IndexedDB, the DPoP key is non-extractable and the
 * same after a reload, and after the reload a refresh with a DPoP proof works (one refresh for
 * concurrent calls), then logout ends the server session.
 */

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(PACKAGE, 'dist');
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SDK</title>
<script type="module">
import * as sdk from '/sdk/index.js';
window.sdk = sdk;
window.makeClient = () => sdk.createTesseraClient({
  baseUrl: location.origin,
  storage: sdk.browserStorage(),
  dpop: true,
});
window.ready = true;
</script></head><body><main><h1>SDK test page</h1></main></body></html>`;

function startStatic(target: () => string): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (path.startsWith('/v1/')) {
      const upstream = new URL(req.url ?? '/', target());
      const forward = httpRequest(
        upstream,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      req.pipe(forward);
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    if (path.startsWith('/sdk/')) {
      const file = normalize(join(DIST, path.slice('/sdk/'.length)));
      if (file.startsWith(DIST) && extname(file) === '.js') {
        try {
          const body = await readFile(file);
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body);
          return;
        } catch {
          // fall through to 404
        }
      }
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}` });
    });
  });
}

/** Runs an async script in the page and returns its JSON-able result. */
function run<T>(page: Page, body: string): Promise<T> {
  return page.evaluate(`(async () => { ${body} })()`) as Promise<T>;
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction('window.ready === true');
}

describe('@tessera/client in real Chromium (dist/ ESM)', () => {
  let browser: Browser;
  let service: Service;
  let web: { server: Server; url: string };

  before(async () => {
    // The page loads exactly what the package ships: build it first.
    execFileSync('npx', ['tsc', '-b', 'packages/client'], { cwd: ROOT, stdio: 'inherit' });
    web = await startStatic(() => service.url);
    const publicUrl = web.url;
    service = await startService({
      realTime: true,
      server: { publicUrl },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => web?.server.close(resolve));
    await service?.close();
  });

  it('storage round-trip, a non-extractable DPoP key that survives a reload, a refresh after the reload, logout', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await open(page, `${web.url}/`);

    // browserStorage: the value comes back, IndexedDB holds only ciphertext and a key that
    // cannot be exported.
    const stored = await run<{
      value: string | null;
      plaintextInDb: boolean;
      storageKeyExtractable: boolean;
      exportRefused: boolean;
      afterDelete: string | null;
    }>(
      page,
      `
      const storage = sdk.browserStorage();
      await storage.set('probe', 'tsr_secret_value');
      const value = await storage.get('probe');
      const db = await new Promise((ok, ko) => { const r = indexedDB.open('tessera'); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
      const read = (key) => new Promise((ok, ko) => { const r = db.transaction('kv').objectStore('kv').get(key); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
      const sealed = await read('value.probe');
      const key = await read('storage.key');
      let exportRefused = false;
      try { await crypto.subtle.exportKey('raw', key); } catch { exportRefused = true; }
      db.close();
      await storage.delete('probe');
      return {
        value,
        plaintextInDb: JSON.stringify(sealed).includes('tsr_secret') || atob(sealed.data).includes('tsr_secret'),
        storageKeyExtractable: key.extractable,
        exportRefused,
        afterDelete: await storage.get('probe'),
      };
      `,
    );
    assert.deepEqual(stored, {
      value: 'tsr_secret_value',
      plaintextInDb: false,
      storageKeyExtractable: false,
      exportRefused: true,
      afterDelete: null,
    });

    // The DPoP key: generated once, non-extractable, kept in IndexedDB as the CryptoKeyPair.
    const first = await run<{ jkt: string; extractable: boolean; algorithm: string }>(
      page,
      `
      window.client = makeClient();
      const jkt = await client.jkt();
      const db = await new Promise((ok) => { const r = indexedDB.open('tessera'); r.onsuccess = () => ok(r.result); });
      const pair = await new Promise((ok) => { const r = db.transaction('kv').objectStore('kv').get('dpop.keyPair'); r.onsuccess = () => ok(r.result); });
      db.close();
      return { jkt, extractable: pair.privateKey.extractable, algorithm: pair.privateKey.algorithm.namedCurve };
      `,
    );
    assert.equal(first.extractable, false);
    assert.equal(first.algorithm, 'P-256');
    assert.match(first.jkt, /^[\w-]{43}$/);

    // The app's backend signs the user in, binding the session to the page's key.
    const signedIn = await service.signIn({ dpop_jkt: first.jkt });
    assert.equal(signedIn.token_type, 'DPoP');
    const firstCall = await run<number>(
      page,
      `await client.setSession(${JSON.stringify(signedIn)});
       return (await client.fetch('/v1/session')).status;`,
    );
    assert.equal(firstCall, 200);
    assert.equal(service.tokenRequests(), 0);

    // A reload: the access token (memory only) is gone; the key and the session are not.
    await page.reload();
    await page.waitForFunction('window.ready === true');
    const reloaded = await run<{ jkt: string; signedIn: boolean; statuses: number[] }>(
      page,
      `
      window.client = makeClient();
      const jkt = await client.jkt();
      const signedIn = await client.isSignedIn();
      const answers = await Promise.all(Array.from({ length: 8 }, () => client.fetch('/v1/session')));
      return { jkt, signedIn, statuses: answers.map((a) => a.status) };
      `,
    );
    assert.equal(reloaded.jkt, first.jkt, 'the same key after a reload');
    assert.equal(reloaded.signedIn, true);
    assert.deepEqual(reloaded.statuses, Array(8).fill(200));
    assert.equal(service.tokenRequests(), 1, 'one refresh for eight concurrent calls');

    // Logout ends the session on the server, then in the page.
    const loggedOut = await run<{ signedIn: boolean; reasons: string[] }>(
      page,
      `
      const reasons = [];
      client.onSignOut((r) => reasons.push(r));
      await client.logout();
      return { signedIn: await client.isSignedIn(), reasons };
      `,
    );
    assert.deepEqual(loggedOut, { signedIn: false, reasons: ['logout'] });
    assert.equal(await service.tessera.getLiveSession(signedIn.session.id), null);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('two tabs: one DPoP key for both even when they create it at once, and both refresh the shared session', async () => {
    const context = await browser.newContext(); // fresh IndexedDB
    try {
      const [a, b] = [await context.newPage(), await context.newPage()];
      await Promise.all([open(a, `${web.url}/`), open(b, `${web.url}/`)]);
      const create = 'window.client = makeClient(); return await client.jkt();';
      const [jktA, jktB] = await Promise.all([run<string>(a, create), run<string>(b, create)]);
      assert.equal(jktA, jktB, 'the tab that lost the race uses the winner key');
      const signedIn = await service.signIn({ dpop_jkt: jktA });
      await run(a, `await client.setSession(${JSON.stringify(signedIn)});`);
      const before = service.tokenRequests();
      // Tab b has no access token in memory; tab a is told its token expired: both refresh at
      // once from the same stored refresh token (serialized by Web Locks).
      const call = 'return (await client.fetch("/v1/session")).status;';
      await run(a, 'window.client = makeClient();');
      const statuses = await Promise.all([run<number>(a, call), run<number>(b, call)]);
      assert.deepEqual(statuses, [200, 200]);
      assert.equal(service.tokenRequests() - before, 2);
      assert.ok(await service.tessera.getLiveSession(signedIn.session.id), 'no reuse alarm');
      assert.equal(await run<boolean>(b, 'return await client.isSignedIn();'), true);
    } finally {
      await context.close();
    }
  });
});
