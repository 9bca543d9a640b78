import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import {
  createMemoryStorage,
  createTesseraClient,
  memoryDpopKeyStore,
  type SecureStorage,
  type TesseraClient,
  TesseraClientError,
  type TesseraClientOptions,
} from '@tessera/client';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  exportJWK,
  generateKeyPair,
  type CryptoKey as JoseKey,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { type Service, type ServiceOptions, startService } from './service.js';

/*
 * The SDK driven against the real service over a socket (SQLite, a manual clock shared by the
 * server and the client's monotonic clock): what a phone meets (concurrent refreshes across an
 * expiry, a lost answer, a kill mid-rotation, an offline logout), DPoP device binding (RFC
 * 9449) with every refusal the server must make, and the reason of every sign-out.
 */

let service: Service | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

async function start(options: ServiceOptions = {}): Promise<Service> {
  service = await startService(options);
  return service;
}

/** A fetch in front of the real one that a test can take offline or make lose answers. */
function network() {
  const state = {
    offline: false,
    /** The next /v1/token answer reaches the server and is then lost (or hangs forever). */
    loseNextToken: null as null | 'drop' | 'hang',
    lost: [] as Record<string, unknown>[],
    sent: [] as {
      method: string;
      url: string;
      authorization: string | null;
      dpop: string | null;
    }[],
    statuses: [] as { url: string; status: number }[],
  };
  const fetchThrough: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (state.offline) throw new TypeError('fetch failed (offline)');
    state.sent.push({
      method: request.method,
      url: request.url,
      authorization: request.headers.get('authorization'),
      dpop: request.headers.get('dpop'),
    });
    const response = await fetch(request);
    state.statuses.push({ url: request.url, status: response.status });
    if (state.loseNextToken !== null && new URL(request.url).pathname === '/v1/token') {
      const how = state.loseNextToken;
      state.loseNextToken = null;
      state.lost.push((await response.json()) as Record<string, unknown>);
      if (how === 'hang') return new Promise<Response>(() => undefined);
      throw new TypeError('fetch failed (connection reset)');
    }
    return response;
  };
  return { state, fetch: fetchThrough };
}

function clientFor(
  s: Service,
  net: ReturnType<typeof network>,
  storage: SecureStorage,
  extra: Partial<TesseraClientOptions> = {},
): TesseraClient {
  return createTesseraClient({
    baseUrl: s.url,
    storage,
    fetch: net.fetch,
    clock: { now: () => s.clock.now() },
    wallClock: () => s.clock.now(),
    ...extra,
  });
}

const code = (expected: string, reason?: string) => (error: unknown) => {
  assert.ok(error instanceof TesseraClientError, String(error));
  assert.equal(error.code, expected, error.message);
  if (reason !== undefined) assert.equal(error.reason, reason);
  return true;
};

