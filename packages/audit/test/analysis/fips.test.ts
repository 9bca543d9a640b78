import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FIPS_BLOCK_BITS,
  fips140Block,
  longRunP,
  monobitP,
  pokerP,
  runLengthsP,
  runsP,
  summarizeBits,
} from '../../src/analysis/fips.js';
import { seededBytes } from './seeded-bytes.js';

function randomBits(seed: string, length: number): Uint8Array {
  const bytes = seededBytes(seed)(Math.ceil(length / 8));
  return Uint8Array.from({ length }, (_, i) => (bytes[i >> 3]! >> (7 - (i & 7))) & 1);
}

/** A random-looking block whose number of ones is set exactly, by flipping bits. */
function blockWithOnes(ones: number): Uint8Array {
  const bits = randomBits('ones', FIPS_BLOCK_BITS);
  let current = bits.reduce((s, b) => s + b, 0);
  for (let i = 0; current !== ones; i++) {
    if (current < ones && bits[i] === 0) {
      bits[i] = 1;
      current++;
    } else if (current > ones && bits[i] === 1) {
      bits[i] = 0;
      current--;
    }
  }
  return bits;
}

describe('FIPS 140-2 exact bounds on 20,000 bits', () => {
  it('passes a block of good pseudo-random bits', () => {
    const result = fips140Block(randomBits('good', FIPS_BLOCK_BITS));
    assert.equal(result.passed, true);
  });

  it('fails all-alternating bits on runs and poker but not on monobit or long run', () => {
    const result = fips140Block(Uint8Array.from({ length: FIPS_BLOCK_BITS }, (_, i) => i % 2));
    assert.equal(result.ones, 10_000);
    assert.equal(result.monobitPassed, true);
    assert.equal(result.runsPassed, false);
    assert.equal(result.runsOfOnes[0], 10_000);
    assert.equal(result.pokerPassed, false);
    assert.equal(result.longRunPassed, true);
    assert.equal(result.passed, false);
  });

  it('puts the monobit bounds exactly at 9,725 and 10,275 ones', () => {
    assert.equal(fips140Block(blockWithOnes(9_725)).monobitPassed, false);
    assert.equal(fips140Block(blockWithOnes(9_726)).monobitPassed, true);
    assert.equal(fips140Block(blockWithOnes(10_274)).monobitPassed, true);
    assert.equal(fips140Block(blockWithOnes(10_275)).monobitPassed, false);
  });

  it('fails a run of 26 bits and accepts a run of 25', () => {
    const withRun = (length: number) => {
      const bits = randomBits('run', FIPS_BLOCK_BITS);
      bits.fill(1, 1_000, 1_000 + length);
      bits[999] = 0;
      bits[1_000 + length] = 0;
      return bits;
    };
    assert.equal(fips140Block(withRun(26)).longRunPassed, false);
    assert.equal(fips140Block(withRun(26)).longestRun, 26);
    assert.equal(fips140Block(withRun(25)).longRunPassed, true);
  });

  it('computes the poker statistic as (16/5000)·Σf² − 5000', () => {
    // 20,000 bits of 0000 give f(0) = 5,000: X = 16/5000·5000² − 5000 = 75,000.
    assert.equal(fips140Block(new Uint8Array(FIPS_BLOCK_BITS)).pokerStatistic, 75_000);
  });

  it('refuses blocks that are not 20,000 bits', () => {
    assert.throws(() => fips140Block(new Uint8Array(100)), RangeError);
  });
});

describe('recalibrated tests for any length', () => {
  it('give the FIPS monobit bound a p-value near 1e-4 at 20,000 bits', () => {
    const p = monobitP(summarizeBits(blockWithOnes(9_725))).p!;
    assert.ok(p > 5e-5 && p < 2e-4, `p = ${p}`);
  });

  it('give the FIPS long-run bound a p-value near 3e-4 at 20,000 bits', () => {
    const bits = randomBits('long', FIPS_BLOCK_BITS);
    bits.fill(1, 5_000, 5_026);
    bits[4_999] = 0;
    bits[5_026] = 0;
    const p = longRunP(summarizeBits(bits)).p!;
    assert.ok(p > 1e-4 && p < 1e-3, `p = ${p}`);
  });

  it('accept good pseudo-random bits of other lengths', () => {
    for (const length of [500, 4_096, 100_000]) {
      const bits = randomBits(`len-${length}`, length);
      const summary = summarizeBits(bits);
      for (const r of [
        monobitP(summary),
        runsP(summary),
        runLengthsP(summary),
        longRunP(summary),
        pokerP(bits),
      ]) {
        assert.ok(r.p !== null && r.p > 1e-4, `length ${length}: p = ${r.p}`);
      }
    }
  });

  it('reject alternating, constant and sticky bits', () => {
    const alternating = summarizeBits(Uint8Array.from({ length: 2_000 }, (_, i) => i % 2));
    assert.ok(runsP(alternating).p! < 1e-9);
    assert.ok(runLengthsP(alternating).p! < 1e-9);
    const constant = summarizeBits(new Uint8Array(2_000));
    assert.ok(monobitP(constant).p! < 1e-9);
    assert.ok(longRunP(constant).p! < 1e-9);
    // Each bit repeats the previous one 90% of the time.
    const sticky = randomBits('sticky', 4_000);
    for (let i = 1; i < sticky.length; i++) if (i % 10 !== 0) sticky[i] = sticky[i - 1]!;
    assert.ok(runsP(summarizeBits(sticky)).p! < 1e-9);
  });

  it('skip poker below 320 bits rather than trust a chi-square with tiny cells', () => {
    const r = pokerP(new Uint8Array(200));
    assert.equal(r.p, null);
    assert.match(r.skipped ?? '', /320 bits/);
  });
});
