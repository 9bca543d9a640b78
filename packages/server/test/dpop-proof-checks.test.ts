import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { makeProof, makeProofKey, type ProofInput, type ProofKey } from './dpop-proof-maker.js';
import { bearer, type CreatedSession, type Harness, startHarness } from './harness.js';

/*
 * Every check of RFC 9449 §4.3 on a DPoP-bound session, over HTTP, one defect at a time (the
 * auditor's SH-DPOP-01/02/03 and SH-RT-03). Each refused case sits next to a control that the
 * same request with an honest proof succeeds, so a refusal is about the defect alone.
 */

const ORIGIN = 'http://localhost'; // what light-my-request sends as Host, on plain http
const SESSION_URL = `${ORIGIN}/v1/session`;
const TOKEN_URL = `${ORIGIN}/v1/token`;

let h: Harness;
let key: ProofKey;
let bound: CreatedSession;

const nowSeconds = () => Math.floor(h.clock.now() / 1000);

beforeEach(async () => {
  h = await startHarness();
  key = makeProofKey();
  bound = await h.createSession({ dpop_jkt: key.jkt });
});
afterEach(() => h.close());

/** A proof for GET /v1/session with the bound key, with `defect` applied. */
function resourceProof(defect: Partial<ProofInput> = {}, proofKey = key): string {
  return makeProof(proofKey, {
    htm: 'GET',
    htu: SESSION_URL,
    iat: nowSeconds(),
    accessToken: bound.access_token,
    ...defect,
  });
}

function useToken(proof: string | string[] | undefined, scheme = 'DPoP') {
  return h.inject({
    method: 'GET',
    url: '/v1/session',
    headers: {
      authorization: `${scheme} ${bound.access_token}`,
      ...(proof === undefined ? {} : { dpop: proof }),
    },
  });
}

function refreshWith(proof: string | undefined, refreshToken = bound.refresh_token) {
  return h.inject({
    method: 'POST',
    url: '/v1/token',
    headers: proof === undefined ? {} : { dpop: proof },
    payload: { grant_type: 'refresh_token', refresh_token: refreshToken },
  });
}

const tokenProof = (defect: Partial<ProofInput> = {}, proofKey = key) =>
  makeProof(proofKey, { htm: 'POST', htu: TOKEN_URL, iat: nowSeconds(), ...defect });

function assertResourceRefusal(response: LightMyRequestResponse, error = 'invalid_dpop_proof') {
  assert.equal(response.statusCode, 401, response.body);
  const challenge = String(response.headers['www-authenticate']);
  assert.match(challenge, /^DPoP /, 'RFC 9449 §7.1: a DPoP challenge');
  assert.match(challenge, new RegExp(`error="${error}"`));
  assert.match(challenge, /algs="[^"]*ES256[^"]*"/);
  assert.equal(response.json().error, error);
}

function assertGrantRefusal(response: LightMyRequestResponse, error = 'invalid_dpop_proof') {
  assert.equal(response.statusCode, 400, response.body);
  assert.equal(response.json().error, error);
}

describe('DPoP-bound session: binding at creation (RFC 9449 §5, §6)', () => {
  it('answers token_type DPoP at creation, on refresh, and cnf.jkt in introspection (§6.2)', async () => {
    assert.equal(bound.token_type, 'DPoP');
    const refreshed = await refreshWith(tokenProof());
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    assert.equal(refreshed.json().token_type, 'DPoP');
    const introspected = await h.inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: bearer(h.keys.introspect),
      payload: { token: refreshed.json().access_token },
    });
    assert.equal(introspected.json().active, true);
    assert.equal(introspected.json().token_type, 'DPoP');
    assert.deepEqual(introspected.json().cnf, { jkt: key.jkt });
  });

  it('keeps unbound sessions on Bearer, without cnf', async () => {
    const plain = await h.createSession();
    assert.equal(plain.token_type, 'Bearer');
    const introspected = await h.inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: bearer(h.keys.introspect),
      payload: { token: plain.access_token },
    });
    assert.equal(introspected.json().cnf, undefined);
    assert.equal(
      (await h.inject({ url: '/v1/session', headers: bearer(plain.access_token) })).statusCode,
      200,
    );
  });

  it('refuses a dpop_jkt that is not a SHA-256 thumbprint, and creates nothing', async () => {
    for (const dpop_jkt of ['', 'abc', 'x'.repeat(44), `${key.jkt}=`, 42]) {
      const response = await h.inject({
        method: 'POST',
        url: '/v1/sessions',
        headers: bearer(h.keys.admin),
        payload: { user_id: 'bob', dpop_jkt },
      });
      assert.equal(response.statusCode, 400, `${JSON.stringify(dpop_jkt)}: ${response.body}`);
    }
    assert.equal((await h.tessera.listForUser('bob')).length, 0);
  });
});

