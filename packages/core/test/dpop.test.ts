import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import {
  accessTokenHashForDpop,
  createDpopNonces,
  createDpopVerifier,
  createMemoryStore,
  type DpopProofRequest,
  type DpopProofResult,
  type DpopVerifier,
  generateToken,
  isTesseraError,
  type ManualClock,
  manualClock,
  normalizeHtu,
} from '@tessera/core';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  SignJWT,
} from 'jose';

/*
 * The DPoP proof checks of RFC 9449 §4.3, one rule per test, each next to a control that the same
 * proof without the defect passes. Proofs are signed with jose; the ones jose will not make
 * (alg none) are assembled by hand.
 */

const URL_SESSION = 'https://auth.example.com/v1/session';
const b64u = (value: string | Buffer) => Buffer.from(value).toString('base64url');

interface Key {
  alg: 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
  jkt: string;
}

async function makeKey(alg: Key['alg'] = 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return {
    alg,
    privateKey,
    publicJwk,
    privateJwk: await exportJWK(privateKey),
    jkt: await calculateJwkThumbprint(publicJwk, 'sha256'),
  };
}

let clock: ManualClock;
let verifier: DpopVerifier;
let key: Key;
const accessToken = generateToken('access');
const nowSeconds = () => Math.floor(clock.now() / 1000);

interface ProofOptions {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  signer?: Key;
}

function proofFor(owner: Key, options: ProofOptions = {}): Promise<string> {
  const payload = Object.fromEntries(
    Object.entries({
      jti: randomUUID(),
      htm: 'GET',
      htu: URL_SESSION,
      iat: nowSeconds(),
      ath: accessTokenHashForDpop(accessToken),
      ...options.claims,
    }).filter(([, value]) => value !== undefined),
  );
  const header = Object.fromEntries(
    Object.entries({
      alg: owner.alg,
      typ: 'dpop+jwt',
      jwk: owner.publicJwk,
      ...options.header,
    }).filter(([, value]) => value !== undefined),
  ) as { alg: string };
  return new SignJWT(payload).setProtectedHeader(header).sign((options.signer ?? owner).privateKey);
}

const proof = (options: ProofOptions = {}) => proofFor(key, options);

function check(
  proofHeader: DpopProofRequest['proof'],
  extra: Partial<DpopProofRequest> = {},
): Promise<DpopProofResult> {
  return verifier.verify({
    proof: proofHeader,
    method: 'GET',
    url: URL_SESSION,
    accessToken,
    expectedJkt: key.jkt,
    ...extra,
  });
}

async function refused(
  result: Promise<DpopProofResult>,
  code: string,
  error = 'invalid_dpop_proof',
) {
  const outcome = await result;
  assert.equal(outcome.ok, false, `expected a refusal with ${code}`);
  if (!outcome.ok) {
    assert.equal(outcome.code, code);
    assert.equal(outcome.error, error);
  }
  return outcome;
}

async function accepted(result: Promise<DpopProofResult>) {
  const outcome = await result;
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  return outcome;
}

beforeEach(async () => {
  clock = manualClock(Date.now());
  verifier = createDpopVerifier({ store: createMemoryStore(), clock });
  key = await makeKey();
});

