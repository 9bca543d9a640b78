import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createMemoryStore, createTessera, type Tessera } from '@tessera/core';
import { buildServer, type ServerOptions } from '@tessera/server';
import type { FastifyInstance } from 'fastify';
import * as oauth from 'oauth4webapi';

/*
 * Interoperability (issue 10 §2): a third-party OAuth client that no one here wrote, oauth4webapi
 * with its own DPoP implementation, against the real service over a socket. It refreshes a
 * DPoP-bound session (RFC 9449 §5) and uses the new access token on a resource route (§7.1);
 * proofs from another key, replayed proofs and proofs for another URL are refused (§4.3, §11.1).
 * The server runs on the system clock: oauth4webapi signs `iat` with the real time.
 */

const client: oauth.Client = { client_id: 'tessera-mobile-app' };
const insecure = { [oauth.allowInsecureRequests]: true } as const; // plain http on 127.0.0.1

interface Service {
  app: FastifyInstance;
  tessera: Tessera;
  base: string;
  as: oauth.AuthorizationServer;
  serviceKey: string;
}

/** `buildServer().listen()` on 127.0.0.1, on the memory store and the system clock. */
async function startService(options: Partial<ServerOptions> = {}): Promise<Service> {
  const tessera = createTessera({ store: createMemoryStore() });
  const app = await buildServer({
    tessera,
    logger: false,
    purgeIntervalSeconds: 0,
    rateLimit: { enabled: false },
    ...options,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  const serviceKey = (await tessera.createServiceKey({ name: 'backend', scopes: ['admin'] })).key;
  return {
    app,
    tessera,
    base,
    as: { issuer: base, token_endpoint: `${base}/v1/token` },
    serviceKey,
  };
}

/** The service the current suite talks to. */
let svc: Service;
let base: string;
let as: oauth.AuthorizationServer;
function use(service: Service) {
  svc = service;
  ({ base, as } = service);
}

/** A P-256 key pair as a phone would hold it: the private half cannot be exported. */
const newKey = () => oauth.generateKeyPair('ES256');

interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  session: { id: string };
}

/** The app's backend signs the user in and binds the session to the phone's key (`dpop_jkt`). */
async function signIn(dpop: oauth.DPoPHandle): Promise<TokenAnswer> {
  const response = await fetch(`${base}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${svc.serviceKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'alice', dpop_jkt: await dpop.calculateThumbprint() }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  const answer = (await response.json()) as TokenAnswer;
  assert.equal(answer.token_type, 'DPoP'); // RFC 9449 §5: the pair is bound
  return answer;
}

/** Runs `call` once more when the server asks for a nonce (oauth4webapi caches it). */
async function withNonceRetry<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return call();
  }
}

function refreshWith(dpop: oauth.DPoPHandle, refreshToken: string, extra: object = {}) {
  return withNonceRetry(async () =>
    oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, {
        DPoP: dpop,
        ...insecure,
        ...extra,
      }),
    ),
  );
}

function getSession(dpop: oauth.DPoPHandle, accessToken: string, extra: object = {}) {
  return withNonceRetry(() =>
    oauth.protectedResourceRequest(
      accessToken,
      'GET',
      new URL(`${base}/v1/session`),
      undefined,
      undefined,
      {
        DPoP: dpop,
        ...insecure,
        ...extra,
      },
    ),
  );
}

/** A fetch that remembers the last DPoP proof it sent, so a test can replay it by hand. */
function recordingFetch() {
  const sent: string[] = [];
  const customFetch: typeof fetch = (url, init) => {
    const headers = init?.headers as Record<string, string> | undefined;
    if (headers?.dpop) sent.push(headers.dpop);
    return fetch(url, init);
  };
  return { sent, options: { [oauth.customFetch]: customFetch } };
}

async function expectTokenError(promise: Promise<unknown>, error: string) {
  await assert.rejects(promise, (thrown: unknown) => {
    assert.ok(thrown instanceof oauth.ResponseBodyError, String(thrown));
    assert.equal(thrown.status, 400);
    assert.equal(thrown.error, error);
    return true;
  });
}

async function expectResourceChallenge(promise: Promise<unknown>, error: string) {
  await assert.rejects(promise, (thrown: unknown) => {
    assert.ok(thrown instanceof oauth.WWWAuthenticateChallengeError, String(thrown));
    assert.equal(thrown.status, 401);
    const dpop = thrown.cause.find((c) => c.scheme === 'dpop');
    assert.ok(dpop, 'a DPoP challenge (RFC 9449 §7.1)');
    assert.equal(dpop.parameters.error, error);
    return true;
  });
}

describe('DPoP interoperability with oauth4webapi over a socket (RFC 9449)', () => {
  let plain: Service;
  before(async () => {
    plain = await startService();
    use(plain);
  });
  after(() => plain.app.close());

  it('refreshes a bound session and uses the new access token with a proof (§5, §7.1)', async () => {
    const dpop = oauth.DPoP(client, await newKey());
    const signedIn = await signIn(dpop);

    const refreshed = await refreshWith(dpop, signedIn.refresh_token);
    assert.equal(refreshed.token_type, 'dpop'); // oauth4webapi lower-cases it
    assert.notEqual(refreshed.refresh_token, signedIn.refresh_token);
    assert.ok(refreshed.refresh_token);

    const response = await getSession(dpop, refreshed.access_token);
    assert.equal(response.status, 200);
    const session = (await response.json()) as { id: string };
    assert.equal(session.id, signedIn.session.id);

    // the pair keeps working: a second refresh with the rotated token, then the resource again
    const again = await refreshWith(dpop, refreshed.refresh_token as string);
    assert.equal((await getSession(dpop, again.access_token)).status, 200);
  });

  it('refuses a refresh signed by another key, and the session survives it (§4.3 check 12, §5)', async () => {
    const dpop = oauth.DPoP(client, await newKey());
    const signedIn = await signIn(dpop);
    const thief = oauth.DPoP(client, await newKey());
    await expectTokenError(refreshWith(thief, signedIn.refresh_token), 'invalid_dpop_proof');
    // nothing was rotated or ended: the owner's refresh still works
    const refreshed = await refreshWith(dpop, signedIn.refresh_token);
    await expectResourceChallenge(getSession(thief, refreshed.access_token), 'invalid_dpop_proof');
    assert.equal((await getSession(dpop, refreshed.access_token)).status, 200);
  });

  it('refuses a replayed proof on /v1/token and on /v1/session (§11.1, jti)', async () => {
    const dpop = oauth.DPoP(client, await newKey());
    const signedIn = await signIn(dpop);
    const recorder = recordingFetch();
    const refreshed = await refreshWith(dpop, signedIn.refresh_token, recorder.options);
    const tokenProof = recorder.sent.at(-1) as string;

    // the same proof again, with the new refresh token: a replay of a used jti
    const replayedGrant = await fetch(`${base}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: tokenProof },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshed.refresh_token as string,
        client_id: client.client_id,
      }),
    });
    assert.equal(replayedGrant.status, 400);
    assert.equal(((await replayedGrant.json()) as { error: string }).error, 'invalid_dpop_proof');

    assert.equal((await getSession(dpop, refreshed.access_token, recorder.options)).status, 200);
    const resourceProof = recorder.sent.at(-1) as string;
    const replayedUse = await fetch(`${base}/v1/session`, {
      headers: { authorization: `DPoP ${refreshed.access_token}`, dpop: resourceProof },
    });
    assert.equal(replayedUse.status, 401);
    assert.match(
      String(replayedUse.headers.get('www-authenticate')),
      /^DPoP .*error="invalid_dpop_proof"/,
    );

    // the refused replay changed nothing: a fresh proof refreshes the same token
    const next = await refreshWith(dpop, refreshed.refresh_token as string);
    assert.equal((await getSession(dpop, next.access_token)).status, 200);
  });

  it('refuses a proof made for another URL or another method (§4.3 checks 8 and 9)', async () => {
    const keys = await newKey();
    const dpop = oauth.DPoP(client, keys);
    const signedIn = await signIn(dpop);
    // the bound key, but oauth4webapi is made to sign other htu/htm values than it sends to
    const signing = (claims: Record<string, unknown>) =>
      oauth.DPoP(client, keys, {
        [oauth.modifyAssertion]: (_header, payload) => Object.assign(payload, claims),
      });
    const forPath = signing({ htu: `${base}/v1/sessions` });
    const forHost = signing({ htu: 'https://tessera.example/v1/token' });
    const forMethod = signing({ htm: 'GET' });

    await expectTokenError(refreshWith(forPath, signedIn.refresh_token), 'invalid_dpop_proof');
    await expectTokenError(refreshWith(forHost, signedIn.refresh_token), 'invalid_dpop_proof');
    await expectTokenError(refreshWith(forMethod, signedIn.refresh_token), 'invalid_dpop_proof');
    await expectResourceChallenge(getSession(forPath, signedIn.access_token), 'invalid_dpop_proof');
    await expectResourceChallenge(
      getSession(signing({ htu: `http://localhost:1/v1/session` }), signedIn.access_token),
      'invalid_dpop_proof',
    );
    await expectResourceChallenge(
      getSession(signing({ htm: 'POST' }), signedIn.access_token),
      'invalid_dpop_proof',
    );

    // control: the same key with honest claims works, and a query string on the request is
    // not part of htu (§4.3 check 9: "without query and fragment parts")
    const withQuery = await withNonceRetry(() =>
      oauth.protectedResourceRequest(
        signedIn.access_token,
        'GET',
        new URL(`${base}/v1/session?max_auth_age=3600`),
        undefined,
        undefined,
        { DPoP: dpop, ...insecure },
      ),
    );
    assert.equal(withQuery.status, 200);
    assert.equal((await refreshWith(dpop, signedIn.refresh_token)).token_type, 'dpop');
  });

  it('refuses the bound access token with no proof, or presented as Bearer (§7.1, §7.2)', async () => {
    const dpop = oauth.DPoP(client, await newKey());
    const signedIn = await signIn(dpop);
    const noProof = await fetch(`${base}/v1/session`, {
      headers: { authorization: `DPoP ${signedIn.access_token}` },
    });
    assert.equal(noProof.status, 401);
    assert.match(String(noProof.headers.get('www-authenticate')), /^DPoP /);
    // a stolen token downgraded to Bearer, with or without a (valid) proof of its own
    for (const withProof of [false, true]) {
      const recorder = recordingFetch();
      if (withProof) await getSession(dpop, signedIn.access_token, recorder.options);
      const downgraded = await fetch(`${base}/v1/session`, {
        headers: {
          authorization: `Bearer ${signedIn.access_token}`,
          ...(withProof ? { dpop: recorder.sent.at(-1) as string } : {}),
        },
      });
      assert.equal(downgraded.status, 401);
    }
    // and a refresh without any proof
    const bare = await oauth.refreshTokenGrantRequest(
      as,
      client,
      oauth.None(),
      signedIn.refresh_token,
      insecure,
    );
    assert.equal(bare.status, 400);
    assert.equal(((await bare.json()) as { error: string }).error, 'invalid_dpop_proof');
  });
});

