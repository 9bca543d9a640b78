import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { bearer, type Harness, type HarnessOptions, snapshot, startHarness } from './harness.js';

let h: Harness | undefined;
async function start(options: HarnessOptions = {}) {
  h = await startHarness({ ...options, engine: { touchIntervalSeconds: 0, ...options.engine } });
  return h;
}
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('tokens in a URL', () => {
  it('refuses ?access_token=, ?token=, ?refresh_token= and any token-shaped value with 400, without using it', async () => {
    const s = await start();
    const created = await s.createSession();
    s.clock.advance(60_000); // any validation would now move last_active_at
    const before = await snapshot(s, ['alice']);
    const urls = [
      `/v1/session?access_token=${created.access_token}`,
      `/v1/session?ACCESS_TOKEN=${created.access_token}`,
      `/v1/sessions?token=${created.access_token}`,
      `/v1/session?max_auth_age=5&x=${created.access_token}`,
      `/v1/session?refresh_token=anything`,
      `/v1/session?q=${encodeURIComponent(created.access_token)}`,
      `/v1/session?q=tsa%5F${created.access_token.slice(4)}`,
      `/v1/sessions/${created.access_token}`,
    ];
    for (const url of urls) {
      const response = await s.inject({
        method: 'GET',
        url,
        headers: bearer(created.access_token),
      });
      assert.equal(response.statusCode, 400, url);
      assert.equal(response.json().error, 'invalid_request');
      assert.equal(response.headers['cache-control'], 'no-store');
    }
    // a revoke or DELETE in the query is refused before it can end the session
    for (const [method, url] of [
      ['POST', `/v1/revoke?token=${created.refresh_token}`],
      ['POST', `/v1/token?grant_type=refresh_token&refresh_token=${created.refresh_token}`],
      ['DELETE', `/v1/sessions?access_token=${created.access_token}`],
    ] as const) {
      const response = await s.inject({ method, url, payload: {} });
      assert.equal(response.statusCode, 400, url);
    }
    assert.deepEqual(await snapshot(s, ['alice']), before, 'session neither touched nor ended');
  });
});

describe('headers on every answer', () => {
  it('sends no-store, nosniff and no-referrer on successes, errors and 404s; no HSTS without TLS', async () => {
    const s = await start();
    const created = await s.createSession();
    const answers = await Promise.all([
      s.inject({ method: 'GET', url: '/v1/session', headers: bearer(created.access_token) }),
      s.inject({ method: 'GET', url: '/v1/session' }),
      s.inject({ method: 'POST', url: '/v1/token', payload: { grant_type: 'x' } }),
      s.inject({ method: 'GET', url: '/nowhere' }),
      s.inject({ method: 'GET', url: '/healthz' }),
    ]);
    for (const response of answers) {
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(response.headers['pragma'], 'no-cache');
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['referrer-policy'], 'no-referrer');
      assert.equal(response.headers['strict-transport-security'], undefined);
    }
  });
});

