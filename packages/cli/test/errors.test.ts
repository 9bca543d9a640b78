import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, runInProcess, runTessera } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const inProcess = runInProcess;

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  return lines[0] as string;
}

describe('errors of the real CLI', () => {
  test('a bad config file exits 2 with one line naming the key', async () => {
    const config = join(dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ port: 8787, idle_timeout: 60 }));
    const run = await runTessera([
      'serve',
      '--config',
      config,
      '--store',
      `sqlite:${join(dir, 'a.db')}`,
    ]);
    assert.equal(run.code, 2);
    assert.match(
      oneLine(run.stderr),
      /^tessera: unknown key "idle_timeout" in config file .*bad\.json — known keys: /,
    );
    assert.equal(run.stdout, '');
  });

  test('a port in use exits 1 with one line saying how to fix it', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const run = await runTessera([
        'serve',
        '--store',
        `sqlite:${join(dir, 'b.db')}`,
        '--port',
        String(port),
      ]);
      assert.equal(run.code, 1);
      assert.equal(
        oneLine(run.stderr),
        `tessera: cannot listen on 127.0.0.1:${port}: the address is already in use — stop the other process or choose another port with --port (or TESSERA_PORT)`,
      );
      assert.doesNotMatch(run.stdout, /tsk_/);
      const keys = await runInProcess([
        'keys',
        'list',
        '--json',
        '--store',
        `sqlite:${join(dir, 'b.db')}`,
      ]);
      assert.equal(
        keys.stdout.trim(),
        '[]',
        'no admin key is created when the service cannot start',
      );
    } finally {
      blocker.close();
    }
  });

  test('`tessera audit TARGET` reaches the auditor, which owns its arguments and exit codes', async () => {
    const run = await runTessera(['audit', join(dir, 'no-target.yaml')]);
    assert.equal(run.code, 2, 'the auditor exits 2 on an unreadable target');
    assert.match(
      run.stderr,
      /^tessera audit: .*no-target\.yaml.*cannot read the target file \(ENOENT\)/s,
    );
  });

  test('--debug and TESSERA_DEBUG=1 add the stack trace', async () => {
    const run = await inProcess(['serve', '--config', join(dir, 'missing.json'), '--debug']);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^tessera: cannot open config file .*missing\.json: ENOENT — pass an existing file with --config\n/,
    );
    assert.match(run.stderr, /\n\s+at /);
    const viaEnv = await inProcess(['keys', 'list', '--config', join(dir, 'missing.json')], {
      TESSERA_DEBUG: '1',
    });
    assert.match(viaEnv.stderr, /\n\s+at /);
  });
});

describe('usage errors and help, in process', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^tessera: missing command — see `tessera --help`$/],
    [['start'], /^tessera: unknown command "start" — use serve, keys, /],
    [
      ['serve', '--prot', '1'],
      /^tessera serve: unknown option --prot — see `tessera serve --help`$/,
    ],
    [['serve', '--port'], /^tessera serve: option --port needs a value/],
    [
      ['serve', '--port', 'http'],
      /^tessera: --port must be a whole number from 0 to 65535 \(got "http"\)$/,
    ],
    [['serve', 'now'], /^tessera serve: expected no arguments, got now/],
    [
      ['serve', '--store', 'tessera.db'],
      /^tessera: --store: "tessera.db" is not a store URL — use sqlite:PATH/,
    ],
    [['keys'], /^tessera keys: missing action — use create, list or revoke/],
    [['keys', 'create', '--scopes', 'admin'], /^tessera keys create: --name is required/],
    [['keys', 'create', '--name', 'x'], /^tessera keys create: --scopes is required/],
    [
      ['keys', 'create', '--name', 'x', '--scopes', 'admin,root'],
      /unknown scope "root" — use sessions:write, sessions:read, introspect, admin/,
    ],
    [['keys', 'revoke'], /^tessera keys revoke: expected ID, got none/],
    [['sessions', 'list'], /^tessera sessions list: --user USER_ID is required$/],
    [
      ['sessions', 'end', 'abc', '--reason', 'idle_timeout'],
      /--reason must be one of admin, logout/,
    ],
    [['events', '--limit', '0'], /--limit must be a whole number from 1 to 10000/],
    [['events', '--type', 'session.deleted'], /--type must be one of session.created/],
    [['events', '--since', 'yesterday'], /--since must be an ISO 8601 time/],
  ];
  for (const [argv, message] of cases) {
    test(`\`tessera ${argv.join(' ')}\` exits 2 with one line`, async () => {
      const run = await inProcess(argv);
      assert.equal(run.code, 2);
      assert.match(oneLine(run.stderr), message);
    });
  }

  test('help is printed for the CLI and for each command, with exit code 0', async () => {
    const main = await inProcess(['--help']);
    assert.equal(main.code, 0);
    assert.match(main.stdout, /^Usage: tessera <command>/);
    for (const command of ['serve', 'keys', 'sessions', 'events', 'migrate']) {
      const help = await inProcess([command, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^Usage: tessera ${command}`));
      assert.deepEqual(await inProcess(['help', command]), help);
    }
    assert.match(
      (await inProcess(['serve', '--help'])).stdout,
      /TESSERA_RATE_LIMIT_TOKEN_PER_MINUTE/,
    );
  });

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(
      readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8'),
    ) as { version: string };
    assert.deepEqual(await inProcess(['--version']), {
      code: 0,
      stdout: `${version}\n`,
      stderr: '',
    });
  });

  test('migrate on SQLite says that SQLite migrates itself', async () => {
    const run = await inProcess(['migrate', '--store', `sqlite:${join(dir, 'm.db')}`]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /SQLite migrates itself whenever a store opens/);
  });
});