describe('DPoP server nonces with oauth4webapi (RFC 9449 §8, §9, §11.3)', () => {
  let nonced: Service;
  let stranger: Service;
  before(async () => {
    nonced = await startService({ dpop: { nonceSecret: randomBytes(32).toString('base64url') } });
    stranger = await startService({ dpop: { nonceSecret: randomBytes(32).toString('base64url') } });
    use(nonced);
  });
  after(async () => {
    await nonced.app.close();
    await stranger.app.close();
  });

  it('asks for a nonce with use_dpop_nonce, and the retried refresh and resource call work', async () => {
    const dpop = oauth.DPoP(client, await newKey());
    const signedIn = await signIn(dpop);
    // The first proof has no nonce: a 400 use_dpop_nonce with a DPoP-Nonce header (§8)
    await expectTokenError(
      (async () =>
        oauth.processRefreshTokenResponse(
          as,
          client,
          await oauth.refreshTokenGrantRequest(as, client, oauth.None(), signedIn.refresh_token, {
            DPoP: dpop,
            ...insecure,
          }),
        ))(),
      'use_dpop_nonce',
    );
    // oauth4webapi cached the nonce: the same refresh token now goes through (nothing rotated)
    const refreshed = await refreshWith(dpop, signedIn.refresh_token);
    assert.equal(refreshed.token_type, 'dpop');
    // the nonce is the service's, not the route's: the resource accepts it at once (§9)
    const recorder = recordingFetch();
    const response = await oauth.protectedResourceRequest(
      refreshed.access_token,
      'GET',
      new URL(`${base}/v1/session`),
      undefined,
      undefined,
      { DPoP: dpop, ...insecure, ...recorder.options },
    );
    assert.equal(response.status, 200);
    assert.equal(recorder.sent.length, 1);
  });

  it('refuses a proof without a nonce on the resource with a DPoP use_dpop_nonce challenge (§9, §11.3)', async () => {
    const dpop = oauth.DPoP(client, await newKey());
    const signedIn = await signIn(dpop);
    const response = await fetch(`${base}/v1/session`, {
      headers: { authorization: `DPoP ${signedIn.access_token}` },
    });
    assert.equal(response.status, 401); // no proof at all: not a nonce question
    await expectResourceChallenge(
      oauth.protectedResourceRequest(
        signedIn.access_token,
        'GET',
        new URL(`${base}/v1/session`),
        undefined,
        undefined,
        { DPoP: dpop, ...insecure },
      ),
      'use_dpop_nonce',
    );
    assert.equal((await getSession(dpop, signedIn.access_token)).status, 200);
  });

  it("refuses another service's nonce and a made-up one (§11.3)", async () => {
    const dpop = oauth.DPoP(client, await newKey());
    const signedIn = await signIn(dpop);
    // a nonce the other service handed out, in its answer to a proof without one
    const asked = await oauth.refreshTokenGrantRequest(
      stranger.as,
      client,
      oauth.None(),
      'tsr_any',
      { DPoP: oauth.DPoP(client, await newKey()), ...insecure },
    );
    const foreign = asked.headers.get('dpop-nonce');
    assert.ok(foreign, 'the other service hands out nonces too');
    for (const nonce of [foreign, 'made-up-nonce']) {
      const forged = oauth.DPoP(client, await newKey(), {
        [oauth.modifyAssertion]: (_header, payload) => Object.assign(payload, { nonce }),
      });
      const session = await signIn(forged);
      await expectTokenError(refreshWith(forged, session.refresh_token), 'use_dpop_nonce');
    }
    assert.equal((await refreshWith(dpop, signedIn.refresh_token)).token_type, 'dpop');
  });
});

