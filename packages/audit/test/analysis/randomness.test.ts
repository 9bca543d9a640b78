import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import jsonwebtoken from 'jsonwebtoken';
import { analyzeTokens, type RandomnessReport } from '../../src/analysis/randomness.js';
import { randomBase62, seededBytes, toBase62 } from './seeded-bytes.js';

type Encoding = 'hex' | 'base64url' | 'base62';

function sample(seed: string, count: number, encoding: Encoding): string[] {
  const next = seededBytes(seed);
  return Array.from({ length: count }, () => {
    if (encoding === 'base62') return toBase62(next(32));
    return next(32).toString(encoding);
  });
}

function kinds(report: RandomnessReport): string[] {
  return report.patterns.map((p) => p.kind);
}

/** Every string in the report a reader could see. */
function reportText(report: RandomnessReport): string {
  return JSON.stringify([report.tests, report.patterns, report.reasons, report.notes, report.rule]);
}

describe('analyzeTokens on good random tokens', () => {
  for (const encoding of ['hex', 'base64url', 'base62'] as const) {
    it(`passes 2,000 tokens of 32 random bytes in ${encoding} for three seeds without any finding`, () => {
      for (const seed of ['a', 'b', 'c']) {
        const report = analyzeTokens(sample(`${encoding}-${seed}`, 2_000, encoding));
        assert.equal(report.verdict, 'PASS', `${seed}: ${report.reasons.join('; ')}`);
        assert.deepEqual(report.patterns, []);
        assert.deepEqual(
          report.tests.filter((t) => !t.passed).map((t) => t.name),
          [],
        );
        assert.ok(report.nominalBits >= 256 && report.nominalBits < 256.1, `${report.nominalBits}`);
        assert.equal(report.effectiveBitsAtAlpha, report.nominalBits);
        assert.equal(report.duplicates, 0);
      }
    });

    it(`passes 200 random ${encoding} tokens (the default sample), and warns when more are asked for`, () => {
      for (const seed of ['d', 'e', 'f', 'g', 'h']) {
        const tokens = sample(`${encoding}-small-${seed}`, 200, encoding);
        assert.equal(analyzeTokens(tokens).verdict, 'PASS');
        const strict = analyzeTokens(tokens, { reliableSampleSize: 1000 });
        assert.equal(strict.verdict, 'WARN');
        assert.equal(strict.reasons.length, 1);
        assert.match(strict.reasons[0]!, /only 200 tokens/);
        assert.deepEqual(strict.patterns, []);
      }
    });
  }

  it('detects the alphabet and reports the sample shape', () => {
    const hex = analyzeTokens(sample('shape', 300, 'hex'));
    assert.deepEqual(hex.alphabet, { name: 'hex', size: 16 });
    assert.deepEqual(hex.lengths, { min: 64, max: 64 });
    assert.equal(hex.sampleSize, 300);
    assert.equal(hex.distinct, 300);
    assert.equal(analyzeTokens(sample('shape', 300, 'base64url')).alphabet.name, 'base64url');
    assert.equal(analyzeTokens(sample('shape', 300, 'base62')).alphabet.name, 'base62');
  });

  it('accepts uniform base62 characters and random base64 with padding', () => {
    const next = seededBytes('chars');
    const chars = Array.from({ length: 1_000 }, () => randomBase62(next, 43));
    assert.equal(analyzeTokens(chars).verdict, 'PASS');
    const padded = Array.from({ length: 1_000 }, () => next(32).toString('base64'));
    const report = analyzeTokens(padded);
    assert.equal(report.verdict, 'PASS', report.reasons.join('; '));
    assert.equal(report.nominalBits, 256);
  });

  it('reports min-entropy bounds below the nominal size, as sample size limits them', () => {
    const report = analyzeTokens(sample('mcv', 1_000, 'hex'));
    // SP 800-90B MCV at N = 1,000 gives at most ~0.89 bits per perfect bit.
    assert.ok(report.mcvMinEntropyBits > 0.85 * 256 && report.mcvMinEntropyBits < 0.9 * 256);
    assert.ok(Math.abs(report.mcvMinEntropyBits - report.expectedRandomMcvBits) < 5);
    assert.ok(report.otherEstimatorBits > 0.85 * 256 && report.otherEstimatorBits < 256);
    assert.match(report.rule, /can never prove 128 bits/);
  });
});

