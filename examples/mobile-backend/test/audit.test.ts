import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TEST_SCRYPT } from '../src/password-hash.js';
import { startStack } from '../src/stack.js';
import { type AuditResult, runTesseraAudit } from './audit-run.js';

/*
 * `tessera audit` against the example, as a phone uses it (bearer) and as a web front end uses it
 * (cookie mode). The example runs with a scaled-down tier so the timeout checks finish in
 * seconds; the targets declare the same numbers. Nothing may FAIL, WARN or be INCONCLUSIVE; a
 * SKIPPED check must be one that does not apply to the mode (JWT checks: Tessera tokens are
 * opaque; refresh checks in cookie mode: the refresh happens behind the cookie).
 */
// The access token lives as long as the idle limit: the audit probes a session at idle − tolerance
// with the access token it got at login, without refreshing.
const TIER = { accessTokenTtlSeconds: 6, idleTimeoutSeconds: 6, absoluteTimeoutSeconds: 18 };
// Bearer: a short grace, so the refresh-rotation checks run in seconds. Cookie mode: the
// engine's default 30 s, because the auditor (unlike a browser) keeps sending the cookie it got
// at login and ignores the renewed one; a replay of the old pair within the grace gets the same
// new pair, as parallel browser requests would.
const GRACE_SECONDS = { bearer: 2, cookie: 30 };
const NOT_APPLICABLE: Record<string, string[]> = {
  bearer: ['SH-JWT-01', 'SH-JWT-02', 'SH-TERM-02', 'SH-COOK-01'],
  // SH-TIME-01 judges declared lifetimes: cookie mode declares none (browser-session cookies).
  cookie: [
    'SH-JWT-01',
    'SH-JWT-02',
    'SH-TERM-02',
    'SH-TIME-01',
    'SH-RT-01',
    'SH-RT-02',
    'SH-RT-04',
  ],
};

const describeResults = (results: AuditResult[]) =>
  results
    .filter((r) => r.verdict !== 'PASS')
    .map(
      (r) =>
        `${r.id} ${r.verdict} [${r.severity}]: ${r.summary} | ${r.evidence.slice(0, 3).join(' | ')}`,
    )
    .join('\n');

async function auditMode(mode: 'bearer' | 'cookie') {
  const user = { email: `${mode}@example.com`, password: 'audit password 0123456789' };
  const stack = await startStack({
    tier: TIER,
    refreshGraceSeconds: GRACE_SECONDS[mode],
    scrypt: TEST_SCRYPT,
    tokenPerMinute: 100_000,
    user,
  });
  try {
    const run = await runTesseraAudit(`examples/mobile-backend/audit/${mode}.target.yaml`, {
      EXAMPLE_URL: stack.url,
      EXAMPLE_EMAIL: user.email,
      EXAMPLE_PASSWORD: user.password,
      EXAMPLE_IDLE_SECONDS: String(TIER.idleTimeoutSeconds),
      EXAMPLE_ABSOLUTE_SECONDS: String(TIER.absoluteTimeoutSeconds),
      EXAMPLE_GRACE_SECONDS: String(GRACE_SECONDS[mode]),
    });
    assert.ok(run.results.length > 0, `no report (exit ${run.code}): ${run.stderr.slice(-2000)}`);
    const bad = run.results.filter(
      (r) => r.verdict === 'FAIL' || r.verdict === 'WARN' || r.verdict === 'INCONCLUSIVE',
    );
    assert.deepEqual(
      bad.map((r) => r.id),
      [],
      describeResults(run.results),
    );
    const skipped = run.results.filter((r) => r.verdict === 'SKIPPED').map((r) => r.id);
    for (const id of skipped) {
      assert.ok(
        NOT_APPLICABLE[mode]!.includes(id),
        `${id} was skipped but applies:\n${describeResults(run.results)}`,
      );
    }
    assert.equal(run.code, 0);
  } finally {
    await stack.close();
  }
}

describe('tessera audit against the mobile-backend example', () => {
  test(
    'bearer mode (the phone): no FAIL, WARN or INCONCLUSIVE, nothing applicable skipped',
    { timeout: 300_000 },
    () => auditMode('bearer'),
  );
  test(
    'cookie mode (the web front end): no FAIL, WARN or INCONCLUSIVE, nothing applicable skipped',
    { timeout: 300_000 },
    () => auditMode('cookie'),
  );
});
