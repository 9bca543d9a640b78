import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { accessTokenHashForDpop } from '@tessera/core';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  SignJWT,
} from 'jose';
import { bearer, type Harness, type HarnessOptions, startHarness } from './harness.js';

/*
 * The service's DPoP surface beyond the proof checks: binding at creation from a proof the
 * backend forwards, introspection that checks a forwarded proof (for remote resource servers),
 * `public_url` behind a proxy, and server nonces on the resource routes (RFC 9449 §5–§9).
 */

interface Key {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}

async function makeKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

let h: Harness;
afterEach(() => h?.close());

async function start(options: HarnessOptions = {}) {
  h = await startHarness(options);
  return h;
}

function proof(key: Key, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ jti: randomUUID(), iat: Math.floor(h.clock.now() / 1000), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk })
    .sign(key.privateKey);
}

describe('binding a session from a proof the backend forwards (POST /v1/sessions)', () => {
  const SIGN_IN = 'https://api.example.com/sign-in';

  it('binds the session to the key of a valid proof made for the backend request', async () => {
    await start();
    const key = await makeKey();
    const created = await h.createSession({
      dpop_proof: await proof(key, { htm: 'POST', htu: SIGN_IN }),
      dpop_htm: 'POST',
      dpop_htu: SIGN_IN,
    });
    assert.equal(created.token_type, 'DPoP');
    assert.equal((await h.tessera.getLiveSession(created.session.id))?.dpopJkt, key.jkt);
  });

  it('refuses a bad forwarded proof or a mismatch, and creates nothing', async () => {
    await start();
    const key = await makeKey();
    const other = await makeKey();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ dpop_proof: await proof(key, { htm: 'GET', htu: SIGN_IN }) }, 400, 'invalid_request'],
      [
        {
          dpop_proof: await proof(key, { htm: 'GET', htu: SIGN_IN }),
          dpop_htm: 'POST',
          dpop_htu: SIGN_IN,
        },
        400,
        'invalid_dpop_proof',
      ],
      [
        {
          dpop_proof: await proof(key, { htm: 'POST', htu: SIGN_IN }),
          dpop_htm: 'POST',
          dpop_htu: SIGN_IN,
          dpop_jkt: other.jkt,
        },
        400,
        'invalid_request',
      ],
      [{ dpop_htm: 'POST', dpop_htu: SIGN_IN }, 400, 'invalid_request'],
    ];
    for (const [body, status, error] of cases) {
      const response = await h.inject({
        method: 'POST',
        url: '/v1/sessions',
        headers: bearer(h.keys.admin),
        payload: { user_id: 'carol', ...body },
      });
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.json().error, error);
    }
    assert.equal((await h.tessera.listForUser('carol')).length, 0);
  });

  it('refuses a forwarded proof twice (§11.1)', async () => {
    await start();
    const key = await makeKey();
    const body = {
      dpop_proof: await proof(key, { htm: 'POST', htu: SIGN_IN }),
      dpop_htm: 'POST',
      dpop_htu: SIGN_IN,
    };
    await h.createSession(body);
    const again = await h.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: bearer(h.keys.admin),
      payload: { user_id: 'alice', ...body },
    });
    assert.equal(again.json().error, 'invalid_dpop_proof');
  });
});

