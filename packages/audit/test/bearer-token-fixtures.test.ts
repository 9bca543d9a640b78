import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditApp, explain, failures, verdicts } from './audit-fixture.js';
import {
  type BearerFlaws,
  bearerTarget,
  createBearerTokenApp,
} from './fixtures/bearer-token-app.js';

const randomUsers = (baseUrl: string) =>
  bearerTarget(baseUrl, {
    accounts: [{ username: 'user-{{random}}', password: 'correct horse 1' }],
  });

// Opaque bearer-token API fixtures: one flaw each, and the expected FAILs (any severity).
const CASES: {
  flaw: BearerFlaws;
  expected: string[];
  why: string;
  target?: typeof bearerTarget;
}[] = [
  {
    flaw: { tokens: 'time' },
    expected: ['SH-TOK-02', 'SH-TOK-04'],
    why: 'time-based tokens are SH-TOK-02/04 FAIL (ASVS 7.2.3, WSTG-SESS-01)',
  },
  {
    flaw: { tokens: 'md5-user' },
    // md5(user) is a hash of known data (TOK-02/04), the same token at every login of a user:
    // not renewed at login (LIFE-01), and still alive after logout through the other sessions (TERM-01).
    expected: ['SH-LIFE-01', 'SH-TERM-01', 'SH-TOK-02', 'SH-TOK-04'],
    why: 'md5(user name) tokens are SH-TOK-02/04 FAIL and break renewal and logout',
    target: randomUsers,
  },
  {
    flaw: { acceptQueryToken: true },
    expected: ['SH-TRN-01'],
    why: 'a token accepted from ?token= is SH-TRN-01 FAIL (ASVS 14.2.1)',
  },
  {
    flaw: { prefixOnlyCheck: true },
    expected: ['SH-TOK-05'],
    why: 'a tampered token accepted by a prefix check is SH-TOK-05 FAIL (ASVS 7.2.1)',
  },
  {
    flaw: { noCacheControl: true },
    expected: ['SH-TRN-03'],
    why: 'token answers without no-store are SH-TRN-03 FAIL (ASVS 14.3.2, RFC 6749 §5.1)',
  },
  {
    flaw: { noRotation: true },
    expected: ['SH-RT-01'],
    why: 'a refresh token that is never rotated is SH-RT-01 FAIL (ASVS 10.4.5)',
  },
  {
    flaw: { noReuseDetection: true },
    expected: ['SH-RT-02'],
    why: 'reuse of a rotated refresh token not ending the family is SH-RT-02 FAIL (RFC 9700 §4.14.2)',
  },
];

describe('bearer-token fixtures', () => {
  test('the correct bearer-token app (rotation, reuse detection, timeouts) has no failure and passes the core checks', async () => {
    const report = await auditApp(createBearerTokenApp(), randomUsers);
    assert.deepEqual(failures(report, 'low'), [], explain(report));
    const v = verdicts(report);
    for (const id of [
      'SH-TOK-01',
      'SH-TOK-04',
      'SH-TOK-05',
      'SH-LIFE-01',
      'SH-TERM-01',
      'SH-TERM-04',
      'SH-TERM-06',
      'SH-TIME-02',
      'SH-TIME-03',
      'SH-RT-01',
      'SH-RT-02',
      'SH-RT-04',
      'SH-TRN-01',
      'SH-TRN-03',
    ]) {
      assert.equal(
        v[id],
        'PASS',
        `${id} should pass
${explain(report)}`,
      );
    }
  });

  for (const c of CASES) {
    test(`${c.why}, and nothing else fails`, async () => {
      const report = await auditApp(
        createBearerTokenApp({ flaws: c.flaw }),
        c.target ?? bearerTarget,
        { quick: true },
      );
      assert.deepEqual(failures(report, 'low'), c.expected, explain(report));
    });
  }
});
