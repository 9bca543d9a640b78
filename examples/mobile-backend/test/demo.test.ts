import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runBackendDemo, type TranscriptLine } from '../src/demo.js';

test('the npm run example transcript: every step answers as it must (sign-in, refresh, step-up, password change, logout, old tokens, cookie mode with CSRF)', {
  timeout: 60_000,
}, async () => {
  const lines: TranscriptLine[] = [];
  await runBackendDemo({ print: (line) => lines.push(line) });
  const failed = lines.filter((l) => !l.ok).map((l) => `${l.step}: ${l.outcome}`);
  assert.deepEqual(failed, []);
  assert.ok(lines.length >= 17);
});
