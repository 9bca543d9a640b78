import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import jsonwebtoken from 'jsonwebtoken';
import {
  COMMON_JWT_SECRETS,
  decodeJwt,
  findHmacSecret,
  forgeAlgConfusion,
  forgeAlgNone,
  inspectClaims,
  signHs,
} from '../../src/analysis/jwt.js';

const NOW = 1_700_000_000;

function hs256(
  payload: object,
  secret: string | Buffer,
  options: jsonwebtoken.SignOptions = {},
): string {
  return jsonwebtoken.sign(payload, secret, { algorithm: 'HS256', ...options });
}

describe('decodeJwt', () => {
  it('decodes a token made by jsonwebtoken without verifying it', () => {
    const token = hs256({ sub: 'user-1', iat: NOW }, 'secret');
    const jwt = decodeJwt(token);
    assert.ok(jwt !== null);
    assert.equal(jwt.header['alg'], 'HS256');
    assert.equal(jwt.payload['sub'], 'user-1');
    assert.equal(jwt.signingInput, token.split('.').slice(0, 2).join('.'));
    assert.equal(jwt.signature, token.split('.')[2]);
    assert.equal(jwt.raw, token);
  });

  it('returns null for opaque tokens, JWE, bad JSON and headers without alg', () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    assert.equal(decodeJwt(randomBytes(32).toString('base64url')), null);
    assert.equal(decodeJwt('a.b.c.d.e'), null);
    assert.equal(decodeJwt(`${b64({ alg: 'HS256' })}.bm90IGpzb24.sig`), null);
    assert.equal(decodeJwt(`${b64({ typ: 'JWT' })}.${b64({ sub: '1' })}.sig`), null);
    assert.equal(decodeJwt(`${b64({ alg: 'HS256' })}.${b64([1, 2])}.sig`), null);
  });
});

describe('forgeAlgNone', () => {
  it('makes none, None, NONE and nOnE variants with and without the trailing dot', () => {
    const jwt = decodeJwt(hs256({ sub: 'user-1', role: 'user' }, 'secret'))!;
    const forged = forgeAlgNone(jwt, { role: 'admin' });
    assert.equal(forged.length, 8);
    const algs = new Set<string>();
    for (const token of forged) {
      const parts = token.split('.');
      assert.ok(parts.length === 2 || (parts.length === 3 && parts[2] === ''));
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString());
      const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
      algs.add(header.alg);
      assert.equal(header.typ, 'JWT');
      assert.equal(payload.role, 'admin');
      assert.equal(payload.sub, 'user-1');
    }
    assert.deepEqual([...algs].sort(), ['NONE', 'None', 'nOnE', 'none']);
  });

  it('produces tokens that a verifier allowing "none" accepts', () => {
    const jwt = decodeJwt(hs256({ sub: 'user-1' }, 'secret'))!;
    const unsigned = forgeAlgNone(jwt).find((t) => t.endsWith('.'))!;
    // jsonwebtoken accepts unsigned tokens only when asked to: the vulnerable configuration.
    const decoded = jsonwebtoken.verify(unsigned, '', {
      algorithms: ['none'],
    }) as jsonwebtoken.JwtPayload;
    assert.equal(decoded.sub, 'user-1');
  });
});

describe('findHmacSecret', () => {
  it("finds 'secret' and 'your-256-bit-secret' in HS256 tokens made with jsonwebtoken", () => {
    for (const secret of ['secret', 'your-256-bit-secret', 'keyboard cat', 'changeme']) {
      assert.equal(findHmacSecret(decodeJwt(hs256({ sub: '1' }, secret))!), secret);
    }
  });

  it('finds weak secrets for HS384 and HS512 too', () => {
    for (const algorithm of ['HS384', 'HS512'] as const) {
      const token = jsonwebtoken.sign({ sub: '1' }, 'supersecret', { algorithm });
      assert.equal(findHmacSecret(decodeJwt(token)!), 'supersecret');
    }
  });

  it('does not find a random 32-byte secret', () => {
    const token = hs256({ sub: '1' }, randomBytes(32));
    assert.equal(findHmacSecret(decodeJwt(token)!), null);
  });

  it('ignores asymmetric algorithms and uses a custom wordlist when given', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs = jsonwebtoken.sign(
      { sub: '1' },
      privateKey.export({ type: 'pkcs8', format: 'pem' }),
      {
        algorithm: 'RS256',
      },
    );
    assert.equal(findHmacSecret(decodeJwt(rs)!), null);
    const custom = hs256({ sub: '1' }, 'acme-app-2024');
    assert.equal(findHmacSecret(decodeJwt(custom)!), null);
    assert.equal(findHmacSecret(decodeJwt(custom)!, ['nope', 'acme-app-2024']), 'acme-app-2024');
  });

  it('ships a wordlist of a few hundred distinct common secrets', () => {
    assert.ok(COMMON_JWT_SECRETS.length >= 200);
    assert.equal(new Set(COMMON_JWT_SECRETS).size, COMMON_JWT_SECRETS.length);
    for (const s of [
      'secret',
      'your-256-bit-secret',
      'changeme',
      'jwt_secret',
      'shhhhh',
      'keyboard cat',
    ]) {
      assert.ok(COMMON_JWT_SECRETS.includes(s), s);
    }
  });
});

