import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fileStorage } from '../src/file-storage.js';

const writer = fileURLToPath(new URL('./file-storage-writer.ts', import.meta.url));

test('the phone file storage keeps its values across a restart', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'phone-storage-')), 'phone.json');
  const first = fileStorage(path);
  await first.set('a', '1');
  await first.set('b', '2');
  await first.delete('a');
  const second = fileStorage(path);
  assert.equal(await second.get('a'), null);
  assert.equal(await second.get('b'), '2');
});

test('a writer killed with SIGKILL mid-write leaves a whole, readable state (never a torn file)', {
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phone-storage-'));
  const path = join(dir, 'phone.json');
  for (let round = 0; round < 5; round++) {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', writer, path],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 150 + round * 37));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    assert.match(data.refresh_token ?? '', /^tsr_\d+x*$/);
    assert.ok(Number(data.counter) >= 1);
  }
});
