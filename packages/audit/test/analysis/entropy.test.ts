import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  expectedRandomMcv,
  mostCommonValueBits,
  tupleEstimate,
} from '../../src/analysis/entropy.js';
import { seededBytes } from './seeded-bytes.js';

describe('mostCommonValueBits (SP 800-90B 6.3.1)', () => {
  it('reproduces the per-bit bounds for a perfectly balanced bit at 1,000, 5,000 and 20,000 tokens', () => {
    assert.equal(mostCommonValueBits(500, 1_000).toFixed(3), '0.887');
    assert.equal(mostCommonValueBits(2_500, 5_000).toFixed(3), '0.948');
    assert.equal(mostCommonValueBits(10_000, 20_000).toFixed(3), '0.974');
  });

  it('gives zero for a constant bit and treats ones and zeros alike', () => {
    assert.equal(mostCommonValueBits(0, 1_000), 0);
    assert.equal(mostCommonValueBits(1_000, 1_000), 0);
    assert.equal(mostCommonValueBits(300, 1_000), mostCommonValueBits(700, 1_000));
  });

  it('expects about what a balanced bit scores, a little less for sampling noise', () => {
    const e = expectedRandomMcv(1_000);
    assert.ok(e.bitsPerBit < 0.887 && e.bitsPerBit > 0.85);
    assert.ok(e.sdPerBit > 0 && e.sdPerBit < 0.05);
  });
});

describe('tupleEstimate (SP 800-90B 6.3.5)', () => {
  it('scores random bits close to one bit per bit and a repeated pattern near zero', () => {
    const bytes = seededBytes('tuple')(40_000);
    const random = Uint8Array.from({ length: 320_000 }, (_, i) => (bytes[i >> 3]! >> (i & 7)) & 1);
    const r = tupleEstimate(random);
    assert.ok(r.bitsPerBit > 0.9 && r.bitsPerBit <= 1, `${r.bitsPerBit}`);
    assert.ok(r.maxTuple >= 10);
    const repeated = Uint8Array.from({ length: 100_000 }, (_, i) => (i % 7 === 0 ? 1 : 0));
    assert.ok(tupleEstimate(repeated).bitsPerBit < 0.2);
  });
});
