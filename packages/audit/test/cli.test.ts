import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runAuditCli } from '../src/index.js';
import { capture } from './capture.js';
import { cookieSessionTarget, createCookieSessionApp } from './fixtures/cookie-session-app.js';
import { serve } from './fixtures/serve.js';

describe('tessera audit CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-audit-cli-'));

  test('--help prints the usage and exits 0', async () => {
    const out = capture();
    assert.equal(await runAuditCli(['--help'], { stdout: out, stderr: capture(), env: {} }), 0);
    assert.match(out.text, /Usage: tessera audit TARGET/);
  });

  test('a bad target file exits 2 with one line per mistake', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'base_url: http://127.0.0.1:1\naccounts: []\n');
    const err = capture();
    assert.equal(await runAuditCli([path], { stdout: capture(), stderr: err, env: {} }), 2);
    assert.match(err.text, /has \d+ problem\(s\):\n {2}- /);
    assert.match(err.text, /accounts: must not be empty/);
  });

  test('an unreachable target exits 2', async () => {
    const path = join(dir, 'down.json');
    writeFileSync(path, JSON.stringify(cookieSessionTarget('http://127.0.0.1:9')));
    const err = capture();
    assert.equal(
      await runAuditCli([path, '--quick'], { stdout: capture(), stderr: err, env: {} }),
      2,
    );
    assert.match(err.text, /cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  test('a probe oracle that accepts anonymous answers exits 2 instead of auditing', async () => {
    const server = await serve(createCookieSessionApp());
    try {
      const path = join(dir, 'loose.json');
      writeFileSync(
        path,
        JSON.stringify(
          cookieSessionTarget(server.baseUrl, {
            probe: { path: '/login', authenticated: { status: 200 } },
          }),
        ),
      );
      const err = capture();
      assert.equal(
        await runAuditCli([path, '--quick'], { stdout: capture(), stderr: err, env: {} }),
        2,
      );
      assert.match(err.text, /answered as authenticated without any credential/);
    } finally {
      await server.close();
    }
  });

  test('--fail-on decides the exit code: a medium failure exits 0 at high and 1 at medium', async () => {
    const server = await serve(createCookieSessionApp({ flaws: { weakCookie: true } }));
    try {
      const path = join(dir, 'weak.json');
      writeFileSync(path, JSON.stringify(cookieSessionTarget(server.baseUrl)));
      const io = { stdout: capture(), stderr: capture(), env: {} };
      assert.equal(await runAuditCli([path, '--only', 'SH-COOK-01'], io), 0);
      assert.equal(await runAuditCli([path, '--only', 'SH-COOK-01', '--fail-on', 'medium'], io), 1);
    } finally {
      await server.close();
    }
  });
});
