import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectAlphabet, toBitMatrix } from '../../src/analysis/bits.js';

describe('detectAlphabet', () => {
  it('picks the smallest standard alphabet that holds every character', () => {
    assert.equal(detectAlphabet(['0123', '9876']).name, 'decimal');
    assert.equal(detectAlphabet(['00ff', 'a1b2']).name, 'hex');
    assert.equal(detectAlphabet(['00FF', 'A1B2']).name, 'hex');
    assert.equal(detectAlphabet(['MFRG2', 'GZD7F']).name, 'base32');
    assert.equal(detectAlphabet(['zz09', 'k2l3']).name, 'base36');
    assert.equal(detectAlphabet(['aZ09', 'Qx7k']).name, 'base62');
    assert.equal(detectAlphabet(['a-Z_', 'Qx7k']).name, 'base64url');
    assert.equal(detectAlphabet(['a+Z/', 'Qx7k']).name, 'base64');
    const other = detectAlphabet(['a.b', 'c~d']);
    assert.equal(other.name, 'other');
    assert.equal(other.size, 6);
    assert.equal(other.bitsPerChar, null);
  });
});

describe('toBitMatrix', () => {
  it('maps hex to 4 bits per character and counts only varying bits as nominal', () => {
    const m = toBitMatrix(['f0', '00', '80'], detectAlphabet(['f0', '00', '80']));
    assert.equal(m.width, 8);
    assert.deepEqual([...m.data.subarray(0, 8)], [1, 1, 1, 1, 0, 0, 0, 0]);
    assert.equal(m.nominalBits, 4);
    assert.deepEqual(m.constantCharPositions, [1]);
  });

  it('maps base64url to 6 bits per character', () => {
    const m = toBitMatrix(['A_', 'BA'], detectAlphabet(['A_', 'BA', '-9']));
    assert.equal(m.width, 12);
    assert.deepEqual([...m.data.subarray(0, 12)], [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('reads base62 as one integer and marks its biased top bits', () => {
    const alphabet = detectAlphabet(['0aZ', 'zz9']);
    const m = toBitMatrix(['000', '001', 'zzz'], alphabet);
    // 62³ = 238,328 values need 18 bits.
    assert.equal(m.width, 18);
    assert.deepEqual([...m.data.subarray(18, 36)].join(''), '000000000000000001');
    assert.equal(
      [...m.data.subarray(36, 54)].join(''),
      (62 ** 3 - 1).toString(2).padStart(18, '0'),
    );
    assert.ok(Math.abs(m.nominalBits - 3 * Math.log2(62)) < 1e-9);
    // The top bit is 1 only for values ≥ 2^17 = 131,072 of 238,328.
    assert.ok(Math.abs(m.expectedOne[0]! - (238_328 - 131_072) / 238_328) < 1e-12);
    assert.ok(Math.abs(m.expectedOne[17]! - 0.5) < 1e-9);
  });

  it('pads short number-like tokens on the left, as generators that drop leading zeros need', () => {
    const m = toBitMatrix(['f', 'ff'], detectAlphabet(['f', 'ff']));
    assert.equal(m.padded, true);
    assert.deepEqual([...m.data.subarray(0, 8)], [0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('leaves constant positions out of a big-integer reading unless asked to keep them', () => {
    const tokens = ['1a0', '1b5', '1c9'];
    const alphabet = detectAlphabet(['0aZ', ...tokens]);
    assert.equal(toBitMatrix(tokens, alphabet).width, 12);
    assert.equal(toBitMatrix(tokens, alphabet, { keepConstantPositions: true }).width, 18);
  });
});