describe('DPoP-bound access token on /v1/session: the §4.3 checks', () => {
  it('accepts an honest ES256 proof (control)', async () => {
    assert.equal((await useToken(resourceProof())).statusCode, 200);
  });

  it('accepts an honest EdDSA proof from a session bound to an Ed25519 key (§4.3 check 5)', async () => {
    const edKey = makeProofKey('EdDSA');
    bound = await h.createSession({ dpop_jkt: edKey.jkt });
    assert.equal((await useToken(resourceProof({}, edKey))).statusCode, 200);
  });

  it('refuses the bound token with no DPoP header (§7.1)', async () => {
    assertResourceRefusal(await useToken(undefined));
  });

  it('refuses the bound token downgraded to Bearer, with or without a proof (§7.2)', async () => {
    for (const proof of [undefined, resourceProof()]) {
      const response = await useToken(proof, 'Bearer');
      assert.equal(response.statusCode, 401);
      assert.match(String(response.headers['www-authenticate']), /DPoP /);
    }
  });

  it('refuses two DPoP headers (§4.3 check 1)', async () => {
    assertResourceRefusal(await useToken([resourceProof(), resourceProof()]));
  });

  it('refuses a header that is not a JWT (§4.3 check 2)', async () => {
    for (const proof of ['garbage', 'a.b.c', `${resourceProof()}.x`]) {
      assertResourceRefusal(await useToken(proof));
    }
  });

  for (const claim of ['jti', 'htm', 'htu', 'iat', 'ath'] as const) {
    it(`refuses a proof without ${claim} (§4.3 check 3, §7.1 for ath)`, async () => {
      assertResourceRefusal(await useToken(resourceProof({ payload: { [claim]: undefined } })));
    });
  }

  it('refuses a typ other than dpop+jwt (§4.3 check 4)', async () => {
    for (const typ of ['jwt', 'JWT', 'at+jwt', undefined]) {
      assertResourceRefusal(await useToken(resourceProof({ header: { typ } })));
    }
  });

  it('refuses alg none and HS256, which are not asymmetric (§4.3 check 5)', async () => {
    assertResourceRefusal(
      await useToken(resourceProof({ unsigned: true, header: { alg: 'none' } })),
    );
    assertResourceRefusal(
      await useToken(resourceProof({ hmacSecret: randomBytes(32), header: { alg: 'HS256' } })),
    );
  });

  it('refuses a proof signed by another key than its jwk (§4.3 check 6)', async () => {
    assertResourceRefusal(await useToken(resourceProof({ signWith: makeProofKey() })));
  });

  it('refuses a tampered signature (§4.3 check 6)', async () => {
    const proof = resourceProof();
    const last = proof.at(-2) === 'A' ? 'B' : 'A';
    assertResourceRefusal(await useToken(`${proof.slice(0, -2)}${last}${proof.at(-1)}`));
  });

  it('refuses a jwk that carries the private key (§4.3 check 7)', async () => {
    assertResourceRefusal(await useToken(resourceProof({ header: { jwk: key.privateJwk } })));
  });

  it('refuses a proof for another method (§4.3 check 8)', async () => {
    assertResourceRefusal(await useToken(resourceProof({ htm: 'POST' })));
  });

  it('refuses a proof for another path, host or scheme (§4.3 check 9)', async () => {
    for (const htu of [
      `${ORIGIN}/v1/sessions`,
      'http://evil.example/v1/session',
      'https://localhost/v1/session',
    ]) {
      assertResourceRefusal(await useToken(resourceProof({ htu })));
    }
  });

  it('ignores the query of the request when matching htu (§4.3 check 9)', async () => {
    const response = await h.inject({
      method: 'GET',
      url: '/v1/session?max_auth_age=3600',
      headers: { authorization: `DPoP ${bound.access_token}`, dpop: resourceProof() },
    });
    assert.equal(response.statusCode, 200, response.body);
  });

  it('refuses an iat outside the window, in the past or the future (§4.3 check 11, §11.1)', async () => {
    for (const offsetSeconds of [-600, 600]) {
      assertResourceRefusal(await useToken(resourceProof({ iat: nowSeconds() + offsetSeconds })));
    }
  });

  it('refuses an ath for another token (§4.3 check 12)', async () => {
    assertResourceRefusal(
      await useToken(resourceProof({ accessToken: (await h.createSession()).access_token })),
    );
  });

  it('refuses a valid proof from another key than the bound one (§4.3 check 12)', async () => {
    assertResourceRefusal(await useToken(resourceProof({}, makeProofKey())));
  });

  it('refuses the same proof twice (§11.1 jti replay)', async () => {
    const proof = resourceProof();
    assert.equal((await useToken(proof)).statusCode, 200);
    assertResourceRefusal(await useToken(proof));
    assert.equal((await useToken(resourceProof())).statusCode, 200);
  });
});

describe('DPoP-bound refresh on /v1/token (RFC 9449 §5)', () => {
  it('refuses a refresh without a proof, and the token still works afterwards', async () => {
    assertGrantRefusal(await refreshWith(undefined));
    assert.equal((await refreshWith(tokenProof())).statusCode, 200);
  });

  it('refuses a proof from another key, for another URL or method, or a replay', async () => {
    assertGrantRefusal(await refreshWith(tokenProof({}, makeProofKey())));
    assertGrantRefusal(await refreshWith(tokenProof({ htu: SESSION_URL })));
    assertGrantRefusal(await refreshWith(tokenProof({ htm: 'GET' })));
    assertGrantRefusal(await refreshWith(tokenProof({ iat: nowSeconds() - 600 })));
    const proof = tokenProof();
    const first = await refreshWith(proof);
    assert.equal(first.statusCode, 200);
    assertGrantRefusal(await refreshWith(proof, first.json().refresh_token));
    // none of the refusals rotated or ended anything
    assert.equal((await refreshWith(tokenProof(), first.json().refresh_token)).statusCode, 200);
  });

  it('does not count a refused proof as reuse of the refresh token', async () => {
    assertGrantRefusal(await refreshWith(tokenProof({}, makeProofKey())));
    const live = await h.tessera.listForUser('alice');
    assert.equal(live.length, 1);
    assert.equal(live[0]?.generation, 0);
  });
});