describe('analyzeTokens on weak tokens', () => {
  it('fails 52-bit Math.random tokens on nominal size', () => {
    const tokens = Array.from({ length: 1_000 }, () =>
      Math.floor(Math.random() * 2 ** 52)
        .toString(16)
        .padStart(13, '0'),
    );
    const report = analyzeTokens(tokens);
    assert.equal(report.verdict, 'FAIL');
    assert.ok(report.nominalBits <= 52);
    assert.ok(report.reasons.some((r) => /below the 64-bit floor of NIST SP 800-63B/.test(r)));
  });

  it('fails timestamp-plus-counter tokens with a time pattern', () => {
    // A clock injected as a start time plus irregular gaps, so the sample is the same every run.
    const next = seededBytes('clock');
    let now = Date.now();
    let counter = 0;
    const issuedAt: number[] = [];
    const tokens = Array.from({ length: 500 }, () => {
      now += next(1)[0]! % 50;
      issuedAt.push(now);
      return now.toString(36) + (counter++).toString(36).padStart(4, '0');
    });
    const report = analyzeTokens(tokens);
    assert.equal(report.verdict, 'FAIL');
    assert.ok(kinds(report).includes('time'), JSON.stringify(report.patterns));
    assert.ok(kinds(report).includes('counter'));
    assert.ok(kinds(analyzeTokens(tokens, { issuedAt })).includes('time'));
  });

  it('fails a millisecond timestamp hidden in base64 bytes before random bytes', () => {
    const next = seededBytes('ts-b64');
    const start = Date.now();
    const tokens = Array.from({ length: 400 }, (_, i) => {
      const bytes = Buffer.alloc(24);
      bytes.writeUIntBE(start + i * 37, 0, 6);
      next(18).copy(bytes, 6);
      return bytes.toString('base64url');
    });
    const report = analyzeTokens(tokens);
    assert.equal(report.verdict, 'FAIL');
    assert.ok(kinds(report).includes('time'), JSON.stringify(report.patterns));
  });

  it('fails incrementing counter tokens with a counter pattern', () => {
    const plain = Array.from({ length: 300 }, (_, i) => String(1_000_000 + i));
    const report = analyzeTokens(plain);
    assert.equal(report.verdict, 'FAIL');
    assert.ok(kinds(report).includes('counter'));
    // A counter after 128 random bits still shows, even though the size is ample.
    const next = seededBytes('counter');
    const suffixed = Array.from(
      { length: 300 },
      (_, i) => next(16).toString('hex') + (5_000 + 3 * i).toString(16).padStart(8, '0'),
    );
    const r2 = analyzeTokens(suffixed);
    assert.ok(r2.nominalBits >= 128);
    assert.equal(r2.verdict, 'FAIL');
    assert.ok(kinds(r2).includes('counter'), JSON.stringify(r2.patterns));
  });

  it('fails md5(username + i) tokens with a hash-of-known-data pattern', () => {
    const users = ['alice', 'bob', 'carol'];
    const knownInputs: string[][] = [];
    const tokens = Array.from({ length: 300 }, (_, i) => {
      const user = users[i % 3]!;
      knownInputs.push([user, String(i)]);
      return createHash('md5')
        .update(user + i)
        .digest('hex');
    });
    const report = analyzeTokens(tokens, { knownInputs });
    assert.equal(report.verdict, 'FAIL');
    assert.ok(kinds(report).includes('hash-of-known-data'));
    // The same tokens pass every statistical test: only the recomputation finds them.
    assert.deepEqual(
      report.tests.filter((t) => !t.passed).map((t) => t.name),
      [],
    );
    assert.notEqual(analyzeTokens(tokens).verdict, 'FAIL');
  });

  it('fails sha256 of a bare counter without being told the inputs', () => {
    const tokens = Array.from({ length: 200 }, (_, i) =>
      createHash('sha256')
        .update(String(i + 17))
        .digest('base64url'),
    );
    const report = analyzeTokens(tokens);
    assert.equal(report.verdict, 'FAIL');
    assert.ok(kinds(report).includes('hash-of-known-data'));
  });

  it('fails any duplicate', () => {
    const tokens = sample('dup', 500, 'hex');
    tokens[400] = tokens[17]!;
    const report = analyzeTokens(tokens);
    assert.equal(report.verdict, 'FAIL');
    assert.equal(report.duplicates, 1);
    assert.equal(report.distinct, 499);
    assert.match(report.reasons[0]!, /1 duplicate/);
  });

  it('judges a constant prefix by the random bits after it: 48 fail, 64 only warn', () => {
    const next = seededBytes('prefix');
    for (const prefix of ['tsa_', 'SESS0042', 'c0ffee']) {
      const weak = analyzeTokens(
        Array.from({ length: 1_000 }, () => prefix + next(6).toString('hex')),
      );
      assert.equal(weak.verdict, 'FAIL', prefix);
      assert.equal(weak.nominalBits, 48);
      assert.ok(
        weak.reasons.some((r) => /48 bits, below the 64-bit floor of NIST SP 800-63B/.test(r)),
      );
      const short = analyzeTokens(
        Array.from({ length: 1_000 }, () => prefix + next(8).toString('hex')),
      );
      assert.equal(short.verdict, 'WARN', prefix);
      assert.equal(short.nominalBits, 64);
      assert.ok(
        short.reasons.some((r) => /64 bits: it meets the 64-bit floor.*ASVS 5\.0 7\.2\.3/.test(r)),
      );
    }
    const shared = analyzeTokens(
      Array.from({ length: 1_000 }, () => `SESS0042${next(8).toString('hex')}`),
    );
    assert.ok(kinds(shared).includes('shared-prefix'));
  });

  it('notices a bit position that is fixed inside random data', () => {
    const next = seededBytes('fixed');
    const tokens = Array.from({ length: 2_000 }, () => {
      const bytes = next(32);
      bytes[5]! |= 0x10;
      return bytes.toString('hex');
    });
    const report = analyzeTokens(tokens);
    assert.equal(report.nominalBits, 255);
    assert.ok(kinds(report).includes('constant-position'));
  });

  it('fails a biased bit position on the per-position tests', () => {
    const next = seededBytes('biased');
    const tokens = Array.from({ length: 2_000 }, () => {
      const bytes = next(33);
      // Bit 0x04 of byte 9 is 1 three times out of four.
      if ((bytes[32]! & 3) !== 0) bytes[9]! |= 0x04;
      return bytes.subarray(0, 32).toString('hex');
    });
    const report = analyzeTokens(tokens);
    assert.equal(report.verdict, 'FAIL');
    const monobit = report.tests.find((t) => t.name.startsWith('bit monobit'))!;
    assert.equal(monobit.passed, false);
    assert.match(monobit.detail, /at bit 77/);
    assert.equal(report.effectiveBitsAtAlpha, 255);
  });

  it('fails a bit that copies another on the correlation test', () => {
    const next = seededBytes('copy');
    const tokens = Array.from({ length: 1_000 }, () => {
      const bytes = next(32);
      bytes[20] = (bytes[20]! & 0xfe) | (bytes[3]! >> 7);
      return bytes.toString('hex');
    });
    const report = analyzeTokens(tokens);
    assert.equal(report.verdict, 'FAIL');
    assert.equal(report.tests.find((t) => t.name.startsWith('bit correlation'))?.passed, false);
    assert.equal(report.effectiveBitsAtAlpha, 255);
  });

  it('warns on version-4 UUIDs: 122 random bits meet NIST SP 800-63B, not ASVS 5.0 7.2.3', () => {
    const tokens = Array.from({ length: 500 }, () => crypto.randomUUID());
    const report = analyzeTokens(tokens);
    assert.equal(report.nominalBits, 122);
    assert.equal(report.verdict, 'WARN');
    assert.ok(report.reasons.some((r) => /not the 128 bits of ASVS 5\.0 7\.2\.3/.test(r)));
    assert.ok(report.notes.some((n) => /UUID/.test(n)));
  });
});