describe('request bodies', () => {
  it('refuses a body over the limit with 413', async () => {
    const s = await start({ server: { bodyLimitBytes: 1024 } });
    const response = await s.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: bearer(s.keys.admin),
      payload: { user_id: 'a', user_agent: 'x'.repeat(2000) },
    });
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().error, 'request_too_large');
  });

  it('refuses unsupported content types with 415, form bodies outside the OAuth endpoints too', async () => {
    const s = await start();
    for (const [url, type] of [
      ['/v1/sessions', 'text/plain'],
      ['/v1/sessions', 'application/x-www-form-urlencoded'],
      ['/v1/token', 'multipart/form-data; boundary=x'],
      ['/v1/token', 'application/xml'],
    ]) {
      const response = await s.inject({
        method: 'POST',
        url: String(url),
        headers: { ...bearer(s.keys.admin), 'content-type': String(type) },
        payload: 'user_id=a',
      });
      assert.equal(response.statusCode, 415, `${url} ${type}`);
      assert.equal(response.json().error, 'unsupported_media_type');
    }
  });

  it('answers malformed JSON with 400 and does not echo the body', async () => {
    const s = await start();
    const response = await s.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/json' },
      payload: '{"grant_type":"refresh_token","refresh_token":"tsr_secretsecretsecret',
    });
    assert.equal(response.statusCode, 400);
    assert.deepEqual(response.json(), {
      error: 'invalid_request',
      error_description: 'the body is not valid JSON',
    });
  });

  it('refuses prototype-poisoning bodies with 400', async () => {
    const s = await start();
    for (const payload of [
      '{"user_id":"a","__proto__":{"admin":true}}',
      '{"user_id":"a","constructor":{"prototype":{"admin":true}}}',
    ]) {
      const response = await s.inject({
        method: 'POST',
        url: '/v1/sessions',
        headers: { ...bearer(s.keys.admin), 'content-type': 'application/json' },
        payload,
      });
      assert.equal(response.statusCode, 400);
    }
  });
});

describe('rate limits on /v1/token and /v1/revoke', () => {
  it('answers 429 with Retry-After past the limit, per client IP', async () => {
    const s = await start({ server: { rateLimit: { tokenPerMinute: 2, revokePerMinute: 1 } } });
    const token = () =>
      s.inject({ method: 'POST', url: '/v1/token', payload: { grant_type: 'refresh_token' } });
    assert.equal((await token()).statusCode, 400);
    assert.equal((await token()).statusCode, 400);
    const limited = await token();
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.equal(limited.json().error, 'too_many_requests');
    const other = await s.inject({
      method: 'POST',
      url: '/v1/token',
      remoteAddress: '198.51.100.9',
      payload: { grant_type: 'refresh_token' },
    });
    assert.equal(other.statusCode, 400, 'another IP has its own budget');
    const revoke = () => s.inject({ method: 'POST', url: '/v1/revoke', payload: { token: 'x' } });
    assert.equal((await revoke()).statusCode, 200);
    assert.equal((await revoke()).statusCode, 429);
  });

  it('keys the limit on X-Forwarded-For only when trustProxy is on', async () => {
    const limitedBehind = async (trustProxy: boolean) => {
      const s = await start({ server: { trustProxy, rateLimit: { tokenPerMinute: 1 } } });
      const from = (ip: string) =>
        s.inject({
          method: 'POST',
          url: '/v1/token',
          headers: { 'x-forwarded-for': ip },
          payload: { grant_type: 'refresh_token' },
        });
      await from('192.0.2.1');
      const status = (await from('192.0.2.2')).statusCode;
      await s.close();
      h = undefined;
      return status;
    };
    assert.equal(await limitedBehind(true), 400, 'two clients behind the proxy: separate budgets');
    assert.equal(await limitedBehind(false), 429, 'X-Forwarded-For is ignored: one budget');
  });

  it('can be turned off', async () => {
    const s = await start({ server: { rateLimit: { enabled: false, tokenPerMinute: 1 } } });
    for (let i = 0; i < 3; i++) {
      const response = await s.inject({
        method: 'POST',
        url: '/v1/revoke',
        payload: { token: 'x' },
      });
      assert.equal(response.statusCode, 200);
    }
  });
});

describe('TLS', () => {
  it('serves HTTPS with the given certificate and sends HSTS on every answer', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
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
    const cert = readFileSync(certPath);
    const s = await start({ server: { tls: { cert, key: readFileSync(keyPath) } } });
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = s.app.server.address() as { port: number };
    const get = (path: string) =>
      new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path, ca: cert }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const path of ['/healthz', '/v1/session']) {
      const response = await get(path);
      assert.equal(
        response.headers['strict-transport-security'],
        'max-age=31536000; includeSubDomains',
        path,
      );
    }
    assert.equal((await get('/v1/session')).status, 401);
  });
});
