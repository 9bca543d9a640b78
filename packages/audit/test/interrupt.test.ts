import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bearerTarget, createBearerTokenApp } from './fixtures/bearer-token-app.js';
import { serve } from './fixtures/serve.js';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

async function live(baseUrl: string): Promise<number> {
  const answer = await fetch(`${baseUrl}/__fixture/live`);
  return ((await answer.json()) as { live: number }).live;
}

test('Ctrl-C during a wait logs out every session the run created, then exits 130', async () => {
  // Long timeouts on both sides, so the timed checks hold their sessions open and wait.
  const server = await serve(createBearerTokenApp({ idleMs: 120_000, absoluteMs: 600_000 }));
  const dir = mkdtempSync(join(tmpdir(), 'tessera-audit-interrupt-'));
  try {
    const path = join(dir, 'target.json');
    writeFileSync(
      path,
      JSON.stringify(
        bearerTarget(server.baseUrl, {
          policy: { idle_timeout_seconds: 60, absolute_timeout_seconds: 300, tolerance_seconds: 5 },
        }),
      ),
    );
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', BIN, path], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    // Wait until the run holds sessions open (the timed checks' sessions, waiting).
    const started = Date.now();
    let open = 0;
    while (Date.now() - started < 30_000) {
      open = await live(server.baseUrl);
      if (open >= 2 && /wait/i.test(stderr)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(open >= 2, `the run never held sessions open (live: ${open})\n${stderr}`);

    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /SIGINT: logging out the sessions this run created/);
    assert.equal(await live(server.baseUrl), 0, 'sessions left behind after Ctrl-C');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
