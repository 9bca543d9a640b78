import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { type CliIo, loadConfig, startService } from 'tessera';
import { runInProcess } from './cli-process.js';
import { POSTGRES_URL, REDIS_URL, removeTestData } from './test-stores.js';

/**
 * The same CLI on the shared stores: `--store redis://…` and `--store postgres://…` serve,
 * and the admin commands reach the same data. The servers must be running (`.ci/run` makes
 * sure): an unreachable one fails these tests, it never skips them.
 */

const run = randomBytes(4).toString('hex');

function capture() {
  const lines: string[] = [];
  const io: CliIo = { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} };
  return { io, lines };
}

/** Serves on `store`, then proves a session lives and dies there, and that the CLI sees it. */
async function serveAndUse(store: string) {
  const { io, lines } = capture();
  const config = loadConfig({ env: { TESSERA_LOG_LEVEL: 'silent' }, flags: { store, port: '0' } });
  const service = await startService(config, io);
  try {
    const key = /shown only once: (tsk_\w+)/.exec(lines.join('\n'))?.[1];
    assert.ok(key, lines.join('\n'));
    const created = await fetch(`${service.url}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'erin' }),
    });
    assert.equal(created.status, 201);
    const { access_token: access, session } = (await created.json()) as {
      access_token: string;
      session: { id: string };
    };
    const use = () =>
      fetch(`${service.url}/v1/session`, { headers: { authorization: `Bearer ${access}` } });
    assert.equal((await use()).status, 200);

    const listed = await runInProcess(['sessions', 'list', '--user', 'erin', '--store', store]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${session.id}\\t`, 'm'));
    const ended = await runInProcess(['sessions', 'end', session.id, '--store', store]);
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal((await use()).status, 401, 'ended by the CLI, refused by the service at once');

    const keys = await runInProcess(['keys', 'list', '--json', '--store', store]);
    assert.deepEqual(
      (JSON.parse(keys.stdout) as Array<{ name: string }>).map((k) => k.name),
      ['admin'],
    );
  } finally {
    await service.stop();
  }
}

describe('the CLI on Redis and PostgreSQL', () => {
  const prefix = `cli-test-${run}:`;
  const schema = `cli_test_${run}`;

  after(() => removeTestData({ prefix, schema }));

  test('serve --store redis://…?prefix=… works with keys and sessions commands on the same data', async () => {
    await serveAndUse(`${REDIS_URL}?prefix=${prefix}`);
  });

  test('migrate applies the PostgreSQL migrations once, then serve works on that schema', async () => {
    const store = `${POSTGRES_URL}?schema=${schema}`;
    const first = await runInProcess(['migrate', '--store', store]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`schema "${schema}" .* migrated from version 0 to \\d+`));
    const again = await runInProcess(['migrate', '--store', store]);
    assert.match(again.stdout, /is up to date/);
    await serveAndUse(store);
  });
});
