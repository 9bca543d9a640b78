import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMemoryStore, createOperatorAccounts, createTessera } from '@tessera/core';
import { buildServer } from '@tessera/server';

/*
 * `tessera audit` (the real command, as a stranger would run it) against the console's own
 * sign-in: nothing may FAIL, WARN or be INCONCLUSIVE, and a SKIPPED check must be one that does
 * not apply (as in examples/mobile-backend/test/audit.test.ts). The `high` tier is scaled down
 * so the timeout checks finish in seconds; the target declares the same numbers.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TARGET = 'packages/server/test/fixtures/console.target.yaml';
const TIER = { accessTokenTtlSeconds: 6, idleTimeoutSeconds: 6, absoluteTimeoutSeconds: 18 };
const GRACE_SECONDS = 30;
const NOT_APPLICABLE = [
  // Tessera tokens are opaque, not JWTs.
  'SH-JWT-01',
  'SH-JWT-02',
  // Browser-session cookies declare no lifetime; refresh happens behind the cookie.
  'SH-TIME-01',
  'SH-RT-01',
  'SH-RT-02',
  'SH-RT-04',
  // Logout of a JWT: none here.
  'SH-TERM-02',
];

interface AuditResult {
  id: string;
  verdict: string;
  severity: string;
  summary: string;
  evidence: string[];
}

test('tessera audit finds nothing wrong with the console sign-in', {
  timeout: 300_000,
}, async () => {
  const scrypt = { logN: 10, r: 8, p: 1 };
  const tessera = createTessera({
    store: createMemoryStore(),
    policies: { high: TIER },
    refreshGraceSeconds: GRACE_SECONDS,
  });
  const operator = { name: 'auditor', password: 'audit pass phrase 0123456789' };
  await createOperatorAccounts({ tessera, scrypt }).create(operator);
  const app = await buildServer({
    tessera,
    logger: false,
    purgeIntervalSeconds: 0,
    console: { accounts: { scrypt }, signInPerMinute: 100_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'tessera-console-audit-'));
  try {
    const report = join(dir, 'report.json');
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          'tsx',
          'packages/cli/src/main.ts',
          'audit',
          TARGET,
          '--json',
          report,
        ],
        {
          cwd: ROOT,
          timeout: 280_000,
          maxBuffer: 16 * 1024 * 1024,
          env: {
            PATH: process.env.PATH ?? '',
            NO_COLOR: '1',
            CONSOLE_URL: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
            CONSOLE_OPERATOR: operator.name,
            CONSOLE_PASSWORD: operator.password,
            CONSOLE_NEW_PASSWORD: 'a changed audit pass phrase 2026',
            CONSOLE_IDLE_SECONDS: String(TIER.idleTimeoutSeconds),
            CONSOLE_ABSOLUTE_SECONDS: String(TIER.absoluteTimeoutSeconds),
            CONSOLE_GRACE_SECONDS: String(GRACE_SECONDS),
          },
        },
        (error, _stdout, stderr) =>
          resolve({
            code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
            stderr,
          }),
      );
    });
    let results: AuditResult[] = [];
    try {
      results = (JSON.parse(readFileSync(report, 'utf8')) as { results: AuditResult[] }).results;
    } catch {
      // no report: the code and stderr say why
    }
    const describe = () =>
      results
        .filter((r) => r.verdict !== 'PASS')
        .map(
          (r) =>
            `${r.id} ${r.verdict} [${r.severity}]: ${r.summary} | ${r.evidence.slice(0, 3).join(' | ')}`,
        )
        .join('\n');
    assert.ok(results.length > 0, `no report (exit ${run.code}): ${run.stderr.slice(-2000)}`);
    const bad = results.filter((r) => ['FAIL', 'WARN', 'INCONCLUSIVE'].includes(r.verdict));
    assert.deepEqual(
      bad.map((r) => r.id),
      [],
      describe(),
    );
    for (const r of results.filter((x) => x.verdict === 'SKIPPED')) {
      assert.ok(NOT_APPLICABLE.includes(r.id), `${r.id} was skipped but applies:\n${describe()}`);
    }
    assert.ok(results.filter((r) => r.verdict === 'PASS').length >= 10, describe());
    assert.equal(run.code, 0);
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
