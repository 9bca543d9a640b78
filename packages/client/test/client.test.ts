import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStorage, createTesseraClient, type TesseraClientError } from '@tessera/client';
import { createFakeService } from './fake-service.js';

const BASE = 'https://auth.example.test';

function setup(ttlSeconds = 300) {
  const service = createFakeService(ttlSeconds);
  const storage = createMemoryStorage();
  const make = () =>
    createTesseraClient({ baseUrl: BASE, storage, fetch: service.fetch, clock: service });
  return { service, storage, client: make(), make };
}

describe('@tessera/client against a fake service', () => {
  it('attaches the access token and refreshes once for 20 concurrent calls across an expiry', async () => {
    const { service, client } = setup();
    await client.setSession(service.signIn());
    const first = await client.fetch('/api/me');
    assert.equal(((await first.json()) as { access: string }).access, 'at1');
    service.advance(301_000);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => client.fetch(`${BASE}/api/me`)),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(20).fill(200),
    );
    assert.equal(service.refreshCount, 1);
  });

  it('keeps a pair whose access token has no life left (a grace replay) and refreshes on the next call', async () => {
    const { service, client } = setup();
    await client.setSession({ ...service.signIn(), expires_in: 0 });
    assert.equal((await client.fetch('/api/me')).status, 200);
    assert.equal(service.refreshCount, 1);
  });

  it('refreshes before expiry inside the margin, judged on the monotonic clock', async () => {
    const { service, client } = setup();
    await client.setSession(service.signIn());
    service.advance(280_000); // 20 s left < 30 s margin
    await Promise.all(Array.from({ length: 5 }, () => client.fetch('/api/me')));
    assert.equal(service.refreshCount, 1);
  });

  it('refreshes once and retries when a 401 access_token_expired comes back for 20 callers', async () => {
    const { service } = setup();
    // The client's clock never moves, so only the server's 401 can tell it the token expired.
    const frozen = createTesseraClient({
      baseUrl: BASE,
      storage: createMemoryStorage(),
      fetch: service.fetch,
      clock: { now: () => 0 },
    });
    await frozen.setSession(service.signIn());
    service.advance(400_000);
    const answers = await Promise.all(Array.from({ length: 20 }, () => frozen.fetch('/api/me')));
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal(service.refreshCount, 1);
  });

  it('retries a refresh whose answer was lost with the parent and gets the same pair', async () => {
    const { service, client, storage } = setup();
    await client.setSession(service.signIn());
    service.advance(301_000);
    service.dropNextTokenAnswer = true;
    await assert.rejects(client.fetch('/api/me'), (e: TesseraClientError) => e.code === 'network');
    assert.equal(JSON.parse((await storage.get('tessera.session'))!).pendingParent, 'rt1');
    const answer = await client.fetch('/api/me');
    assert.equal(((await answer.json()) as { access: string }).access, 'at2'); // the same pair
    assert.equal(service.refreshCount, 2);
    assert.deepEqual(JSON.parse((await storage.get('tessera.session'))!), {
      refreshToken: 'rt2',
      tokenType: 'Bearer',
    });
  });

  it('recovers when the app is killed mid-rotation: a new client over the same storage finishes it', async () => {
    const { service, client, make } = setup();
    await client.setSession(service.signIn());
    service.advance(301_000);
    service.dropNextTokenAnswer = true; // the process dies before reading the answer
    await assert.rejects(client.fetch('/api/me'));
    const restarted = make();
    const answer = await restarted.fetch('/api/me');
    assert.equal(answer.status, 200);
    assert.equal(((await answer.json()) as { access: string }).access, 'at2');
    assert.ok(await restarted.isSignedIn());
  });

  it('logs out offline at once and delivers the revoke on the next start', async () => {
    const { service, client, storage, make } = setup();
    await client.setSession(service.signIn());
    const reasons: string[] = [];
    client.onSignOut((r) => reasons.push(r));
    service.offline = true;
    await client.logout();
    assert.deepEqual(reasons, ['logout']);
    assert.equal(await client.isSignedIn(), false);
    assert.deepEqual(service.revoked, []);
    assert.notEqual(await storage.get('tessera.pendingRevoke'), null);
    service.offline = false;
    const restarted = make();
    await assert.rejects(
      restarted.fetch('/api/me'),
      (e: TesseraClientError) => e.code === 'not_signed_in',
    );
    assert.deepEqual(service.revoked, ['rt1']);
    assert.equal(await storage.get('tessera.pendingRevoke'), null);
  });

  it('logs out online by revoking on the server before erasing', async () => {
    const { service, client } = setup();
    await client.setSession(service.signIn());
    await client.logout();
    assert.deepEqual(service.revoked, ['rt1']);
    assert.equal(await client.isSignedIn(), false);
  });

  it('reports the tessera_reason of a refused refresh as the sign-out reason', async () => {
    const { service, client } = setup();
    await client.setSession(service.signIn());
    const reasons: string[] = [];
    client.onSignOut((r) => reasons.push(r));
    service.advance(301_000);
    service.endReason = 'idle_timeout';
    await assert.rejects(
      client.fetch('/api/me'),
      (e: TesseraClientError) => e.code === 'session_ended' && e.reason === 'idle_timeout',
    );
    assert.deepEqual(reasons, ['idle_timeout']);
    assert.equal(await client.isSignedIn(), false);
  });

  it('signs out on a resource 401 that names an end reason, without refreshing', async () => {
    const { service, client } = setup();
    await client.setSession(service.signIn());
    const reasons: string[] = [];
    client.onSignOut((r) => reasons.push(r));
    service.endReason = 'refresh_token_reuse';
    await assert.rejects(
      client.fetch('/api/me'),
      (e: TesseraClientError) => e.code === 'session_ended',
    );
    assert.deepEqual(reasons, ['refresh_token_reuse']);
    assert.equal(service.refreshCount, 0);
  });

  it('says revoked when the refresh is refused without a reason', async () => {
    const { service, client } = setup();
    const reasons: string[] = [];
    client.onSignOut((r) => reasons.push(r));
    // A token the server does not know (ended and purged): invalid_grant without tessera_reason.
    await client.setSession({ access_token: 'x', refresh_token: 'unknown', expires_in: 1 });
    service.advance(2000);
    await assert.rejects(
      client.fetch('/api/me'),
      (e: TesseraClientError) => e.code === 'session_ended' && e.reason === 'revoked',
    );
    assert.deepEqual(reasons, ['revoked']);
    assert.equal(service.refreshCount, 1);
  });

  it('refuses to call without a session and rejects a malformed token answer', async () => {
    const { client } = setup();
    await assert.rejects(
      client.fetch('/api/me'),
      (e: TesseraClientError) => e.code === 'not_signed_in',
    );
    await assert.rejects(
      client.setSession({ access_token: 'a' } as never),
      (e: TesseraClientError) => e.code === 'invalid_response',
    );
  });
});

