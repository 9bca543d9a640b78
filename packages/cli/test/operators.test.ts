import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliRun, childEnv, ROOT, type RunningServer, startTessera } from './cli-process.js';

/*
 * `tessera operators` as a process, with the password on standard input (never in argv), then
 * the operator it made signing in to the console of a real `tessera serve` on the same file.
 */

const PASSWORD = 'correct horse battery staple 42';

/** Runs the real CLI with `stdin` written to its standard input. */
function tessera(args: string[], stdin = ''): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts', ...args],
      { cwd: ROOT, env: childEnv(), timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('tessera operators', () => {
  let dir: string;
  let store: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-operators-'));
    store = `sqlite:${join(dir, 'tessera.db')}`;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('creates, lists, disables, enables and resets operators; passwords only from stdin, never printed', async () => {
    const created = await tessera(
      ['operators', 'create', 'Ada', '--store', store],
      `${PASSWORD}\n`,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^Created operator ada \(id [0-9A-Za-z]{22}\)/);

    const taken = await tessera(['operators', 'create', 'ada', '--store', store], `${PASSWORD}\n`);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /already exists/);

    const short = await tessera(['operators', 'create', 'bob', '--store', store], 'short\n');
    assert.equal(short.code, 2);
    assert.match(short.stderr, /at least 15 characters/);

    const inArgv = await tessera(['operators', 'create', 'bob', PASSWORD, '--store', store]);
    assert.equal(inArgv.code, 2, 'a password as an argument is refused, not used');

    const listed = await tessera(['operators', 'list', '--json', '--store', store]);
    assert.equal(listed.code, 0, listed.stderr);
    const [ada, ...others] = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    assert.equal(others.length, 0);
    assert.equal(ada?.['name'], 'ada');
    assert.equal(ada?.['status'], 'enabled');
    assert.equal('password_hash' in (ada ?? {}), false);

    assert.match(
      (await tessera(['operators', 'disable', 'ada', '--store', store])).stdout,
      /Disabled operator ada/,
    );
    assert.match(
      (await tessera(['operators', 'list', '--store', store])).stdout,
      /ada\t\w+\tdisabled/,
    );
    assert.equal((await tessera(['operators', 'enable', 'ada', '--store', store])).code, 0);
    const unknown = await tessera(['operators', 'disable', 'nobody', '--store', store]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no operator named "nobody"/);

    for (const run of [created, taken, short, listed]) {
      assert.equal(`${run.stdout}${run.stderr}`.includes(PASSWORD), false, 'never echoed');
      assert.equal(/\$scrypt\$/.test(run.stdout), false, 'the hash is never shown');
    }
  });

  test('the operator signs in to the console of tessera serve; reset-password ends that session', async () => {
    let server: RunningServer | undefined;
    try {
      server = await startTessera(['--store', store, '--port', '0']);
      const signIn = (password: string) =>
        fetch(`${server?.url}/console/sign-in`, {
          method: 'POST',
          redirect: 'manual',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            origin: server?.url as string,
          },
          body: form({ name: 'ada', password }),
        });
      const answer = await signIn(PASSWORD);
      assert.equal(answer.status, 303);
      const cookie = answer.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const overview = () =>
        fetch(`${server?.url}/console/overview`, { headers: { cookie }, redirect: 'manual' });
      assert.equal((await overview()).status, 200);

      const reset = await tessera(
        ['operators', 'reset-password', 'ada', '--store', store],
        'a brand new pass phrase 2026\n',
      );
      assert.equal(reset.code, 0, reset.stderr);
      assert.match(reset.stdout, /ended 1 console session/);
      assert.equal((await overview()).status, 303, 'the running server sees the end at once');
      assert.equal((await signIn(PASSWORD)).status, 401, 'the old password is refused');
      assert.equal((await signIn('a brand new pass phrase 2026')).status, 303);
      assert.equal(server.output().includes(PASSWORD), false);
    } finally {
      server?.child.kill('SIGTERM');
      await server?.exited;
    }
  });
});