describe('DPoP proof verification (RFC 9449 §4.3)', () => {
  it('accepts an honest ES256 proof and returns its RFC 7638 thumbprint', async () => {
    const outcome = await accepted(check(await proof()));
    assert.equal(outcome.ok && outcome.jkt, key.jkt);
  });

  it('accepts an honest EdDSA (Ed25519) proof (§4.3 check 5)', async () => {
    key = await makeKey('EdDSA');
    await accepted(check(await proof()));
  });

  it('refuses a missing header and two headers (§4.3 check 1)', async () => {
    await refused(check(undefined), 'missing');
    await refused(check(''), 'missing');
    await refused(check([await proof(), await proof()]), 'multiple');
    // Node joins a repeated header with ", "
    await refused(check(`${await proof()}, ${await proof()}`), 'multiple');
    await accepted(check([await proof()]));
  });

  it('refuses what is not a JWS (§4.3 check 2)', async () => {
    for (const junk of ['garbage', 'a.b.c', `${b64u('{')}.${b64u('{}')}.x`, 'x'.repeat(9000)]) {
      await refused(check(junk), 'malformed');
    }
  });

  for (const claim of ['jti', 'htm', 'htu', 'iat']) {
    it(`refuses a proof without ${claim} (§4.3 check 3)`, async () => {
      await refused(check(await proof({ claims: { [claim]: undefined } })), 'missing_claim');
    });
  }

  it('refuses a typ other than dpop+jwt (§4.3 check 4)', async () => {
    for (const typ of ['JWT', 'jwt', 'at+jwt', 'DPoP+JWT', undefined]) {
      await refused(check(await proof({ header: { typ } })), 'bad_typ');
    }
  });

  it('refuses alg none and HMAC, whatever the configuration (§4.3 check 5)', async () => {
    const header = { alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk };
    const claims = { jti: randomUUID(), htm: 'GET', htu: URL_SESSION, iat: nowSeconds() };
    const unsigned = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}.`;
    await refused(check(unsigned, { accessToken: undefined }), 'bad_alg');
    const hsHeader = { ...header, alg: 'HS256' };
    const signingInput = `${b64u(JSON.stringify(hsHeader))}.${b64u(JSON.stringify(claims))}`;
    const mac = createHmac('sha256', randomBytes(32)).update(signingInput).digest('base64url');
    await refused(check(`${signingInput}.${mac}`, { accessToken: undefined }), 'bad_alg');
    for (const alg of ['none', 'HS256', 'HS512', 'dir']) {
      assert.throws(
        () => createDpopVerifier({ store: createMemoryStore(), algorithms: [alg] }),
        (error) => isTesseraError(error, 'invalid_config'),
      );
    }
  });

  it('refuses an asymmetric alg that is not in the configured list (§4.3 check 5)', async () => {
    verifier = createDpopVerifier({ store: createMemoryStore(), clock, algorithms: ['EdDSA'] });
    await refused(check(await proof()), 'bad_alg');
  });

  it('refuses a signature that does not verify with the jwk (§4.3 check 6)', async () => {
    const other = await makeKey();
    await refused(check(await proof({ signer: other })), 'bad_signature');
    const honest = await proof();
    const flipped = `${honest.slice(0, -4)}${honest.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    await refused(check(flipped), 'bad_signature');
  });

  it('refuses a missing jwk, and a jwk with private members (§4.3 check 7)', async () => {
    await refused(check(await proof({ header: { jwk: undefined } })), 'bad_jwk');
    await refused(check(await proof({ header: { jwk: key.privateJwk } })), 'private_jwk');
    const symmetric = { kty: 'oct', k: b64u(randomBytes(32)) };
    await refused(check(await proof({ header: { jwk: symmetric } })), 'private_jwk');
  });

  it('refuses a jwk whose key type does not fit the alg (§4.3 check 6)', async () => {
    const ed = await makeKey('EdDSA');
    await refused(check(await proof({ header: { jwk: ed.publicJwk } })), 'bad_jwk');
  });

  it('refuses another method (§4.3 check 8)', async () => {
    await refused(check(await proof({ claims: { htm: 'POST' } })), 'bad_htm');
    await refused(check(await proof({ claims: { htm: 'get' } })), 'bad_htm');
  });

  it('refuses another URL, but ignores query and fragment and normalises (§4.3 check 9)', async () => {
    for (const htu of [
      'https://auth.example.com/v1/sessions',
      'https://evil.example/v1/session',
      'http://auth.example.com/v1/session',
      'https://auth.example.com:8443/v1/session',
      'not a url',
    ]) {
      await refused(check(await proof({ claims: { htu } })), 'bad_htu');
    }
    for (const htu of [
      'https://auth.example.com/v1/session?x=1#frag',
      'HTTPS://Auth.Example.COM:443/v1/./session',
    ]) {
      await accepted(check(await proof({ claims: { htu } })));
    }
    await accepted(check(await proof(), { url: `${URL_SESSION}?max_auth_age=60` }));
    assert.equal(normalizeHtu('ftp://x/y'), null);
  });

  it('accepts iat only inside the window: 60 s back, 5 s ahead by default (§4.3 check 11, §11.1)', async () => {
    await refused(check(await proof({ claims: { iat: nowSeconds() - 61 } })), 'bad_iat');
    await refused(check(await proof({ claims: { iat: nowSeconds() + 6 } })), 'bad_iat');
    // jose itself refuses a non-numeric iat while parsing the claims
    await refused(check(await proof({ claims: { iat: 'now' } })), 'malformed');
    await accepted(check(await proof({ claims: { iat: nowSeconds() - 59 } })));
    await accepted(check(await proof({ claims: { iat: nowSeconds() + 4 } })));
  });

  it('requires ath for a resource request and refuses one for another token (§4.3 check 12, §7.1)', async () => {
    await refused(check(await proof({ claims: { ath: undefined } })), 'missing_claim');
    const other = accessTokenHashForDpop(generateToken('access'));
    await refused(check(await proof({ claims: { ath: other } })), 'bad_ath');
    // a token request carries no access token, so no ath is needed (§5)
    await accepted(check(await proof({ claims: { ath: undefined } }), { accessToken: undefined }));
  });

  it('refuses a valid proof from another key than the bound one (§4.3 check 12)', async () => {
    const other = await makeKey();
    await refused(check(await proofFor(other)), 'key_mismatch');
    await accepted(check(await proofFor(other), { expectedJkt: other.jkt }));
  });

  it('refuses the same proof twice, but a refused proof does not use up its jti (§11.1)', async () => {
    const once = await proof();
    await refused(check(once, { expectedJkt: (await makeKey()).jkt }), 'key_mismatch');
    await accepted(check(once));
    await refused(check(once), 'replayed');
    // the same jti from another key is another proof: the cache keys on jkt and jti
    const jti = randomUUID();
    await accepted(check(await proof({ claims: { jti } })));
    const other = await makeKey();
    await accepted(check(await proofFor(other, { claims: { jti } }), { expectedJkt: other.jkt }));
  });

  it('holds the replay cache across verifiers sharing a store (several nodes)', async () => {
    const store = createMemoryStore();
    const nodeA = createDpopVerifier({ store, clock });
    const nodeB = createDpopVerifier({ store, clock });
    const once = await proof();
    const request = { proof: once, method: 'GET', url: URL_SESSION, accessToken };
    const results = await Promise.all([nodeA.verify(request), nodeB.verify(request)]);
    assert.deepEqual(results.map((r) => r.ok).sort(), [false, true]);
  });

  it('fails closed when the replay cache cannot be reached', async () => {
    const store = createMemoryStore();
    store.rememberDpopJti = () => Promise.reject(new Error('connection refused'));
    verifier = createDpopVerifier({ store, clock });
    await assert.rejects(check(await proof()));
  });
});

