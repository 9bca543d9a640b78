import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditApp, explain, failures, verdicts } from './audit-fixture.js';
import { createJwtApp, jwtTarget } from './fixtures/jwt-app.js';

describe('jsonwebtoken fixtures', () => {
  test('the correct JWT app (pinned HS256, random key, jti deny-list, idle table) has no failure', async () => {
    const report = await auditApp(createJwtApp(), jwtTarget);
    assert.deepEqual(failures(report, 'low'), [], explain(report));
    const v = verdicts(report);
    for (const id of [
      'SH-JWT-01',
      'SH-JWT-02',
      'SH-TOK-05',
      'SH-TERM-02',
      'SH-TIME-02',
      'SH-TIME-03',
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

  test('a JWT signed with "secret" is SH-JWT-01 FAIL (ASVS 9.1.1) and nothing else fails', async () => {
    const report = await auditApp(createJwtApp({ flaws: { weakSecret: true } }), jwtTarget, {
      quick: true,
    });
    assert.deepEqual(failures(report, 'low'), ['SH-JWT-01'], explain(report));
    assert.match(report.results.find((r) => r.id === 'SH-JWT-01')?.summary ?? '', /common secrets/);
  });

  test('a hand-rolled verify that accepts alg none is SH-JWT-01 FAIL (ASVS 9.1.2) and nothing else fails', async () => {
    const report = await auditApp(createJwtApp({ flaws: { acceptAlgNone: true } }), jwtTarget, {
      quick: true,
    });
    assert.deepEqual(failures(report, 'low'), ['SH-JWT-01'], explain(report));
    assert.match(report.results.find((r) => r.id === 'SH-JWT-01')?.summary ?? '', /alg "none"/i);
  });

  test('a JWT with no exp, an email claim and no deny-list fails SH-JWT-02, SH-TERM-02 and both timeouts', async () => {
    const report = await auditApp(createJwtApp({ flaws: { statelessForever: true } }), jwtTarget);
    assert.deepEqual(
      failures(report, 'low'),
      ['SH-JWT-02', 'SH-TERM-02', 'SH-TIME-02', 'SH-TIME-03'],
      explain(report),
    );
    assert.equal(report.results.find((r) => r.id === 'SH-JWT-02')?.severity, 'high');
    assert.equal(verdicts(report)['SH-JWT-01'], 'PASS');
  });

  test('the correct RS256 app with a published JWKS passes SH-JWT-01 with algorithm confusion tested', async () => {
    const report = await auditApp(createJwtApp({ rs256: true }), jwtTarget, { quick: true });
    assert.deepEqual(failures(report, 'low'), [], explain(report));
    const jwt01 = report.results.find((r) => r.id === 'SH-JWT-01');
    assert.equal(jwt01?.verdict, 'PASS');
    assert.doesNotMatch(jwt01?.summary ?? '', /not tested/);
    assert.ok(
      jwt01?.evidence.some((e) => e.startsWith('JWKS /.well-known/jwks.json: 200, 1 key(s)')),
    );
  });

  test('an RS256 app that also accepts HS256 keyed with its public key is SH-JWT-01 FAIL (ASVS 9.1.2)', async () => {
    const report = await auditApp(createJwtApp({ flaws: { algConfusion: true } }), jwtTarget, {
      quick: true,
    });
    assert.deepEqual(failures(report, 'low'), ['SH-JWT-01'], explain(report));
    assert.match(
      report.results.find((r) => r.id === 'SH-JWT-01')?.summary ?? '',
      /algorithm confusion/,
    );
  });
});