describe('analyzeTokens on samples it cannot judge', () => {
  it('is INCONCLUSIVE below 100 tokens when nothing structural fails', () => {
    const report = analyzeTokens(sample('tiny', 60, 'hex'));
    assert.equal(report.verdict, 'INCONCLUSIVE');
    assert.equal(report.tests[0]?.skipped, true);
  });

  it('still fails a tiny sample that repeats a token', () => {
    const tokens = sample('tiny-dup', 20, 'hex');
    tokens.push(tokens[0]!);
    assert.equal(analyzeTokens(tokens).verdict, 'FAIL');
  });

  it('is INCONCLUSIVE for JWTs and for empty input', () => {
    const jwts = Array.from({ length: 150 }, (_, i) => jsonwebtoken.sign({ sub: `u${i}` }, 'k'));
    const report = analyzeTokens(jwts);
    assert.equal(report.verdict, 'INCONCLUSIVE');
    assert.match(report.reasons[0]!, /JWT/);
    assert.equal(analyzeTokens([]).verdict, 'INCONCLUSIVE');
    assert.equal(analyzeTokens(['', '']).verdict, 'INCONCLUSIVE');
  });

  it('switches character transition tests off when the sample is too small for the alphabet', () => {
    const report = analyzeTokens(sample('burp', 300, 'base64url'));
    const transition = report.tests.find((t) => t.name.startsWith('character transition'))!;
    assert.equal(transition.skipped, true);
    assert.match(transition.detail, /needs N ≥ 5·k²/);
  });
});

