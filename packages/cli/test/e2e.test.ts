import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type RunningServer,
  runInProcess,
  runTessera,
  startTessera,
  waitForOutput,
} from './cli-process.js';

/**
 * End to end over real sockets with the real CLI: `tessera serve` in a child process on a
 * SQLite file, driven with fetch, killed with SIGKILL, restarted, and stopped with SIGTERM;
 * the `keys`, `sessions` and `events` commands run against the same file meanwhile.
 */

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-e2e-'));
const store = `sqlite:${join(dir, 't.db')}`;
/** Every credential the test saw: none may appear in the server's output. */
const secrets = new Set<string>();
/** Output of every server process of the run, for the secret scan at the end. */
const outputs: string[] = [];
const running = new Set<RunningServer>();

let server: RunningServer;
let adminKey: string;

interface Issued {
  session: { id: string; user_id: string };
  access_token: string;
  refresh_token: string;
}

async function call(
  path: string,
  init: { method?: string; bearer?: string; json?: unknown; form?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (init.bearer) headers['authorization'] = `Bearer ${init.bearer}`;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

function remember<T extends { access_token?: unknown; refresh_token?: unknown }>(issued: T): T {
  if (typeof issued.access_token === 'string') secrets.add(issued.access_token);
  if (typeof issued.refresh_token === 'string') secrets.add(issued.refresh_token);
  return issued;
}

async function createSession(userId: string, key = adminKey): Promise<Issued> {
  const { status, body } = await call('/v1/sessions', {
    bearer: key,
    json: {
      user_id: userId,
      device: { id: `${userId}-phone`, name: 'Pixel 9', platform: 'android' },
    },
  });
  assert.equal(status, 201, JSON.stringify(body));
  return remember(body as unknown as Issued);
}

function refresh(refreshToken: string) {
  return call('/v1/token', { form: { grant_type: 'refresh_token', refresh_token: refreshToken } });
}

async function sessionStatus(accessToken: string): Promise<number> {
  return (await call('/v1/session', { bearer: accessToken })).status;
}

async function start(args: string[], env: Record<string, string> = {}): Promise<RunningServer> {
  const started = await startTessera(args, env);
  running.add(started);
  outputs.push('');
  const index = outputs.length - 1;
  // Keep the latest capture of this process for the final scan.
  void started.exited.then(() => {
    outputs[index] = started.output();
    running.delete(started);
  });
  const snapshot = () => {
    outputs[index] = started.output();
  };
  started.child.stdout?.on('data', snapshot);
  started.child.stderr?.on('data', snapshot);
  return started;
}

describe('tessera serve, end to end over real sockets', () => {
  // Sessions shared by the steps below, in order.
  let loggedOut: Issued;
  let raced: { access_token: string; refresh_token: string };
  let endedByCli: Issued;

  before(async () => {
    server = await start(['--store', store, '--port', '0'], {
      // The most verbose level: no credential may appear at any level.
      TESSERA_LOG_LEVEL: 'trace',
      TESSERA_RATE_LIMIT_TOKEN_PER_MINUTE: '1000',
    });
    adminKey = (await waitForOutput(server, /shown only once: (tsk_[0-9A-Za-z]+)/))[1] as string;
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.doesNotMatch(server.url, /:0$/, 'the actual port is printed, not 0');
  });

  after(async () => {
    for (const child of running) child.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('a session is created, introspected, used, refreshed and logged out; then both tokens are refused', async () => {
    const issued = await createSession('alice');
    const introspected = await call('/v1/introspect', {
      bearer: adminKey,
      json: { token: issued.access_token },
    });
    assert.equal(introspected.status, 200);
    assert.equal(introspected.body['active'], true);
    assert.equal(introspected.body['sub'], 'alice');
    assert.equal(await sessionStatus(issued.access_token), 200);

    const refreshed = await refresh(issued.refresh_token);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    remember(refreshed.body);
    const access = refreshed.body['access_token'] as string;
    const refreshToken = refreshed.body['refresh_token'] as string;
    assert.notEqual(access, issued.access_token);
    assert.equal(
      await sessionStatus(issued.access_token),
      401,
      'rotation retires the old access token',
    );
    assert.equal(await sessionStatus(access), 200);

    const revoked = await call('/v1/revoke', { form: { token: access } });
    assert.equal(revoked.status, 200);
    assert.equal(await sessionStatus(access), 401, 'the access token is dead on the server');
    const afterLogout = await refresh(refreshToken);
    assert.equal(afterLogout.status, 400);
    assert.equal(afterLogout.body['error'], 'invalid_grant', 'the refresh token is dead too');
    const gone = await call('/v1/introspect', { bearer: adminKey, json: { token: refreshToken } });
    assert.deepEqual(gone.body, { active: false });
    loggedOut = { ...issued, access_token: access, refresh_token: refreshToken };
  });

  test('20 concurrent refreshes with one refresh token all succeed with one identical pair', async () => {
    const issued = await createSession('alice');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => refresh(issued.refresh_token)),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array(20).fill(200),
      JSON.stringify(answers.find((answer) => answer.status !== 200)?.body),
    );
    const pairs = new Set(
      answers.map((a) => `${a.body['access_token']} ${a.body['refresh_token']}`),
    );
    assert.equal(pairs.size, 1, 'nobody holds a stale branch');
    raced = remember(answers[0]?.body as { access_token: string; refresh_token: string });
    assert.equal(await sessionStatus(raced.access_token), 200);
  });

  test('keys create, list and revoke work against the running service', async () => {
    const created = await runTessera([
      'keys',
      'create',
      '--name',
      'billing',
      '--scopes',
      'sessions:write,introspect',
      '--store',
      store,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const key = /^(tsk_[0-9A-Za-z]+)$/m.exec(created.stdout)?.[1];
    assert.ok(key, created.stdout);
    secrets.add(key);
    assert.match(created.stdout, /shown only once/);
    const id = /service key (\S+) "billing"/.exec(created.stdout)?.[1] as string;

    const issued = await createSession('bob', key);
    const list = await call('/v1/users/bob/sessions', { bearer: key });
    assert.equal(list.status, 403, 'the key has no sessions:read scope');
    assert.equal(await sessionStatus(issued.access_token), 200);

    const listed = await runTessera(['keys', 'list', '--store', store]);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.deepEqual(lines[0]?.split('\t'), ['ID', 'NAME', 'SCOPES', 'CREATED', 'REVOKED']);
    const billing = lines.find((line) => line.startsWith(`${id}\t`))?.split('\t');
    assert.deepEqual(billing?.slice(1, 3), ['billing', 'sessions:write,introspect']);
    assert.equal(billing?.[4], '-');
    assert.ok(lines.some((line) => line.split('\t')[1] === 'admin'));
    assert.doesNotMatch(listed.stdout, /tsk_/, 'a listing never shows a key');

    const revoked = await runTessera(['keys', 'revoke', id, '--store', store]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = await call('/v1/sessions', { bearer: key, json: { user_id: 'bob' } });
    assert.equal(refused.status, 401, 'a revoked key is refused at once');
    const again = await runInProcess(['keys', 'revoke', id, '--store', store]);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /^tessera: no active service key with id \S+ — see `tessera keys list`/,
    );
  });

  test('sessions list and end work against the running service', async () => {
    endedByCli = await createSession('carol');
    const listed = await runTessera(['sessions', 'list', '--user', 'carol', '--store', store]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${endedByCli.session.id}\\tmedium\\t`, 'm'));
    assert.match(listed.stdout, /Pixel 9\tandroid/);

    const alice = await runInProcess([
      'sessions',
      'list',
      '--user',
      'alice',
      '--json',
      '--store',
      store,
    ]);
    const ids = (JSON.parse(alice.stdout) as Array<{ id: string }>).map((s) => s.id);
    assert.ok(!ids.includes(loggedOut.session.id), 'a logged-out session is not listed');
    assert.equal(ids.length, 1, 'only the raced session is live');

    const ended = await runTessera([
      'sessions',
      'end',
      endedByCli.session.id,
      '--reason',
      'account_disabled',
      '--store',
      store,
    ]);
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal(await sessionStatus(endedByCli.access_token), 401);
    assert.equal((await refresh(endedByCli.refresh_token)).status, 400);
  });

  test('events lists every transition, as text and JSON, and never a token', async () => {
    const text = await runTessera(['events', '--user', 'carol', '--store', store]);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'));
    assert.deepEqual(
      lines.map((fields) => fields[1]),
      ['session.created', 'session.ended'],
    );
    assert.equal(lines[1]?.[4], 'account_disabled');
    assert.equal(lines[1]?.[5], 'carol-phone');

    const json = await runTessera([
      'events',
      '--user',
      'alice',
      '--type',
      'ended',
      '--json',
      '--store',
      store,
    ]);
    const events = JSON.parse(json.stdout) as Array<{ type: string; reason: string }>;
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [['session.ended', 'logout']],
    );
    const limited = await runInProcess(['events', '--limit', '2', '--json', '--store', store]);
    assert.equal((JSON.parse(limited.stdout) as unknown[]).length, 2);
    for (const output of [text.stdout, json.stdout, limited.stdout])
      assert.doesNotMatch(output, /ts[akr]_/);
  });

  test('after kill -9 and a restart on the same file, live sessions stay valid and ended ones refused', async () => {
    server.child.kill('SIGKILL');
    const { signal } = await server.exited;
    assert.equal(signal, 'SIGKILL');

    // The restart also switches the refresh grace off, for the reuse test below.
    const config = join(dir, 'grace-0.json');
    writeFileSync(
      config,
      JSON.stringify({ refresh_grace_seconds: 0, rate_limit: { token_per_minute: 1000 } }),
    );
    server = await start(['--config', config, '--store', store, '--port', '0']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.doesNotMatch(
      server.output(),
      /tsk_|shown only once/,
      'no new admin key on a store that has keys',
    );

    assert.equal(await sessionStatus(raced.access_token), 200, 'a live session survives kill -9');
    assert.equal(
      (await call('/v1/introspect', { bearer: adminKey, json: { token: raced.refresh_token } }))
        .body['active'],
      true,
    );
    assert.equal(await sessionStatus(loggedOut.access_token), 401, 'a logout survives kill -9');
    assert.equal((await refresh(loggedOut.refresh_token)).status, 400);
    assert.equal(
      await sessionStatus(endedByCli.access_token),
      401,
      'an end by the CLI survives kill -9',
    );
  });

  test('with refresh_grace_seconds 0 from the config file, replaying a rotated refresh token ends the session', async () => {
    const issued = await createSession('dave');
    const first = await refresh(issued.refresh_token);
    assert.equal(first.status, 200);
    remember(first.body);
    const replay = await refresh(issued.refresh_token);
    assert.equal(replay.status, 400);
    assert.equal(replay.body['error'], 'invalid_grant');
    assert.equal(
      await sessionStatus(first.body['access_token'] as string),
      401,
      'the whole session ended',
    );
    assert.equal((await refresh(first.body['refresh_token'] as string)).status, 400);
    const events = await runInProcess([
      'events',
      '--user',
      'dave',
      '--type',
      'refresh_reuse',
      '--json',
      '--store',
      store,
    ]);
    assert.equal((JSON.parse(events.stdout) as unknown[]).length, 1);
  });

  test('SIGTERM stops the service gracefully with exit code 0 within 5 s', async () => {
    const startedAt = Date.now();
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - startedAt < 5000, `stopped in ${Date.now() - startedAt} ms`);
    assert.match(server.output(), /Tessera stopped\./);
  });

  test('no credential appears in the server output, except the one-time admin key line', () => {
    const all = outputs.join('\n');
    assert.ok(all.length > 0);
    for (const secret of secrets) {
      assert.ok(
        !all.includes(secret),
        `a token or key leaked into the output: ${secret.slice(0, 6)}…`,
      );
    }
    const shapes = all.match(/ts[akr]_[0-9A-Za-z]{8,}/g) ?? [];
    assert.deepEqual(shapes, [adminKey], 'the admin key appears exactly once');
    const line = all.split('\n').find((l) => l.includes(adminKey));
    assert.equal(line, `Save this key now, it is shown only once: ${adminKey}`);
  });
});