describe('introspection with a forwarded proof (RFC 7662 + RFC 9449, for remote resource servers)', () => {
  const RS_URL = 'https://api.example.com/orders';

  async function introspect(payload: Record<string, unknown>) {
    return h.inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: bearer(h.keys.introspect),
      payload,
    });
  }

  it('answers active with cnf.jkt for a proof from the bound key, and refuses anything else', async () => {
    await start();
    const key = await makeKey();
    const other = await makeKey();
    const created = await h.createSession({ dpop_jkt: key.jkt });
    const ath = accessTokenHashForDpop(created.access_token);
    const forward = async (signer: Key, claims: Record<string, unknown> = {}) =>
      introspect({
        token: created.access_token,
        dpop_proof: await proof(signer, { htm: 'GET', htu: RS_URL, ath, ...claims }),
        dpop_htm: 'GET',
        dpop_htu: `${RS_URL}?page=2`,
      });

    const good = await forward(key);
    assert.equal(good.statusCode, 200);
    assert.equal(good.json().active, true);
    assert.deepEqual(good.json().cnf, { jkt: key.jkt });

    for (const [response, error] of [
      [await forward(other), 'invalid_dpop_proof'],
      [await forward(key, { ath: undefined }), 'invalid_dpop_proof'],
      [await forward(key, { htu: 'https://api.example.com/admin' }), 'invalid_dpop_proof'],
    ] as const) {
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().error, error);
    }
    const missingUrl = await introspect({ token: created.access_token, dpop_proof: 'x.y.z' });
    assert.equal(missingUrl.json().error, 'invalid_request');
  });

  it('still answers exactly {"active": false} for an inactive token with a valid proof', async () => {
    await start();
    const key = await makeKey();
    const created = await h.createSession({ dpop_jkt: key.jkt });
    await h.tessera.end(created.session.id, 'logout');
    const response = await introspect({
      token: created.access_token,
      dpop_proof: await proof(key, {
        htm: 'GET',
        htu: RS_URL,
        ath: accessTokenHashForDpop(created.access_token),
      }),
      dpop_htm: 'GET',
      dpop_htu: RS_URL,
    });
    assert.deepEqual(response.json(), { active: false });
  });
});

describe('public_url: htu behind a proxy (RFC 9449 §4.3 check 9)', () => {
  it('checks htu against the public URL, not the Host the proxy sent', async () => {
    await start({ server: { publicUrl: 'https://auth.example.com/tessera/' } });
    const key = await makeKey();
    const created = await h.createSession({ dpop_jkt: key.jkt });
    const ath = accessTokenHashForDpop(created.access_token);
    const use = async (htu: string) =>
      h.inject({
        method: 'GET',
        url: '/v1/session',
        headers: {
          host: 'tessera.internal:8787',
          authorization: `DPoP ${created.access_token}`,
          dpop: await proof(key, { htm: 'GET', htu, ath }),
        },
      });
    assert.equal((await use('https://auth.example.com/tessera/v1/session')).statusCode, 200);
    assert.equal((await use('http://tessera.internal:8787/v1/session')).statusCode, 401);
    assert.equal((await use('https://auth.example.com/v1/session')).statusCode, 401);
  });

  it('refuses a public_url that is not an http(s) URL without query', async () => {
    for (const publicUrl of ['auth.example.com', 'ftp://x', 'https://x/?a=1']) {
      await assert.rejects(startHarness({ server: { publicUrl } }), /public_url/);
    }
  });
});

describe('server nonces on the resource routes (RFC 9449 §8, §9)', () => {
  it('answers 401 use_dpop_nonce with a DPoP-Nonce header, then accepts the proof with it', async () => {
    await start({ server: { dpop: { nonceSecret: 'x'.repeat(32) } } });
    const key = await makeKey();
    const created = await h.createSession({ dpop_jkt: key.jkt });
    const claims = {
      htm: 'GET',
      htu: 'http://localhost/v1/session',
      ath: accessTokenHashForDpop(created.access_token),
    };
    const use = async (extra: Record<string, unknown> = {}) =>
      h.inject({
        method: 'GET',
        url: '/v1/session',
        headers: {
          authorization: `DPoP ${created.access_token}`,
          dpop: await proof(key, { ...claims, ...extra }),
        },
      });
    const first = await use();
    assert.equal(first.statusCode, 401);
    assert.match(String(first.headers['www-authenticate']), /^DPoP error="use_dpop_nonce"/);
    const nonce = first.headers['dpop-nonce'];
    assert.ok(typeof nonce === 'string' && nonce.length > 0);
    assert.equal((await use({ nonce })).statusCode, 200);
    // refresh answers hand the nonce out too, so a client keeps it current
    const refreshed = await h.inject({
      method: 'POST',
      url: '/v1/token',
      headers: {
        dpop: await proof(key, { htm: 'POST', htu: 'http://localhost/v1/token', nonce }),
      },
      payload: { grant_type: 'refresh_token', refresh_token: created.refresh_token },
    });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    assert.equal(refreshed.headers['dpop-nonce'], nonce);
  });

  it('does not touch the Bearer path of unbound sessions', async () => {
    await start({ server: { dpop: { nonceSecret: 'x'.repeat(32) } } });
    const created = await h.createSession();
    const response = await h.inject({ url: '/v1/session', headers: bearer(created.access_token) });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['dpop-nonce'], undefined);
  });
});