describe('@tessera/client edge rules', () => {
  /** A scripted service: /v1/token waits for `release()`; /api answers what `api` says. */
  function scripted() {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: string[] = [];
    let api: () => Response = () => Response.json({ ok: true });
    const fetchImpl: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const path = new URL(request.url).pathname;
      seen.push(path);
      if (path === '/v1/token') {
        await gate;
        return Response.json({ access_token: 'at2', refresh_token: 'rt2', expires_in: 300 });
      }
      if (path === '/v1/revoke') return new Response(null, { status: 200 });
      return api();
    };
    return {
      seen,
      release: () => release(),
      setApi: (f: () => Response) => {
        api = f;
      },
      fetch: fetchImpl,
    };
  }

  it('a logout while a refresh is in flight wins: the late answer does not bring the session back', async () => {
    const s = scripted();
    const storage = createMemoryStorage();
    let now = 0;
    const client = createTesseraClient({
      baseUrl: BASE,
      storage,
      fetch: s.fetch,
      clock: { now: () => now },
    });
    await client.setSession({ access_token: 'at1', refresh_token: 'rt1', expires_in: 300 });
    now = 301_000;
    const call = client.fetch('/api/me');
    while (!s.seen.includes('/v1/token')) await new Promise((resolve) => setImmediate(resolve));
    await client.logout();
    s.release();
    await assert.rejects(call, (e: TesseraClientError) => e.code === 'not_signed_in');
    assert.equal(await client.isSignedIn(), false);
    assert.equal(await storage.get('tessera.session'), null);
  });

  it('a 401 that is not about the token (no invalid_token) is handed back without a refresh', async () => {
    const s = scripted();
    s.release();
    s.setApi(
      () =>
        new Response('no', { status: 401, headers: { 'www-authenticate': 'Basic realm="admin"' } }),
    );
    const client = createTesseraClient({
      baseUrl: BASE,
      storage: createMemoryStorage(),
      fetch: s.fetch,
      clock: { now: () => 0 },
    });
    await client.setSession({ access_token: 'at1', refresh_token: 'rt1', expires_in: 300 });
    assert.equal((await client.fetch('/api/admin')).status, 401);
    assert.deepEqual(s.seen, ['/api/admin']);
  });
});

