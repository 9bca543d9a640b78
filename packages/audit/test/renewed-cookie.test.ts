import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import express from 'express';
import { auditApp, explain, verdicts } from './audit-fixture.js';

/**
 * An app that renews its session cookie on every authenticated request and refuses the previous
 * value at once (the strictest kind of rotation behind a cookie). A browser always sends the
 * latest cookie; so must the auditor, or every check after the first probe would see a dead
 * session that the app never ended.
 */
function rotatingCookieApp() {
  const live = new Map<string, string>(); // cookie value → user
  const app = express();
  app.use(express.json());
  const issue = (res: express.Response, user: string) => {
    const value = randomBytes(32).toString('base64url');
    live.set(value, user);
    res.set('cache-control', 'no-store');
    res.cookie('sid', value, { httpOnly: true, sameSite: 'lax', path: '/' });
  };
  const current = (req: express.Request) => {
    const match = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '');
    return match?.[1];
  };
  app.post('/login', (req, res) => {
    if (req.body?.username !== 'alice' || req.body?.password !== 'pw') return res.sendStatus(401);
    issue(res, 'alice');
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    const value = current(req);
    const user = value === undefined ? undefined : live.get(value);
    if (user === undefined) return res.status(401).json({ error: 'unauthenticated' });
    live.delete(value!);
    issue(res, user);
    res.json({ user });
  });
  app.post('/logout', (req, res) => {
    const value = current(req);
    if (value !== undefined) live.delete(value);
    res.clearCookie('sid').json({ ok: true });
  });
  return app;
}

test('a session cookie renewed by each probe answer is sent renewed on the next probe, as a browser does', async () => {
  const report = await auditApp(
    rotatingCookieApp(),
    (baseUrl) => ({
      name: 'rotating cookie',
      base_url: baseUrl,
      accounts: [{ username: 'alice', password: 'pw' }],
      login: {
        method: 'POST',
        path: '/login',
        json: { username: '{{username}}', password: '{{password}}' },
      },
      credentials: [{ name: 'session', from: 'cookie', cookie: 'sid' }],
      probe: {
        method: 'GET',
        path: '/me',
        authenticated: { status: 200, body_contains: '"user":"alice"' },
      },
      logout: { method: 'POST', path: '/logout' },
      policy: 'high',
    }),
    { quick: true, sampleSize: 0, only: ['SH-TOK-05', 'SH-TERM-01'] },
  );
  assert.deepEqual(
    verdicts(report),
    { 'SH-TOK-05': 'PASS', 'SH-TERM-01': 'PASS' },
    explain(report),
  );
});