async function refreshRaw(s: Service, refreshToken: string, dpop?: string) {
  return fetch(`${s.url}/v1/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(dpop === undefined ? {} : { dpop }),
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
}

const ACCESS_TTL_MS = 300_000; // the default policy's access-token lifetime

describe('@tessera/client against the real service', () => {
  it('20 concurrent calls across an expiry: exactly one refresh request reaches the server', async () => {
    const s = await start();
    const net = network();
    const client = clientFor(s, net, createMemoryStorage());
    await client.setSession(await s.signIn());
    assert.equal((await client.fetch('/v1/session')).status, 200);
    assert.equal(s.tokenRequests(), 0);
    s.clock.advance(ACCESS_TTL_MS + 1000);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => client.fetch(`${s.url}/v1/session`)),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(20).fill(200),
    );
    assert.equal(s.tokenRequests(), 1);
  });

  it('a refresh whose answer is dropped is retried with the same token inside the grace window and gets the same pair', async () => {
    const s = await start();
    const net = network();
    const storage = createMemoryStorage();
    const client = clientFor(s, net, storage);
    const signedIn = await s.signIn();
    await client.setSession(signedIn);
    s.clock.advance(ACCESS_TTL_MS + 1000);
    net.state.loseNextToken = 'drop';
    await assert.rejects(client.fetch('/v1/session'), code('network'));
    assert.equal(s.tokenRequests(), 1); // the server rotated; the phone never saw the answer
    s.clock.advance(2000); // inside the grace window
    const answer = await client.fetch('/v1/session');
    assert.equal(answer.status, 200);
    assert.equal(s.tokenRequests(), 2);
    const sentTokens = net.state.sent.filter((r) => r.url.endsWith('/v1/token'));
    assert.equal(sentTokens.length, 2);
    // The same pair as the lost answer: the access token now used is the one the server minted.
    const lost = net.state.lost[0] as { access_token: string; refresh_token: string };
    assert.equal(net.state.sent.at(-1)?.authorization, `Bearer ${lost.access_token}`);
    assert.equal(
      JSON.parse((await storage.get('tessera.session')) ?? '{}').refreshToken,
      lost.refresh_token,
    );
    // The session lives on: no reuse detection, and the next rotation works too.
    s.clock.advance(ACCESS_TTL_MS + 1000);
    assert.equal((await client.fetch('/v1/session')).status, 200);
    assert.equal(s.tokenRequests(), 3);
  });

  it('a kill during rotation: a new client over the same storage finishes it with the same pair', async () => {
    const s = await start();
    const net = network();
    const storage = createMemoryStorage();
    const doomed = clientFor(s, net, storage);
    const signedIn = await s.signIn();
    await doomed.setSession(signedIn);
    s.clock.advance(ACCESS_TTL_MS + 1000);
    net.state.loseNextToken = 'hang'; // the process dies while the answer is on its way
    void doomed.fetch('/v1/session'); // abandoned, never settles
    while (net.state.lost.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(JSON.parse((await storage.get('tessera.session')) ?? '{}').pendingParent);
    const restarted = clientFor(s, network(), storage);
    const answer = await restarted.fetch('/v1/session');
    assert.equal(answer.status, 200);
    const lost = net.state.lost[0] as { refresh_token: string };
    assert.deepEqual(JSON.parse((await storage.get('tessera.session')) ?? '{}'), {
      refreshToken: lost.refresh_token,
      tokenType: 'Bearer',
      sessionId: signedIn.session.id,
    });
    s.clock.advance(ACCESS_TTL_MS + 1000);
    assert.equal((await restarted.fetch('/v1/session')).status, 200);
    assert.equal(s.tokenRequests(), 3);
  });

  it('logout while offline signs out at once; the revoke reaches the server when it is back, and the old tokens are refused', async () => {
    const s = await start();
    const net = network();
    const storage = createMemoryStorage();
    const client = clientFor(s, net, storage);
    const signedIn = await s.signIn();
    await client.setSession(signedIn);
    const reasons: string[] = [];
    client.onSignOut((reason) => reasons.push(reason));
    net.state.offline = true;
    await client.logout();
    assert.deepEqual(reasons, ['logout']);
    assert.equal(await client.isSignedIn(), false);
    assert.ok(await s.tessera.getLiveSession(signedIn.session.id), 'the server cannot know yet');
    assert.equal(s.revokeRequests(), 0);
    // Still offline: a retry fails and stays queued.
    assert.equal(await client.flushPendingRevokes(), false);
    // Back online, and the app restarted: the new instance sends the queued revoke first.
    net.state.offline = false;
    const restarted = clientFor(s, net, storage);
    await assert.rejects(restarted.fetch('/v1/session'), code('not_signed_in'));
    assert.equal(s.revokeRequests(), 1);
    assert.equal(await s.tessera.getLiveSession(signedIn.session.id), null);
    const refused = await refreshRaw(s, signedIn.refresh_token);
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');
    const old = await fetch(`${s.url}/v1/session`, {
      headers: { authorization: `Bearer ${signedIn.access_token}` },
    });
    assert.equal(old.status, 401);
    assert.equal(await storage.get('tessera.pendingRevoke'), null);
  });

  it('logout online ends the server session first, then local state', async () => {
    const s = await start();
    const net = network();
    const client = clientFor(s, net, createMemoryStorage());
    const signedIn = await s.signIn();
    await client.setSession(signedIn);
    await client.logout();
    assert.equal(s.revokeRequests(), 1);
    assert.equal(await s.tessera.getLiveSession(signedIn.session.id), null);
    assert.equal((await refreshRaw(s, signedIn.refresh_token)).status, 400);
  });

  it('sign-out events carry the reason: idle_timeout', async () => {
    const s = await start();
    const client = clientFor(s, network(), createMemoryStorage());
    const reasons: string[] = [];
    client.onSignOut((reason) => reasons.push(reason));
    await client.setSession(await s.signIn());
    s.clock.advance(31 * 60_000); // the default policy (medium) idles out after 30 minutes
    await assert.rejects(client.fetch('/v1/session'), code('session_ended', 'idle_timeout'));
    assert.deepEqual(reasons, ['idle_timeout']);
    assert.equal(await client.isSignedIn(), false);
  });

  it('sign-out events carry the reason: refresh_token_reuse, when a copied refresh token is replayed', async () => {
    const s = await start({ engine: { refreshGraceSeconds: 10 } });
    const client = clientFor(s, network(), createMemoryStorage());
    const reasons: string[] = [];
    client.onSignOut((reason) => reasons.push(reason));
    const signedIn = await s.signIn();
    await client.setSession(signedIn);
    s.clock.advance(ACCESS_TTL_MS + 1000);
    assert.equal((await client.fetch('/v1/session')).status, 200); // rotated
    s.clock.advance(60_000); // past the grace window, a thief replays the copied token
    assert.equal((await refreshRaw(s, signedIn.refresh_token)).status, 400);
    s.clock.advance(ACCESS_TTL_MS);
    await assert.rejects(client.fetch('/v1/session'), code('session_ended', 'refresh_token_reuse'));
    assert.deepEqual(reasons, ['refresh_token_reuse']);
  });

  it('sign-out events carry the reason: admin, logout elsewhere, and revoked when the service gives none', async () => {
    const s = await start();
    const reasons: string[] = [];
    // An administrator ends the session: the next call tells the app why.
    const one = clientFor(s, network(), createMemoryStorage());
    one.onSignOut((reason) => reasons.push(`one:${reason}`));
    const first = await s.signIn();
    await one.setSession(first);
    assert.equal((await s.backend('DELETE', `/v1/sessions/${first.session.id}`)).status, 200);
    await assert.rejects(one.fetch('/v1/session'), code('session_ended', 'admin'));
    // The token revoked from somewhere else (RFC 7009 on the access token): reason logout.
    const two = clientFor(s, network(), createMemoryStorage());
    two.onSignOut((reason) => reasons.push(`two:${reason}`));
    const second = await s.signIn();
    await two.setSession(second);
    await fetch(`${s.url}/v1/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: second.access_token }),
    });
    await assert.rejects(two.fetch('/v1/session'), code('session_ended', 'logout'));
    // A pair this service never issued (say, a restored backup of another install): the
    // refusal names no reason, so the client says revoked.
    const other = await startService();
    try {
      const three = clientFor(s, network(), createMemoryStorage());
      three.onSignOut((reason) => reasons.push(`three:${reason}`));
      await three.setSession(await other.signIn());
      await assert.rejects(three.fetch('/v1/session'), code('session_ended', 'revoked'));
    } finally {
      await other.close();
    }
    assert.deepEqual(reasons, ['one:admin', 'two:logout', 'three:revoked']);
  });

  it('a "your devices" screen: sessions(), endOtherSessions(), endSession()', async () => {
    const s = await start();
    const phone = clientFor(s, network(), createMemoryStorage());
    const tablet = clientFor(s, network(), createMemoryStorage());
    const laptop = clientFor(s, network(), createMemoryStorage());
    const phoneSession = await s.signIn({ device: { name: 'phone', platform: 'ios' } });
    const tabletSession = await s.signIn({ device: { name: 'tablet' } });
    await phone.setSession(phoneSession);
    await tablet.setSession(tabletSession);
    await laptop.setSession(await s.signIn({ device: { name: 'laptop' } }));
    await s.signIn({ user_id: 'bob' });
    const listed = await phone.sessions();
    assert.equal(listed.length, 3); // alice's only
    assert.deepEqual(
      listed.filter((x) => x.current).map((x) => x.id),
      [phoneSession.session.id],
    );
    assert.equal(listed.find((x) => x.current)?.device.platform, 'ios');
    // Ending one device, then someone else's id or an unknown one.
    await phone.endSession(tabletSession.session.id);
    await assert.rejects(tablet.fetch('/v1/session'), code('session_ended', 'logout'));
    await assert.rejects(phone.endSession(tabletSession.session.id), code('not_found'));
    assert.equal(await phone.endOtherSessions(), 1); // the laptop
    await assert.rejects(laptop.fetch('/v1/session'), code('session_ended', 'logout_all'));
    assert.equal((await phone.sessions()).length, 1);
    // Ending its own session is a logout.
    const reasons: string[] = [];
    phone.onSignOut((reason) => reasons.push(reason));
    await phone.endSession(phoneSession.session.id);
    assert.deepEqual(reasons, ['logout']);
    assert.equal(await phone.isSignedIn(), false);
  });

  it('ensureFreshAuth surfaces the RFC 9470 challenge as step_up_required with its max_age', async () => {
    const s = await start();
    const client = clientFor(s, network(), createMemoryStorage());
    await client.setSession(await s.signIn());
    await client.ensureFreshAuth(60);
    s.clock.advance(120_000);
    await assert.rejects(client.ensureFreshAuth(60), (error: unknown) => {
      assert.ok(error instanceof TesseraClientError);
      assert.equal(error.code, 'step_up_required');
      assert.equal(error.maxAgeSeconds, 60);
      return true;
    });
    assert.equal(await client.isSignedIn(), true, 'a step-up is not a sign-out');
    await client.ensureFreshAuth(600);
  });

  it('never sends the access token to an origin outside resourceOrigins', async () => {
    const s = await start();
    const net = network();
    const client = clientFor(s, net, createMemoryStorage());
    await client.setSession(await s.signIn());
    await assert.rejects(
      client.fetch('https://tracker.example/collect'),
      code('origin_not_allowed'),
    );
    assert.equal(net.state.sent.length, 0);
  });
});