describe('DPoP server nonces (RFC 9449 §8, §9, §11.3)', () => {
  const secret = randomBytes(32);

  beforeEach(() => {
    verifier = createDpopVerifier({
      store: createMemoryStore(),
      clock,
      nonces: createDpopNonces({ secret, clock, slotSeconds: 60 }),
    });
  });

  it('asks for a nonce with use_dpop_nonce and accepts the proof that carries it', async () => {
    const first = await refused(check(await proof()), 'nonce_required', 'use_dpop_nonce');
    const nonce = !first.ok ? first.nonce : undefined;
    assert.ok(nonce);
    assert.equal(verifier.currentNonce(), nonce);
    await accepted(check(await proof({ claims: { nonce } })));
  });

  it('refuses a stale nonce, a forged one and one made with another secret', async () => {
    const nonce = verifier.currentNonce();
    clock.advance(60_000);
    await accepted(check(await proof({ claims: { nonce } }))); // previous slot still accepted
    clock.advance(60_000);
    await refused(check(await proof({ claims: { nonce } })), 'nonce_required', 'use_dpop_nonce');
    const foreign = createDpopNonces({ secret: randomBytes(32), clock, slotSeconds: 60 }).current();
    for (const bad of [foreign, 'abc', `${verifier.currentNonce()}x`, 42]) {
      await refused(
        check(await proof({ claims: { nonce: bad } })),
        'nonce_required',
        'use_dpop_nonce',
      );
    }
  });

  it('accepts a nonce on every node that holds the secret (stateless)', async () => {
    const otherNode = createDpopNonces({ secret, clock, slotSeconds: 60 });
    assert.equal(otherNode.accepts(verifier.currentNonce()), true);
    assert.throws(
      () => createDpopNonces({ secret: randomBytes(16) }),
      (error) => isTesseraError(error, 'invalid_config'),
    );
  });
});
