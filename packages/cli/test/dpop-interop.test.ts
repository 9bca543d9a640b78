import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { type RunningServer, runTessera, startTessera } from './cli-process.js';

/*
 * Interoperability (issue 10 §2) with the real `tessera serve` over a socket, configured as in
 * production for DPoP: `public_url` (proofs are checked against it, RFC 9449 §4.3 check 9) and
 * server nonces (`dpop.nonce_secret`, §8). The client is oauth4webapi, an OAuth library no one
 * here wrote, with its own DPoP implementation: it must take the nonce from the first refusal
 * (`use_dpop_nonce` + `DPoP-Nonce`) and retry, refresh the bound session, and use the new access
 * token on a resource route. Another key, a replayed proof and a proof for another URL are refused.
 */

const dir = mkdtempSync(join(tmpdir(), 'tessera-dpop-interop-'));
const store = `sqlite:${join(dir, 't.db')}`;
let server: RunningServer;
let base: string;
let serviceKey: string;
let as: oauth.AuthorizationServer;
const client: oauth.Client = { client_id: 'mobile-app' };
const insecure = { [oauth.allowInsecureRequests]: true } as const; // plain http on 127.0.0.1

/** A free port, so that `public_url` can name it before the service starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

before(async () => {
  const created = await runTessera([
    'keys',
    'create',
    '--name',
    'backend',
    '--scopes',
    'admin',
    '--store',
    store,
  ]);
  assert.equal(created.code, 0, created.stderr);
  serviceKey = /^(tsk_[0-9A-Za-z]+)$/m.exec(created.stdout)?.[1] as string;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await startTessera(['--store', store, '--port', String(port)], {
    TESSERA_PUBLIC_URL: base,
    TESSERA_DPOP_NONCE_SECRET: 'a test secret of at least thirty-two bytes',
    TESSERA_RATE_LIMIT_ENABLED: 'false',
    TESSERA_LOG_LEVEL: 'warn',
  });
  as = { issuer: base, token_endpoint: `${base}/v1/token` };
});

after(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  rmSync(dir, { recursive: true, force: true });
});

/** The backend signs the user in and binds the session to the phone's key (`dpop_jkt`). */
async function signIn(dpop: oauth.DPoPHandle) {
  const response = await fetch(`${base}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serviceKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'alice', dpop_jkt: await dpop.calculateThumbprint() }),
  });
  assert.equal(response.status, 201);
  const body = (await response.json()) as {
    access_token: string;
    refresh_token: string;
    token_type: string;
    session: { id: string };
  };
  assert.equal(body.token_type, 'DPoP');
  return body;
}

/** oauth4webapi's documented pattern: on a nonce error, retry once (it kept the nonce). */
async function retryOnNonce<T>(call: () => Promise<T>, seen?: { nonceErrors: number }) {
  try {
    return await call();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    if (seen) seen.nonceErrors += 1;
    return call();
  }
}

function refresh(dpop: oauth.DPoPHandle, token: string, seen?: { nonceErrors: number }) {
  return retryOnNonce(async () => {
    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), token, {
      DPoP: dpop,
      ...insecure,
    });
    return oauth.processRefreshTokenResponse(as, client, response);
  }, seen);
}

function getSession(dpop: oauth.DPoPHandle, accessToken: string) {
  return retryOnNonce(() =>
    oauth.protectedResourceRequest(
      accessToken,
      'GET',
      new URL(`${base}/v1/session`),
      undefined,
      undefined,
      { DPoP: dpop, ...insecure },
    ),
  );
}

async function rejectsWith(promise: Promise<unknown>, error: string) {
  await assert.rejects(promise, (thrown: unknown) => {
    if (thrown instanceof oauth.ResponseBodyError) {
      assert.equal(thrown.error, error);
      return true;
    }
    assert.ok(thrown instanceof oauth.WWWAuthenticateChallengeError, String(thrown));
    const challenge = thrown.cause.find((c) => c.scheme === 'dpop');
    assert.equal(challenge?.parameters.error, error);
    return true;
  });
}

describe('oauth4webapi against tessera serve with public_url and DPoP nonces (RFC 9449)', () => {
  it('takes the server nonce, refreshes the bound session and uses the new pair (§5, §7.1, §8)', async () => {
    const dpop = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const signedIn = await signIn(dpop);
    const seen = { nonceErrors: 0 };
    const refreshed = await refresh(dpop, signedIn.refresh_token, seen);
    assert.equal(seen.nonceErrors, 1, 'the first proof had no nonce: use_dpop_nonce, then retry');
    assert.equal(refreshed.token_type, 'dpop');
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== signedIn.refresh_token);
    const response = await getSession(dpop, refreshed.access_token);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { id: string }).id, signedIn.session.id);
    // the rotated token works once more, with the nonce oauth4webapi now holds
    const again = await refresh(dpop, refreshed.refresh_token as string, seen);
    assert.equal(seen.nonceErrors, 1);
    assert.equal((await getSession(dpop, again.access_token)).status, 200);
  });

  it('refuses a proof from another key, on refresh and on use (§4.3 check 12)', async () => {
    const dpop = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const signedIn = await signIn(dpop);
    const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    await rejectsWith(refresh(thief, signedIn.refresh_token), 'invalid_dpop_proof');
    await rejectsWith(getSession(thief, signedIn.access_token), 'invalid_dpop_proof');
    assert.equal((await getSession(dpop, signedIn.access_token)).status, 200);
  });

  it('refuses a replayed proof (§11.1) and a proof for another URL (§4.3 check 9)', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const dpop = oauth.DPoP(client, keyPair);
    const signedIn = await signIn(dpop);
    const sent: string[] = [];
    const recording: typeof fetch = (url, init) => {
      const proof = (init?.headers as Record<string, string> | undefined)?.dpop;
      if (proof) sent.push(proof);
      return fetch(url, init);
    };
    const ok = await retryOnNonce(() =>
      oauth.protectedResourceRequest(
        signedIn.access_token,
        'GET',
        new URL(`${base}/v1/session`),
        undefined,
        undefined,
        { DPoP: dpop, ...insecure, [oauth.customFetch]: recording },
      ),
    );
    assert.equal(ok.status, 200);
    const replay = await fetch(`${base}/v1/session`, {
      headers: { authorization: `DPoP ${signedIn.access_token}`, dpop: sent.at(-1) as string },
    });
    assert.equal(replay.status, 401);
    assert.match(
      String(replay.headers.get('www-authenticate')),
      /^DPoP error="invalid_dpop_proof"/,
    );

    // the same key, signing the htu of a server elsewhere (the request's own Host is ignored:
    // public_url decides)
    const elsewhere = oauth.DPoP(client, keyPair, {
      [oauth.modifyAssertion]: (_header, payload) => {
        payload.htu = 'http://localhost:1/v1/session';
      },
    });
    await rejectsWith(getSession(elsewhere, signedIn.access_token), 'invalid_dpop_proof');
  });

  it('checks a proof a resource server forwards to introspection, then answers cnf.jkt (§6.2)', async () => {
    const dpop = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const signedIn = await signIn(dpop);
    // a resource server at api.example.com received this request with a proof
    const sent: string[] = [];
    const capture: typeof fetch = async (_url, init) => {
      sent.push((init?.headers as Record<string, string> | undefined)?.dpop as string);
      return new Response(null, { status: 204 });
    };
    await oauth.protectedResourceRequest(
      signedIn.access_token,
      'GET',
      new URL('https://api.example.com/orders?page=2'),
      undefined,
      undefined,
      { DPoP: dpop, [oauth.customFetch]: capture },
    );
    const introspect = (extra: Record<string, string>) =>
      fetch(`${base}/v1/introspect`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${serviceKey}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: signedIn.access_token, ...extra }),
      });
    const forwarded = {
      dpop_proof: sent[0] as string,
      dpop_htm: 'GET',
      dpop_htu: 'https://api.example.com/orders?page=2',
    };
    // the RS has no nonce of ours in its proof: the service asks for one, like the AS does
    const first = await introspect(forwarded);
    assert.equal(first.status, 400);
    assert.equal(((await first.json()) as { error: string }).error, 'use_dpop_nonce');
    assert.ok(first.headers.get('dpop-nonce'));
    // without a proof, the binding is reported for the resource server to enforce
    const reported = (await (await introspect({})).json()) as Record<string, unknown>;
    assert.equal(reported.active, true);
    assert.equal(reported.token_type, 'DPoP');
    assert.deepEqual(reported.cnf, { jkt: await dpop.calculateThumbprint() });
  });
});