describe('signHs', () => {
  it('signs tokens that jsonwebtoken verifies with the same secret', () => {
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      const token = signHs({ typ: 'JWT' }, { sub: 'user-2', iat: NOW }, 'k3y', alg);
      const decoded = jsonwebtoken.verify(token, 'k3y', {
        algorithms: [alg],
      }) as jsonwebtoken.JwtPayload;
      assert.equal(decoded.sub, 'user-2');
      assert.equal(decodeJwt(token)?.header['alg'], alg);
    }
  });
});

describe('forgeAlgConfusion', () => {
  const naiveVerify = (token: string, key: string | Buffer) => {
    const [h, p, s] = token.split('.');
    return createHmac('sha256', key).update(`${h}.${p}`).digest('base64url') === s;
  };

  it('re-signs an RS256 token with HS256 keyed by the public key PEM', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const token = jsonwebtoken.sign({ sub: 'user-3' }, privateKey, { algorithm: 'RS256' });
    const forged = forgeAlgConfusion(decodeJwt(token)!, pem);
    assert.ok(forged.length >= 3);
    for (const f of forged) assert.equal(decodeJwt(f)?.header['alg'], 'HS256');
    // A verifier that takes alg from the token and the configured PEM as the key accepts one.
    assert.ok(forged.some((f) => naiveVerify(f, pem)));
    // Also when the verifier's copy of the PEM lost its final newline or is PKCS#1.
    assert.ok(forged.some((f) => naiveVerify(f, pem.trim())));
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.ok(forged.some((f) => naiveVerify(f, pkcs1)));
  });

  it('works for ES256 and does nothing for HMAC tokens', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const es = jsonwebtoken.sign({ sub: 'user-4' }, privateKey, { algorithm: 'ES256' });
    assert.ok(forgeAlgConfusion(decodeJwt(es)!, pem).some((f) => naiveVerify(f, pem)));
    assert.deepEqual(forgeAlgConfusion(decodeJwt(hs256({ sub: '1' }, 'x'))!, pem), []);
  });
});

describe('inspectClaims', () => {
  const claimsOf = (payload: object) =>
    inspectClaims(decodeJwt(signHs({ typ: 'JWT' }, payload as Record<string, unknown>, 'k'))!, {
      nowSeconds: NOW,
    });

  it('reports a missing exp and the registered claims that are absent', () => {
    const c = claimsOf({ sub: 'u1', iat: NOW });
    assert.equal(c.missingExp, true);
    assert.equal(c.expSecondsFromIat, null);
    assert.equal(c.farFutureExp, false);
    assert.deepEqual(c.missingClaims, ['exp', 'iss', 'aud', 'jti']);
  });

  it('flags an exp far in the future and accepts a 15-minute lifetime', () => {
    const far = claimsOf({ sub: 'u1', iat: NOW, exp: NOW + 30 * 86_400 });
    assert.equal(far.farFutureExp, true);
    assert.equal(far.expSecondsFromIat, 30 * 86_400);
    const short = claimsOf({ sub: 'u1', iat: NOW, exp: NOW + 900 });
    assert.equal(short.farFutureExp, false);
    assert.equal(short.missingExp, false);
    assert.equal(short.expSecondsFromIat, 900);
    const noIat = claimsOf({ sub: 'u1', exp: NOW + 10 * 86_400 });
    assert.equal(noIat.farFutureExp, true);
    const custom = inspectClaims(decodeJwt(signHs({}, { iat: NOW, exp: NOW + 7_200 }, 'k'))!, {
      nowSeconds: NOW,
      maxLifetimeSeconds: 3_600,
    });
    assert.equal(custom.farFutureExp, true);
  });

  it('reports expired and not-yet-valid tokens', () => {
    const c = claimsOf({ iat: NOW - 7_200, exp: NOW - 3_600, nbf: NOW + 60 });
    assert.equal(c.expired, true);
    assert.equal(c.notYetValid, true);
  });

  it('finds an email and a phone number by value and names by claim name', () => {
    const c = claimsOf({
      sub: 'alice@example.com',
      exp: NOW + 900,
      contact: '+1 (415) 555-0100',
      given_name: 'Alice',
      profile: { address: { street_address: '1 Main St' }, birthdate: '1990-01-01' },
      ssn_like: '123-45-6789',
      card: '4111 1111 1111 1111',
      role: 'user',
    });
    const byClaim = Object.fromEntries(c.personalData.map((d) => [d.claim, d.kind]));
    assert.equal(byClaim['sub'], 'email');
    assert.equal(byClaim['contact'], 'phone');
    assert.equal(byClaim['given_name'], 'name');
    assert.equal(byClaim['profile.address'], 'address');
    assert.equal(byClaim['profile.birthdate'], 'birthdate');
    assert.equal(byClaim['ssn_like'], 'national-id');
    assert.equal(byClaim['card'], 'card');
    assert.equal(byClaim['role'], undefined);
  });

  it('does not flag a pseudonymous subject or numeric timestamps', () => {
    const c = claimsOf({
      sub: '7f3a9c1e',
      iat: NOW,
      exp: NOW + 900,
      jti: 'a1b2',
      sid: '1234567890',
    });
    assert.deepEqual(c.personalData, []);
  });

  it('reports claim names only, never the values', () => {
    const c = claimsOf({ email: 'bob@example.org', exp: NOW + 60 });
    assert.ok(!JSON.stringify(c).includes('bob@example.org'));
    assert.deepEqual(c.personalData, [{ claim: 'email', kind: 'email' }]);
  });
});