describe('analyzeTokens reading structured tokens', () => {
  it('analyses only the value of express-session signed cookies', () => {
    const next = seededBytes('cookie');
    const tokens = Array.from({ length: 1_000 }, () => {
      const id = next(24).toString('base64url');
      const sig = next(32).toString('base64').replace(/=+$/, '');
      return `s:${id}.${sig}`;
    });
    const report = analyzeTokens(tokens);
    assert.equal(report.nominalBits, 192);
    assert.equal(report.verdict, 'PASS', report.reasons.join('; '));
    assert.ok(report.notes.some((n) => /signed cookies/.test(n)));
  });

  it('never copies token content into details, reasons or notes', () => {
    const tokens = sample('leak', 300, 'hex');
    tokens[10] = tokens[11]!;
    const prefixed = tokens.map((t) => `tsa_${t}`);
    for (const report of [analyzeTokens(tokens), analyzeTokens(prefixed)]) {
      const text = reportText(report);
      for (const token of tokens.slice(0, 50)) {
        for (let i = 0; i + 10 <= token.length; i += 9) {
          assert.ok(!text.includes(token.slice(i, i + 10)), 'token content leaked into the report');
        }
      }
    }
  });

  it('analyses 20,000 tokens of 64 characters in a few seconds', () => {
    const tokens = Array.from({ length: 20_000 }, () => randomBytes(32).toString('hex'));
    const started = performance.now();
    const report = analyzeTokens(tokens);
    const elapsedMs = performance.now() - started;
    assert.equal(report.verdict, 'PASS', report.reasons.join('; '));
    // Typically 1–2.5 s on a loaded two-core CI box; the bound leaves room for contention.
    assert.ok(elapsedMs < 8_000, `${Math.round(elapsedMs)} ms`);
    assert.equal(
      report.tests.some((t) => t.name.startsWith('FIPS 140-2 exact bounds (per bit')),
      true,
    );
  });
});
