import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createMemoryStore,
  createOperatorAccounts,
  createTessera,
  type Tessera,
} from '@tessera/core';
import { buildServer, CONSOLE_CSP } from '@tessera/server';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../../test-support/chromium.js';

/*
 * The console as an operator uses it, in real headless Chromium, against two service nodes on
 * one SQLite file over real sockets: the operator works on node A while the live event feed
 * reads from node B, so what arrives live has travelled through the store. Screenshots of every
 * page go to packages/server/test/screenshots/ (ignored by git).
 */

const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const CHEAP_SCRYPT = { logN: 12, r: 8, p: 1 };
const PASSWORD = 'operator pass phrase 2026';

interface Node {
  url: string;
  tessera: Tessera;
  close(): Promise<void>;
}

async function startNode(file: string): Promise<Node> {
  const database = openSqliteDatabase(file);
  // No refresh grace: a rotated refresh token presented again is reuse at once.
  const tessera = createTessera({ store: createSqliteStore({ database }), refreshGraceSeconds: 0 });
  const app = await buildServer({
    tessera,
    logger: false,
    purgeIntervalSeconds: 0,
    console: { accounts: { scrypt: CHEAP_SCRYPT }, feed: { pollIntervalMs: 200 } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tessera,
    async close() {
      await app.close();
      database.close();
    },
  };
}

/**
 * Run in the page (a string: the test runner's transpiler would add helpers the page lacks):
 * every field has a label, every button and link a name, and every visible text has a contrast
 * of at least 4.5:1 against its background (WCAG 2.2 SC 1.4.3).
 */
const PAGE_CHECK = `(() => {
  const found = [];
  const channel = (c) => { const v = c / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = (c) => 0.2126 * channel(c[0] || 0) + 0.7152 * channel(c[1] || 0) + 0.0722 * channel(c[2] || 0);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c[3] === undefined || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  for (const field of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if ((!field.labels || field.labels.length === 0) && !field.getAttribute('aria-label')) found.push('no label: ' + field.outerHTML.slice(0, 80));
  }
  for (const control of document.querySelectorAll('button, a')) {
    if ((control.textContent || '').trim() === '' && !control.getAttribute('aria-label')) found.push('no name: ' + control.outerHTML.slice(0, 80));
  }
  for (const element of document.querySelectorAll('main p, main td, main th, main small, main a, main label, main button, nav a, h1, h2, legend, figcaption')) {
    if (!(element.textContent || '').trim() || element.offsetParent === null) continue;
    const a = luminance(rgb(getComputedStyle(element).color));
    const b = luminance(background(element));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) found.push('contrast ' + ratio.toFixed(2) + ': ' + element.outerHTML.slice(0, 80));
  }
  return found;
})()`;

describe('the console in Chromium', () => {
  let dir: string;
  let nodeA: Node;
  let nodeB: Node;
  let adminKey: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];

  const api = (path: string, init: RequestInit = {}) => fetch(`${nodeA.url}${path}`, init);
  const createSession = async (userId: string, device: Record<string, string>) => {
    const response = await api('/v1/sessions', {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: userId, policy: 'medium', device, ip: '198.51.100.7' }),
    });
    assert.equal(response.status, 201);
    return (await response.json()) as { session: { id: string }; access_token: string };
  };
  const sessionStatus = async (accessToken: string) =>
    (await api('/v1/session', { headers: { authorization: `Bearer ${accessToken}` } })).status;
  const shot = (name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const consoleCookies = async () =>
    (await context.cookies(nodeA.url)).filter((c) => c.name.startsWith('__Host-tessera-console'));

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'tessera-console-'));
    const file = join(dir, 'tessera.db');
    nodeA = await startNode(file);
    nodeB = await startNode(file);
    adminKey = (await nodeA.tessera.createServiceKey({ name: 'admin', scopes: ['admin'] })).key;
    await createOperatorAccounts({ tessera: nodeA.tessera, scrypt: CHEAP_SCRYPT }).create({
      name: 'ada',
      password: PASSWORD,
    });
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text()))
        cspViolations.push(message.text());
    });
  });

  after(async () => {
    await browser?.close();
    await nodeA?.close();
    await nodeB?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an operator signs in, looks up a user, ends a session, watches it arrive live, steps up to end all, manages keys and signs out', async () => {
    const phone = await createSession('alice', {
      id: 'phone-1',
      name: 'Alice iPhone',
      platform: 'ios',
    });
    const tablet = await createSession('alice', {
      id: 'tablet-1',
      name: 'Alice iPad',
      platform: 'ipados',
    });
    const laptop = await createSession('alice', {
      id: 'laptop-1',
      name: 'Alice laptop',
      platform: 'web',
    });

    // Unsigned: the console sends the browser to the sign-in page, with the strict CSP.
    const first = await page.goto(`${nodeA.url}/console/users?user_id=alice`);
    assert.equal(new URL(page.url()).pathname, '/console/sign-in');
    assert.equal(first?.headers()['content-security-policy'], CONSOLE_CSP);
    await shot('sign-in');

    // A wrong password and an unknown name get the very same answer.
    await page.getByLabel('Operator name').fill('ada');
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const wrong = await page.getByRole('alert').textContent();
    await page.getByLabel('Operator name').fill('nobody');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.equal(await page.getByRole('alert').textContent(), wrong);
    await shot('sign-in-failed');

    await page.getByLabel('Operator name').fill('ada');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/console/overview');
    assert.ok(
      (await page.locator('svg[role="img"]').count()) >= 3,
      'the overview draws its charts',
    );
    // A stolen refresh token replayed: the overview shows the reuse alert.
    const stolen = (await (
      await api('/v1/sessions', {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: 'mallory-victim', device: { id: 'old-phone' } }),
      })
    ).json()) as { refresh_token: string; session: { id: string } };
    const refresh = () =>
      api('/v1/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: stolen.refresh_token,
        }),
      });
    assert.equal((await refresh()).status, 200);
    assert.equal((await refresh()).status, 400, 'the replay is refused');
    await page.reload();
    const reuse = page.locator('section[aria-labelledby="reuse-h"]');
    assert.match((await reuse.textContent()) ?? '', /1 in the last hour/);
    assert.match((await reuse.textContent()) ?? '', new RegExp(stolen.session.id));
    await shot('overview');

    // ASVS 5.0 3.3.1–3.3.4: __Host- prefix, Secure, HttpOnly on the tokens, SameSite=Strict.
    const cookies = await consoleCookies();
    assert.deepEqual(cookies.map((c) => c.name).sort(), [
      '__Host-tessera-console',
      '__Host-tessera-console-csrf',
      '__Host-tessera-console-refresh',
    ]);
    for (const c of cookies) {
      assert.equal(c.secure, true);
      assert.equal(c.sameSite, 'Strict');
      assert.equal(c.path, '/');
      assert.equal(c.httpOnly, !c.name.endsWith('-csrf'), c.name);
    }

    // The live feed on the OTHER node, in a second tab (same browser, same cookies).
    const feed = await context.newPage();
    await feed.goto(`${nodeB.url}/console/events`);
    await feed.getByText('Live: new events appear').waitFor();

    // User lookup: three sessions with device, platform, IP, and counting-down deadlines.
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByLabel('User id').fill('alice');
    await page.getByRole('button', { name: 'Look up' }).click();
    const rows = page.locator('table.sessions tbody tr');
    assert.equal(await rows.count(), 3);
    assert.match(
      (await rows.first().textContent()) ?? '',
      /Alice iPhone[\s\S]*ios[\s\S]*198\.51\.100\.7/,
    );
    const idle = page.locator(`tr[data-session-id="${phone.session.id}"] time.countdown`).first();
    assert.match((await idle.textContent()) ?? '', /^(29|30) min \d+ s$/);
    await shot('user');

    // End one session: its token is refused by the API at once, and the end arrives live.
    assert.equal(await sessionStatus(phone.access_token), 200);
    await page.getByRole('button', { name: `End session ${phone.session.id}` }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Ended session ${phone.session.id}` })
      .waitFor();
    assert.equal(await sessionStatus(phone.access_token), 401);
    await feed
      .locator(`#event-feed tr:has-text("${phone.session.id}"):has-text("session.ended")`)
      .waitFor();
    await feed
      .locator(`#event-feed tr:has-text("${phone.session.id}"):has-text("ended_session")`)
      .waitFor();
    await feed.screenshot({ path: join(SCREENSHOTS, 'events-live.png'), fullPage: true });

    // End all: a step-up prompt first; a wrong password ends nothing; the right one renews
    // the console's tokens and ends every session of the user.
    const before = (await consoleCookies()).find((c) => c.name === '__Host-tessera-console')?.value;
    await page.getByRole('link', { name: 'End all sessions…' }).click();
    await page.getByLabel('Your password').waitFor();
    await shot('step-up');
    await page.getByLabel('Your password').fill('wrong password, surely');
    await page.getByRole('button', { name: /Confirm and end every session/ }).click();
    await page.getByRole('alert').waitFor();
    assert.equal(
      await sessionStatus(tablet.access_token),
      200,
      'nothing ended without the password',
    );
    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: /Confirm and end every session/ }).click();
    await page.getByRole('status').filter({ hasText: 'Ended all 2 session(s) of alice' }).waitFor();
    assert.equal(await sessionStatus(tablet.access_token), 401);
    assert.equal(await sessionStatus(laptop.access_token), 401);
    const renewed = (await consoleCookies()).find(
      (c) => c.name === '__Host-tessera-console',
    )?.value;
    assert.ok(renewed && renewed !== before, 'step-up issued a new session token (ASVS 5.0 7.2.4)');
    assert.match(
      (await page.locator('section[aria-labelledby="ended-h"]').textContent()) ?? '',
      /admin/,
      'why each session ended is on the page',
    );

    // Policies, read only.
    await page.getByRole('link', { name: 'Policies' }).click();
    assert.match((await page.locator('main').textContent()) ?? '', /high[\s\S]*15 min/);
    await shot('policies');

    // The operator's own sessions, password change and "sign out everywhere".
    await page.getByRole('link', { name: 'Your account' }).click();
    assert.match((await page.locator('main').textContent()) ?? '', /\(this one\)/);
    await shot('account');

    // Service keys: created after re-entering the password, shown once, then revoked.
    await page.getByRole('link', { name: 'Service keys' }).click();
    await page.getByLabel('Name').fill('billing-backend');
    await page.getByLabel('sessions:read').check();
    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm and create the key' }).click();
    const key = await page.getByRole('textbox', { name: 'Key', exact: true }).inputValue();
    assert.match(key, /^tsk_/);
    await shot('keys-created');
    const withKey = () =>
      api('/v1/users/alice/sessions', { headers: { authorization: `Bearer ${key}` } });
    assert.equal((await withKey()).status, 200);
    // Posting the same form again (a reload) is refused: its CSRF token died with the step-up.
    await page.goto(`${nodeA.url}/console/keys`);
    assert.equal(
      await page.getByRole('textbox', { name: 'Key', exact: true }).count(),
      0,
      'the key is never shown again',
    );
    await page.getByRole('button', { name: 'Revoke key billing-backend' }).click();
    await page.getByRole('status').filter({ hasText: 'Revoked key' }).waitFor();
    assert.equal((await withKey()).status, 401);
    await shot('keys');

    // Every operator action is an event naming the operator.
    const actions = (await nodeA.tessera.events({ type: 'operator.action', limit: 1000 })).events;
    const ada = await nodeA.tessera.store.findOperatorByName('ada');
    const names = actions.map((e) => e.data['action']);
    for (const action of [
      'sign_in_failed',
      'signed_in',
      'ended_session',
      'step_up_failed',
      'stepped_up',
      'ended_user_sessions',
      'created_service_key',
      'revoked_service_key',
    ]) {
      assert.ok(names.includes(action), `${action} recorded`);
    }
    for (const e of actions.filter(
      (a) => a.data['action'] !== 'sign_in_failed' || a.data['operator_id'] !== null,
    )) {
      assert.equal(e.data['operator_id'], ada?.id);
    }

    // Sign out: back to the sign-in page, and the old cookies no longer open the console.
    const held = (await consoleCookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/console/sign-in');
    const replay = await fetch(`${nodeA.url}/console/overview`, {
      headers: { cookie: held },
      redirect: 'manual',
    });
    assert.equal(replay.status, 303, 'the ended session is refused');
    await feed.getByText('Your console session has ended').waitFor();
    await feed.close();
    assert.deepEqual(cspViolations, [], 'no CSP violation on any page');
  });

  test('every page works by keyboard, labels every field, and keeps text contrast at 4.5:1 or more in both colour schemes', async () => {
    await createSession('carol', { id: 'carol-phone', name: 'Carol phone', platform: 'android' });
    for (const colorScheme of ['light', 'dark'] as const) {
      const themed = await browser.newContext({ colorScheme });
      const tab = await themed.newPage();
      await tab.goto(`${nodeA.url}/console/sign-in`);
      // Keyboard only: the name field has the focus, Tab goes to the password, Enter submits.
      assert.equal(await tab.evaluate('document.activeElement?.id'), 'name');
      await tab.keyboard.type('ada');
      await tab.keyboard.press('Tab');
      await tab.keyboard.type(PASSWORD);
      await tab.keyboard.press('Enter');
      await tab.waitForURL('**/console/overview');
      // On every page the first Tab reaches the skip link, which moves the focus to the content.
      await tab.keyboard.press('Tab');
      assert.equal(await tab.evaluate('document.activeElement?.textContent'), 'Skip to content');
      await tab.keyboard.press('Enter');
      assert.equal(await tab.evaluate('document.activeElement?.id'), 'main');
      for (const path of [
        '/console/overview',
        '/console/users?user_id=carol',
        '/console/users/end-all?user_id=carol',
        '/console/events',
        '/console/policies',
        '/console/keys',
        '/console/account',
      ]) {
        await tab.goto(`${nodeA.url}${path}`);
        const problems = (await tab.evaluate(PAGE_CHECK)) as string[];
        if (colorScheme === 'dark' && path === '/console/overview') {
          await tab.screenshot({ path: join(SCREENSHOTS, 'overview-dark.png'), fullPage: true });
        }
        assert.deepEqual(problems, [], `${colorScheme} ${path}`);
      }
      await themed.close();
    }
  });

  test('over TLS the console signs in with Secure __Host- cookies and HSTS', async () => {
    const certDir = mkdtempSync(join(tmpdir(), 'tessera-console-tls-'));
    const keyPath = join(certDir, 'key.pem');
    const certPath = join(certDir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { stdio: 'ignore' },
    );
    const tessera = createTessera({ store: createMemoryStore() });
    await createOperatorAccounts({ tessera, scrypt: CHEAP_SCRYPT }).create({
      name: 'ada',
      password: PASSWORD,
    });
    const app = await buildServer({
      tessera,
      logger: false,
      purgeIntervalSeconds: 0,
      tls: { cert: readFileSync(certPath), key: readFileSync(keyPath) },
      console: { accounts: { scrypt: CHEAP_SCRYPT } },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const secure = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const tab = await secure.newPage();
      const first = await tab.goto(`${url}/console/sign-in`);
      assert.equal(
        first?.headers()['strict-transport-security'],
        'max-age=31536000; includeSubDomains',
      );
      await tab.getByLabel('Operator name').fill('ada');
      await tab.getByLabel('Password').fill(PASSWORD);
      await tab.getByRole('button', { name: 'Sign in' }).click();
      await tab.waitForURL('**/console/overview');
      const cookies = (await secure.cookies(url)).filter((c) => c.name.startsWith('__Host-'));
      assert.equal(cookies.length, 3);
      assert.ok(cookies.every((c) => c.secure && c.sameSite === 'Strict' && c.path === '/'));
    } finally {
      await secure.close();
      await app.close();
      rmSync(certDir, { recursive: true, force: true });
    }
  });

  test('a cross-site page cannot act through the console, and a request without the CSRF token is refused', async () => {
    const bob = await createSession('bob', {
      id: 'bob-phone',
      name: 'Bob phone',
      platform: 'android',
    });
    await page.goto(`${nodeA.url}/console/sign-in`);
    await page.getByLabel('Operator name').fill('ada');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/console/overview');

    // An attacker's page on another site posts a form to the console in the operator's browser.
    const attacker: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<form method="post" action="${nodeA.url}/console/sessions/end">
        <input name="session_id" value="${bob.session.id}"><input name="csrf_token" value="guess">
        <button>win a prize</button></form>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.2', resolve));
    try {
      const evil = await context.newPage();
      await evil.goto(`http://127.0.0.2:${(attacker.address() as AddressInfo).port}/`);
      const [answer] = await Promise.all([
        evil.waitForResponse((r) => r.url().endsWith('/console/sessions/end')),
        evil.getByRole('button', { name: 'win a prize' }).click(),
      ]);
      assert.equal(answer.status(), 403, 'refused on Sec-Fetch-Site / Origin before anything else');
      await evil.close();
    } finally {
      attacker.close();
    }
    assert.equal(await sessionStatus(bob.access_token), 200, 'the cross-site post ended nothing');

    // Same origin but no CSRF token (a request forged without reading the page): refused.
    const cookie = (await consoleCookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const forged = await fetch(`${nodeA.url}/console/sessions/end`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ session_id: bob.session.id }),
    });
    assert.equal(forged.status, 403);
    const wrongToken = await fetch(`${nodeA.url}/console/sessions/end`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ session_id: bob.session.id, csrf_token: 'A'.repeat(43) }),
    });
    assert.equal(wrongToken.status, 403);
    assert.equal(await sessionStatus(bob.access_token), 200, 'nothing ended');
    await shot('after-csrf-refusals');
  });
});
