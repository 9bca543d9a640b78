import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditApp, explain, failures, verdicts } from './audit-fixture.js';
import { cookieSessionTarget, createCookieSessionApp } from './fixtures/cookie-session-app.js';

// express-session fixtures. Declared policy: idle 2 s, absolute 6 s, so timeout checks run in seconds.
describe('express-session fixtures', () => {
  test('the correct express-session app has no failure and passes the core checks', async () => {
    const report = await auditApp(createCookieSessionApp(), cookieSessionTarget);
    const v = verdicts(report);
    assert.deepEqual(failures(report, 'low'), [], explain(report));
    for (const id of [
      'SH-TOK-01',
      'SH-TOK-04',
      'SH-TOK-05',
      'SH-LIFE-01',
      'SH-TERM-01',
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

  test('logout that only clears the cookie is SH-TERM-01 FAIL (ASVS 7.4.1, WSTG-SESS-06) and nothing else fails', async () => {
    const report = await auditApp(
      createCookieSessionApp({ flaws: { clientOnlyLogout: true } }),
      cookieSessionTarget,
      { quick: true, sampleSize: 0 },
    );
    assert.deepEqual(failures(report, 'low'), ['SH-TERM-01'], explain(report));
  });

  test('a session not regenerated at login is SH-LIFE-01 FAIL (ASVS 7.2.4, WSTG-SESS-03) and nothing else fails', async () => {
    const report = await auditApp(
      createCookieSessionApp({ flaws: { noRegenerate: true } }),
      cookieSessionTarget,
      { quick: true, sampleSize: 0 },
    );
    assert.deepEqual(failures(report, 'low'), ['SH-LIFE-01'], explain(report));
    const life = report.results.find((r) => r.id === 'SH-LIFE-01');
    assert.match(life?.summary ?? '', /pre-login sid is still the session id/);
  });

  test('a cookie without HttpOnly or SameSite is SH-COOK-01 FAIL (ASVS 3.3.4, WSTG-SESS-02) and nothing else fails', async () => {
    const report = await auditApp(
      createCookieSessionApp({ flaws: { weakCookie: true } }),
      cookieSessionTarget,
      { quick: true, sampleSize: 0 },
    );
    assert.deepEqual(failures(report, 'low'), ['SH-COOK-01'], explain(report));
    assert.match(
      report.results.find((r) => r.id === 'SH-COOK-01')?.summary ?? '',
      /lacks HttpOnly.*no SameSite/,
    );
  });

  test('no idle expiry is SH-TIME-02 FAIL (ASVS 7.3.1) while the absolute limit still passes', async () => {
    const report = await auditApp(
      createCookieSessionApp({ flaws: { noIdleTimeout: true } }),
      cookieSessionTarget,
      { sampleSize: 0 },
    );
    assert.deepEqual(failures(report, 'low'), ['SH-TIME-02'], explain(report));
    assert.equal(verdicts(report)['SH-TIME-03'], 'PASS');
  });

  test('--quick skips the timeout checks instead of passing them', async () => {
    const report = await auditApp(
      createCookieSessionApp({ flaws: { noIdleTimeout: true } }),
      cookieSessionTarget,
      { quick: true, sampleSize: 0, only: ['SH-TIME-02', 'SH-TIME-03'] },
    );
    assert.deepEqual(verdicts(report), { 'SH-TIME-02': 'SKIPPED', 'SH-TIME-03': 'SKIPPED' });
  });

  test('a wait longer than --max-wait is SKIPPED, never PASS', async () => {
    const report = await auditApp(createCookieSessionApp(), cookieSessionTarget, {
      maxWaitSeconds: 2,
      sampleSize: 0,
      only: ['SH-TIME-02', 'SH-TIME-03'],
    });
    assert.deepEqual(verdicts(report), { 'SH-TIME-02': 'SKIPPED', 'SH-TIME-03': 'SKIPPED' });
    assert.match(report.results[0]?.summary ?? '', /--max-wait 2 s/);
  });
});