interface ForeignKey {
  privateKey: JoseKey;
  jwk: JWK;
}

async function foreignKey(): Promise<ForeignKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: await exportJWK(publicKey) };
}

function foreignProof(
  s: Service,
  key: ForeignKey,
  claims: Record<string, unknown>,
): Promise<string> {
  return new SignJWT({ jti: crypto.randomUUID(), iat: Math.floor(s.clock.now() / 1000), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .sign(key.privateKey);
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

describe('@tessera/client with DPoP against the real service (RFC 9449)', () => {
  async function boundClient(s: Service, options: Partial<TesseraClientOptions> = {}) {
    const net = network();
    const storage = createMemoryStorage();
    const client = clientFor(s, net, storage, {
      dpop: { keyStore: memoryDpopKeyStore() },
      ...options,
    });
    const jkt = await client.jkt();
    const signedIn = await s.signIn({ dpop_jkt: jkt });
    assert.equal(signedIn.token_type, 'DPoP');
    await client.setSession(signedIn);
    return { net, client, storage, jkt, signedIn };
  }

  it('a bound session works with the client key: proofs that jose and the server verify', async () => {
    const s = await start();
    const { net, client, jkt } = await boundClient(s);
    assert.equal((await client.fetch('/v1/session')).status, 200);
    const before = Math.floor(s.clock.now() / 1000);
    s.clock.advance(ACCESS_TTL_MS + 1000);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => client.fetch('/v1/session?max_auth_age=3600#top')),
    );
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal(s.tokenRequests(), 1);
    const jtis = new Set<string>();
    for (const sent of net.state.sent) {
      assert.ok(sent.dpop, `${sent.method} ${sent.url} carries a proof`);
      const { payload, protectedHeader } = await jwtVerify(sent.dpop, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256'],
      });
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal((protectedHeader.jwk as JWK | undefined)?.d, undefined, 'public key only');
      assert.equal(await calculateJwkThumbprint(protectedHeader.jwk as JWK, 'sha256'), jkt);
      const url = new URL(sent.url);
      assert.equal(payload['htm'], sent.method);
      assert.equal(payload['htu'], `${url.origin}${url.pathname}`, 'htu without query or fragment');
      // The clock of the moment each proof was made (the first one before the expiry).
      assert.ok([before, Math.floor(s.clock.now() / 1000)].includes(payload.iat ?? 0));
      assert.equal(typeof payload.jti, 'string');
      assert.ok(!jtis.has(payload.jti as string), 'a fresh jti for every proof');
      jtis.add(payload.jti as string);
      if (url.pathname === '/v1/token') {
        assert.equal(payload['ath'], undefined);
        assert.equal(sent.authorization, null);
      } else {
        const token = (sent.authorization ?? '').replace(/^DPoP /, '');
        assert.match(sent.authorization ?? '', /^DPoP tsa_/);
        assert.equal(payload['ath'], ath(token));
      }
    }
    assert.equal(decodeProtectedHeader(net.state.sent[0]?.dpop ?? '').typ, 'dpop+jwt');
  });

  it('refuses a proof from another key, a replayed proof and a stolen access token without the key', async () => {
    const s = await start();
    const { net, client, signedIn } = await boundClient(s);
    assert.equal((await client.fetch('/v1/session')).status, 200);
    const used = net.state.sent.at(-1);
    assert.ok(used?.dpop && used.authorization);
    const url = `${s.url}/v1/session`;
    const token = signedIn.access_token;
    const thief = await foreignKey();
    const attempts: [string, Record<string, string>][] = [
      [
        'a proof from another key',
        {
          authorization: `DPoP ${token}`,
          dpop: await foreignProof(s, thief, { htm: 'GET', htu: url, ath: ath(token) }),
        },
      ],
      ['a replayed proof', { authorization: used.authorization, dpop: used.dpop }],
      ['the token as Bearer, without a proof', { authorization: `Bearer ${token}` }],
      ['the token as DPoP, without a proof', { authorization: `DPoP ${token}` }],
    ];
    for (const [what, headers] of attempts) {
      const answer = await fetch(url, { headers });
      assert.equal(answer.status, 401, what);
      assert.match(answer.headers.get('www-authenticate') ?? '', /^DPoP /, what);
    }
    // The refresh token is bound too: without a proof, or with another key's, it is refused.
    assert.equal((await refreshRaw(s, signedIn.refresh_token)).status, 400);
    const foreign = await refreshRaw(
      s,
      signedIn.refresh_token,
      await foreignProof(s, thief, { htm: 'POST', htu: `${s.url}/v1/token` }),
    );
    assert.equal(foreign.status, 400);
    assert.equal(((await foreign.json()) as { error: string }).error, 'invalid_dpop_proof');
    // None of that hurt the owner.
    assert.equal((await client.fetch('/v1/session')).status, 200);
    s.clock.advance(ACCESS_TTL_MS + 1000);
    assert.equal((await client.fetch('/v1/session')).status, 200);
  });

  it('a client with another key cannot use the bound session: dpop_proof_refused, the session is kept', async () => {
    const s = await start();
    const { storage } = await boundClient(s);
    const impostor = clientFor(s, network(), storage, { dpop: { keyStore: memoryDpopKeyStore() } });
    await assert.rejects(impostor.fetch('/v1/session'), code('dpop_proof_refused'));
    assert.equal(await impostor.isSignedIn(), true);
  });

  it('handles server nonces: use_dpop_nonce is answered once with the new nonce, on resource routes and on refresh', async () => {
    const s = await start({
      server: { dpop: { nonceSecret: 'n'.repeat(32), nonceSlotSeconds: 60 } },
    });
    const { net, client } = await boundClient(s);
    assert.equal((await client.fetch('/v1/session')).status, 200);
    assert.deepEqual(
      net.state.statuses.map((x) => x.status),
      [401, 200],
      'the first proof had no nonce',
    );
    // Several nonce slots later, the refresh meets a stale nonce and a challenge, and still works.
    s.clock.advance(ACCESS_TTL_MS + 1000);
    assert.equal((await client.fetch('/v1/session')).status, 200);
    const tokenAnswers = net.state.statuses.filter((x) => x.url.endsWith('/v1/token'));
    assert.deepEqual(
      tokenAnswers.map((x) => x.status),
      [400, 200],
    );
    const proofs = net.state.sent.map((x) => x.dpop ?? '');
    const last = await jwtVerify(proofs.at(-1) ?? '', EmbeddedJWK);
    assert.equal(typeof last.payload['nonce'], 'string');
  });

  it('a device clock two hours off: the first refused proof teaches the client the server time, on resources and on refresh', async () => {
    const s = await start({ realTime: true });
    const skewed = { wallClock: () => Date.now() - 2 * 3600_000 };
    const storage = createMemoryStorage();
    const keyStore = memoryDpopKeyStore();
    const net = network();
    const client = createTesseraClient({
      baseUrl: s.url,
      storage,
      fetch: net.fetch,
      dpop: { keyStore },
      wallClock: skewed.wallClock,
    });
    await client.setSession(await s.signIn({ dpop_jkt: await client.jkt() }));
    assert.equal((await client.fetch('/v1/session')).status, 200);
    assert.deepEqual(
      net.state.statuses.map((x) => x.status),
      [401, 200],
    );
    // A restarted app (no access token, no learned offset) refreshes first.
    const restarted = createTesseraClient({
      baseUrl: s.url,
      storage,
      fetch: net.fetch,
      dpop: { keyStore },
      wallClock: skewed.wallClock,
    });
    assert.equal((await restarted.fetch('/v1/session')).status, 200);
    assert.deepEqual(
      net.state.statuses.slice(2).map((x) => `${new URL(x.url).pathname} ${x.status}`),
      ['/v1/token 400', '/v1/token 200', '/v1/session 200'],
    );
  });

  it('the devices screen and step-up work the same for a bound session (Authorization: DPoP)', async () => {
    const s = await start();
    const { net, client, signedIn } = await boundClient(s);
    await s.signIn(); // another device of alice
    const listed = await client.sessions();
    assert.equal(listed.length, 2);
    assert.equal(listed.find((x) => x.current)?.id, signedIn.session.id);
    await client.ensureFreshAuth(60);
    s.clock.advance(120_000);
    await assert.rejects(client.ensureFreshAuth(60), code('step_up_required'));
    assert.equal(await client.endOtherSessions(), 1);
    assert.ok(net.state.sent.every((x) => /^DPoP tsa_/.test(x.authorization ?? '') && x.dpop));
  });

  it('refuses to adopt a DPoP-bound session without a key', async () => {
    const s = await start();
    const bound = await boundClient(s);
    const keyless = clientFor(s, network(), createMemoryStorage());
    await assert.rejects(keyless.setSession(bound.signedIn), code('dpop_unavailable'));
    await assert.rejects(keyless.jkt(), code('dpop_unavailable'));
  });
});
