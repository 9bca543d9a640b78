import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTessera, manualClock, type Tessera } from '@tessera/core';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { tempDir } from './helpers.js';

const EPOCH = Date.UTC(2026, 0, 1);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/kill-child.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(`${ROOT}package.json`).resolve('tsx')).href;

interface Pair {
  accessToken: string;
  refreshToken: string;
}
type ChildReport = Record<
  'live' | 'loggedOut' | 'revoked' | 'refreshedBefore' | 'refreshedAfter' | 'others' | 'kept',
  Pair
>;

/** Runs the child until it reports, then kills it with SIGKILL and returns its report. */
async function runAndKill(path: string): Promise<ChildReport> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', TSX, CHILD, path, String(EPOCH)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  try {
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const end = stdout.indexOf('\n');
        if (end >= 0) resolve(stdout.slice(0, end));
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) early:\n${stderr}`)));
    });
    return JSON.parse(line) as ChildReport;
  } finally {
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    assert.equal(signal, 'SIGKILL', `child should die by SIGKILL (exit ${code}):\n${stderr}`);
  }
}

describe('durability across kill -9', () => {
  const dir = tempDir();
  let report: ChildReport;
  let database: BetterSqlite3.Database;
  let tessera: Tessera;

  before(async () => {
    report = await runAndKill(dir.path());
    // The process died without closing: its committed writes are in the WAL file.
    assert.ok(existsSync(`${dir.path()}-wal`));
    database = openSqliteDatabase(dir.path());
    tessera = createTessera({
      store: createSqliteStore({ database }),
      clock: manualClock(EPOCH + 60_000),
    });
  });
  after(() => {
    database?.close();
    dir.remove();
  });

  it('keeps live sessions: their tokens still validate and refresh', async () => {
    assert.equal((await tessera.validate(report.live.accessToken)).ok, true);
    assert.equal((await tessera.validate(report.kept.accessToken)).ok, true);
    assert.equal((await tessera.refresh(report.live.refreshToken)).ok, true);
  });

  it('keeps ends: logged-out, revoked and password-changed sessions stay ended', async () => {
    for (const pair of [report.loggedOut, report.revoked, report.others]) {
      const validated = await tessera.validate(pair.accessToken);
      assert.equal(validated.ok, false);
      assert.equal(validated.ok ? null : validated.reason, 'ended');
      assert.deepEqual(await tessera.refresh(pair.refreshToken), { ok: false, reason: 'ended' });
    }
    const [loggedOut] = await tessera
      .events({ type: 'session.ended', limit: 1 })
      .then((p) => p.events);
    assert.equal(loggedOut?.reason, 'logout');
  });

  it('keeps rotations: the old access token is unknown, the new pair works', async () => {
    const old = await tessera.validate(report.refreshedBefore.accessToken);
    assert.equal(old.ok ? null : old.reason, 'unknown');
    assert.equal((await tessera.validate(report.refreshedAfter.accessToken)).ok, true);
    // The rotated refresh token was kept too: past the grace window it is caught as reuse.
    assert.deepEqual(await tessera.refresh(report.refreshedBefore.refreshToken), {
      ok: false,
      reason: 'refresh_token_reuse',
    });
  });
});
