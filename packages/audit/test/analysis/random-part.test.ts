import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jsonwebtoken from 'jsonwebtoken';
import { describeRandomPart, extractRandomPart } from '../../src/analysis/random-part.js';

const SIG = 'Kq3b9ZtJc2Yh0m8xPq7sVw4nT1uRz6LdEoFgHiJkLmN';

describe('extractRandomPart', () => {
  it('keeps the value of an express-session signed cookie, raw or URL-encoded', () => {
    assert.equal(extractRandomPart(`s:abcDEF123_-xyz.${SIG}`), 'abcDEF123_-xyz');
    assert.equal(
      extractRandomPart(`s%3AabcDEF123_-xyz.${encodeURIComponent(SIG)}`),
      'abcDEF123_-xyz',
    );
  });

  it('strips a brand prefix, a bearer scheme and UUID dashes', () => {
    assert.equal(extractRandomPart('tsa_9f2c4e6a8b0d1f3e5a7c9e1b'), '9f2c4e6a8b0d1f3e5a7c9e1b');
    assert.equal(extractRandomPart('sk_live_9f2c4e6a8b0d1f3e5a7c'), '9f2c4e6a8b0d1f3e5a7c');
    assert.equal(extractRandomPart('Bearer 9f2c4e6a8b0d1f3e'), '9f2c4e6a8b0d1f3e');
    assert.equal(
      extractRandomPart('123e4567-e89b-42d3-a456-426614174000'),
      '123e4567e89b42d3a456426614174000',
    );
  });

  it('returns an empty string for a JWT, which is not analysed here', () => {
    const token = jsonwebtoken.sign({ sub: '1' }, 'k');
    assert.equal(extractRandomPart(token), '');
    assert.equal(describeRandomPart(token).kind, 'jwt');
  });

  it('leaves plain random tokens alone', () => {
    assert.equal(extractRandomPart('Zx81kQ0pLr4T'), 'Zx81kQ0pLr4T');
    assert.equal(describeRandomPart('Zx81kQ0pLr4T').kind, 'plain');
  });
});