describe('@tessera/client revoke retries', () => {
  it('a revoke queued by an offline logout is retried on a timer, 5 s then doubling, until it is delivered', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let online = false;
    const revokeAttempts: boolean[] = [];
    const client = createTesseraClient({
      baseUrl: BASE,
      storage: createMemoryStorage(),
      clock: { now: () => 0 },
      fetch: async (input, init) => {
        const request = new Request(input, init);
        if (new URL(request.url).pathname === '/v1/revoke') revokeAttempts.push(online);
        if (!online) throw new TypeError('fetch failed (offline)');
        return new Response(null, { status: 200 });
      },
    });
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    await client.setSession({ access_token: 'at1', refresh_token: 'rt1', expires_in: 300 });
    await client.logout();
    assert.deepEqual(revokeAttempts, [false]);
    t.mock.timers.tick(4999);
    await settle();
    assert.equal(revokeAttempts.length, 1);
    t.mock.timers.tick(1); // 5 s
    await settle();
    assert.deepEqual(revokeAttempts, [false, false]);
    t.mock.timers.tick(9999);
    await settle();
    assert.equal(revokeAttempts.length, 2);
    t.mock.timers.tick(1); // 10 s more
    await settle();
    assert.deepEqual(revokeAttempts, [false, false, false]);
    online = true;
    t.mock.timers.tick(20_000);
    await settle();
    assert.deepEqual(revokeAttempts, [false, false, false, true]);
    t.mock.timers.tick(10 * 60_000);
    await settle();
    assert.equal(revokeAttempts.length, 4, 'nothing left to retry');
    assert.equal(await client.flushPendingRevokes(), true);
  });
});

describe('@tessera/client storage failures', () => {
  it('a locked Keychain is storage_unavailable, and the client works again once it is unlocked', async () => {
    const { service } = setup();
    const inner = createMemoryStorage();
    let locked = false;
    const keychain = {
      get: async (key: string) => {
        if (locked) throw new Error('errSecInteractionNotAllowed');
        return inner.get(key);
      },
      set: async (key: string, value: string) => {
        if (locked) throw new Error('errSecInteractionNotAllowed');
        return inner.set(key, value);
      },
      delete: (key: string) => inner.delete(key),
    };
    const client = createTesseraClient({
      baseUrl: BASE,
      storage: keychain,
      fetch: service.fetch,
      clock: service,
    });
    await client.setSession(service.signIn());
    service.advance(301_000);
    locked = true;
    await assert.rejects(
      client.fetch('/api/me'),
      (e: TesseraClientError) => e.code === 'storage_unavailable',
    );
    assert.equal(service.refreshCount, 0, 'nothing sent without the refresh token');
    locked = false;
    assert.equal((await client.fetch('/api/me')).status, 200);
    assert.equal(service.refreshCount, 1);
  });
});

describe('@tessera/client configuration', () => {
  const make = (baseUrl: string, extra: Record<string, unknown> = {}) =>
    createTesseraClient({ baseUrl, storage: createMemoryStorage(), ...extra });
  const invalidConfig = (e: unknown) => (e as TesseraClientError).code === 'invalid_config';

  it('sends tokens over https only; http for loopback hosts or with allowInsecureHttp', () => {
    make('https://auth.example.com');
    make('http://localhost:8080');
    make('http://127.0.0.1:8080');
    make('http://[::1]:8080');
    make('http://dev.localhost');
    assert.throws(() => make('http://auth.example.com'), invalidConfig);
    assert.throws(
      () => make('https://auth.example.com', { resourceOrigins: ['http://api.example.com'] }),
      invalidConfig,
    );
    make('http://10.0.2.2:8080', { allowInsecureHttp: true });
    assert.throws(() => make('auth.example.com'), invalidConfig);
  });
});
