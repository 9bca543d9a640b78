import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runAuditCli } from '../src/index.js';
import { capture } from './capture.js';
import { bearerTarget, createBearerTokenApp, PASSWORDS } from './fixtures/bearer-token-app.js';
import { serve } from './fixtures/serve.js';

describe('report outputs', () => {
  const issued: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
  let server: Awaited<ReturnType<typeof serve>>;
  let code = -1;
  const stdout = capture();
  const stderr = capture();
  const files = {
    json: join(dir, 'report.json'),
    sarif: join(dir, 'report.sarif'),
    html: join(dir, 'report.html'),
  };

  before(async () => {
    // Two flaws, so the outputs carry failures with evidence.
    server = await serve(
      // Long limits, so that only logouts (not timeouts) end the sessions the audit created.
      createBearerTokenApp({
        flaws: { acceptQueryToken: true, noCacheControl: true },
        issued,
        idleMs: 120_000,
        absoluteMs: 300_000,
      }),
    );
    const targetPath = join(dir, 'target.json');
    writeFileSync(
      targetPath,
      JSON.stringify(
        bearerTarget(server.baseUrl, { limits: { requests_per_second: 2000, sample_size: 120 } }),
      ),
    );
    code = await runAuditCli(
      [targetPath, '--quick', '--json', files.json, '--sarif', files.sarif, '--html', files.html],
      { stdout, stderr, env: {} },
    );
  });
  after(() => server.close());

  test('the exit code is 1 when a check fails at or above the default fail-on (high)', () => {
    assert.equal(code, 1);
    assert.match(stdout.text, /FAIL\s+SH-TRN-01/);
    assert.match(stderr.text, /sampling tokens/);
  });

  test('every session the audit created is logged out at the end', async () => {
    const answer = await fetch(`${server.baseUrl}/__fixture/live`);
    assert.deepEqual(await answer.json(), { live: 0 });
  });

  test('no raw credential the run saw appears in any of the four outputs', () => {
    assert.ok(issued.length > 100, `the fixture issued ${issued.length} tokens`);
    const outputs = {
      terminal: stdout.text,
      json: readFileSync(files.json, 'utf8'),
      sarif: readFileSync(files.sarif, 'utf8'),
      html: readFileSync(files.html, 'utf8'),
    };
    for (const [name, text] of Object.entries(outputs)) {
      for (const secret of [...issued, PASSWORDS['alice']!])
        assert.equal(text.includes(secret), false, `${name} contains a raw credential`);
      assert.equal(
        stderr.text.includes(PASSWORDS['alice']!) || issued.some((t) => stderr.text.includes(t)),
        false,
        'progress lines contain a raw credential',
      );
      assert.match(text, /fp:[0-9a-f]{12}/, `${name} identifies credentials by fingerprint`);
    }
  });

  test('the JSON report has every check with a verdict and the counts', () => {
    const report = JSON.parse(readFileSync(files.json, 'utf8'));
    assert.equal(report.counts.FAIL, 2);
    const ids = report.results
      .filter((r: { verdict: string }) => r.verdict === 'FAIL')
      .map((r: { id: string }) => r.id)
      .sort();
    assert.deepEqual(ids, ['SH-TRN-01', 'SH-TRN-03']);
    assert.ok(report.results.every((r: { refs: string[] }) => r.refs.length > 0));
  });

  test('the SARIF report is SARIF 2.1.0 with rules, tags, kinds, levels and the target URL as location', () => {
    const sarif = JSON.parse(readFileSync(files.sarif, 'utf8'));
    assert.equal(sarif.version, '2.1.0');
    assert.match(sarif.$schema, /sarif-2\.1\.0/);
    const run = sarif.runs[0];
    const rules = run.tool.driver.rules as {
      id: string;
      helpUri: string;
      properties: { tags: string[] };
    }[];
    assert.ok(rules.length > 10);
    for (const r of rules) {
      assert.match(r.helpUri, /^https:\/\//);
      assert.ok(r.properties.tags.includes('security'));
    }
    for (const r of run.results) {
      assert.ok(rules.some((rule) => rule.id === r.ruleId));
      assert.equal(rules[r.ruleIndex]?.id, r.ruleId);
      assert.ok(['pass', 'fail', 'review', 'notApplicable'].includes(r.kind));
      // SARIF §3.27.10: a level other than "none" requires kind "fail".
      if (r.level !== 'none') assert.equal(r.kind, 'fail');
      assert.equal(r.locations[0].physicalLocation.artifactLocation.uri, `${server.baseUrl}/`);
      assert.equal(typeof r.message.text, 'string');
    }
    const trn01 = run.results.find((r: { ruleId: string }) => r.ruleId === 'SH-TRN-01');
    assert.deepEqual([trn01.kind, trn01.level], ['fail', 'error']);
  });

  test('the HTML report is one file with no external resource and escaped content', () => {
    const html = readFileSync(files.html, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<table id="findings">/);
    assert.doesNotMatch(html, /<script|<link|src=|url\(/i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });

  test('--json with no file writes JSON to stdout and the human report to stderr', async () => {
    const out = capture();
    const err = capture();
    const targetPath = join(dir, 'target.json');
    const exit = await runAuditCli(['--json', targetPath, '--only', 'SH-TRN-03', '--sample', '0'], {
      stdout: out,
      stderr: err,
      env: {},
    });
    assert.equal(exit, 0);
    const report = JSON.parse(out.text);
    assert.deepEqual(
      report.results.map((r: { id: string; verdict: string; severity: string }) => [
        r.id,
        r.verdict,
        r.severity,
      ]),
      [['SH-TRN-03', 'FAIL', 'medium']],
    );
    assert.match(err.text, /SH-TRN-03/);
  });
});