describe('DPoP behind a proxy: htu is the public URL (public_url)', () => {
  let proxied: Service;
  const PUBLIC = 'https://auth.example.com/tessera';
  before(async () => {
    proxied = await startService({ publicUrl: PUBLIC });
    use(proxied);
  });
  after(() => proxied.app.close());

  it('accepts proofs for the public URL and refuses proofs for the internal one (§4.3 check 9)', async () => {
    const keys = await newKey();
    const internal = oauth.DPoP(client, keys); // signs htu for http://127.0.0.1:port/…
    const signedIn = await signIn(internal);
    await expectTokenError(refreshWith(internal, signedIn.refresh_token), 'invalid_dpop_proof');
    // what a client that calls https://auth.example.com/tessera/v1/token would sign
    const publicHtu = oauth.DPoP(client, keys, {
      [oauth.modifyAssertion]: (_header, payload) => {
        payload.htu = `${PUBLIC}${new URL(String(payload.htu)).pathname}`;
      },
    });
    const refreshed = await refreshWith(publicHtu, signedIn.refresh_token);
    assert.equal(refreshed.token_type, 'dpop');
    assert.equal((await getSession(publicHtu, refreshed.access_token)).status, 200);
    await expectResourceChallenge(
      getSession(internal, refreshed.access_token),
      'invalid_dpop_proof',
    );
  });
});
