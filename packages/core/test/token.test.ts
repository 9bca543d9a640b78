import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import {
  generateId,
  generateToken,
  hashToken,
  isWellFormedToken,
  looksLikeToken,
  tokenKindOf,
} from '@tessera/core';

describe('tokens (ASVS 5.0 7.2.3, MASVS-AUTH)', () => {
  it('have a kind prefix, 43 base62 characters of body and a 6-character checksum', () => {
    const token = generateToken('access');
    assert.match(token, /^tsa_[0-9A-Za-z]{49}$/);
    assert.match(generateToken('refresh'), /^tsr_/);
    assert.match(generateToken('service_key'), /^tsk_/);
    assert.ok(isWellFormedToken(token, 'access'));
    assert.equal(tokenKindOf(token), 'access');
  });

  it('carry 256 bits: 43 base62 characters can hold 2^256 values and bodies use the full alphabet', () => {
    assert.ok(43 * Math.log2(62) >= 256);
    const chars = new Set<string>();
    for (let i = 0; i < 200; i++)
      for (const c of generateToken('access').slice(4, 47)) chars.add(c);
    assert.equal(chars.size, 62);
  });

  it('never repeat across 20,000 draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(generateToken('refresh'));
    assert.equal(seen.size, 20_000);
  });

  it('do not depend on Math.random or the clock', () => {
    const random = mock.method(Math, 'random', () => 0.5);
    const now = mock.method(Date, 'now', () => 0);
    try {
      assert.notEqual(generateToken('access'), generateToken('access'));
    } finally {
      random.mock.restore();
      now.mock.restore();
    }
  });

  it('are refused when one character is changed, truncated, extended or of another kind', () => {
    const token = generateToken('access');
    for (let i = 4; i < token.length; i++) {
      const c = token[i] === 'a' ? 'b' : 'a';
      assert.equal(
        isWellFormedToken(token.slice(0, i) + c + token.slice(i + 1), 'access'),
        false,
        `position ${i}`,
      );
    }
    assert.equal(isWellFormedToken(token.slice(0, -1), 'access'), false);
    assert.equal(isWellFormedToken(`${token}0`, 'access'), false);
    assert.equal(isWellFormedToken(token, 'refresh'), false);
    assert.equal(isWellFormedToken(`tsr_${token.slice(4)}`, 'refresh'), false);
    for (const garbage of ['', 'tsa_', null, 42, {}, `tsa_${'!'.repeat(49)}`]) {
      assert.equal(isWellFormedToken(garbage, 'access'), false);
    }
  });

  it('are hashed with SHA-256 for storage', () => {
    const token = generateToken('access');
    assert.match(hashToken(token), /^[0-9a-f]{64}$/);
    assert.notEqual(hashToken(token), hashToken(generateToken('access')));
  });

  it('are recognised inside any string, so they can be refused in URLs and masked in logs', () => {
    assert.ok(looksLikeToken(`/x?foo=${generateToken('refresh')}`));
    assert.equal(looksLikeToken('/v1/session?max_auth_age=60'), false);
  });

  it('session ids are 128-bit, base62, and unique', () => {
    const ids = new Set(Array.from({ length: 5000 }, generateId));
    assert.equal(ids.size, 5000);
    for (const id of ids) assert.match(id, /^[0-9A-Za-z]{22}$/);
  });
});
