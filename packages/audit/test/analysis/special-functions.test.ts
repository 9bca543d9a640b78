import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chiSquareLowerP,
  chiSquareUpperP,
  erfc,
  poissonAtLeastP,
  poissonAtMostP,
  twoSidedNormalP,
} from '../../src/analysis/special-functions.js';

const close = (actual: number, expected: number, relative = 1e-4) =>
  assert.ok(Math.abs(actual - expected) <= relative * expected, `${actual} ≠ ${expected}`);

describe('special functions', () => {
  it('match tabulated normal tails, deep ones included', () => {
    close(twoSidedNormalP(1.959964), 0.05);
    close(twoSidedNormalP(3.890592), 1e-4);
    close(erfc(4), 1.541725790028002e-8, 1e-5);
  });

  it('match tabulated chi-square quantiles, both tails', () => {
    close(chiSquareUpperP(3.841459, 1), 0.05);
    close(chiSquareUpperP(30.577914, 15), 0.01);
    close(chiSquareLowerP(5.229349, 15), 0.01);
    close(chiSquareUpperP(46.17, 15), 5.1e-5, 0.05);
  });

  it('match Poisson tails', () => {
    close(poissonAtMostP(0, 2), Math.exp(-2));
    close(poissonAtLeastP(1, 2), 1 - Math.exp(-2));
    close(poissonAtLeastP(10, 2), 4.6498e-5, 1e-3);
    assert.equal(poissonAtLeastP(0, 5), 1);
  });
});
