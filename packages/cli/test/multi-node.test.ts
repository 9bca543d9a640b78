import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type CliIo, loadConfig, type RunningService, startService } from 'tessera';
import {
  type PrivatePostgres,
  startPrivatePostgres,
} from '../../store-postgres/test/private-postgres.js';
import {
  type RedisServerProcess,
  startRedisServer,
} from '../../store-redis/test/redis-server-harness.js';
import { POSTGRES_URL, REDIS_URL, removeTestData } from './test-stores.js';

/**
 * Issue 3 §3 and §4 at the HTTP level: several `tessera serve` nodes (in this process, each with
 * its own store connection, its own cache and its own invalidation subscription) on one store.
 * The shared Redis and PostgreSQL must be running: an unreachable one fails these tests, it never
 * skips them. The fail-closed tests stop a server of their own, never the machine's.
 */

const run = randomBytes(4).toString('hex');

interface Node {
  service: RunningService;
  /** Everything the node printed on stdout and stderr. */
  lines: string[];
}

/** Starts one node on `store` with the cache on (or off) and a silent logger. */
async function startNode(store: string, { cache = true } = {}): Promise<Node> {
  const lines: string[] = [];
  const io: CliIo = { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} };
  const env = { TESSERA_LOG_LEVEL: 'silent', TESSERA_CACHE_ENABLED: cache ? 'true' : 'false' };
  const config = loadConfig({ env, flags: { store, port: '0' } });
  assert.equal(config.cache !== false, cache);
  return { service: await startService(config, io), lines };
}

function adminKey(node: Node): string {
  const key = /shown only once: (tsk_\w+)/.exec(node.lines.join('\n'))?.[1];
  assert.ok(key, `no admin key printed:\n${node.lines.join('\n')}`);
  return key;
}

interface Issued {
  access_token: string;
  refresh_token: string;
  session: { id: string };
}

async function createSession(node: Node, key: string, userId: string): Promise<Issued> {
  const response = await fetch(`${node.service.url}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as Issued;
}

/** `GET /v1/session` with the token; the status only. */
async function validate(node: Node, accessToken: string): Promise<number> {
  const response = await fetch(`${node.service.url}/v1/session`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  await response.arrayBuffer();
  return response.status;
}

async function introspect(
  node: Node,
  key: string,
  token: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${node.service.url}/v1/introspect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function endSession(node: Node, key: string, sessionId: string): Promise<void> {
  const response = await fetch(`${node.service.url}/v1/sessions/${sessionId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(response.status, 200, await response.clone().text());
  assert.deepEqual(await response.json(), { ended: 1 });
}

/**
 * Polls until `predicate` holds and returns how long that took. For waiting on something that
 * will happen (a subscription, a reconnection), never for proving that something did not.
 */
async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<number> {
  const started = performance.now();
  while (!(await predicate())) {
    if (performance.now() - started > timeoutMs) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(5);
  }
  return performance.now() - started;
}

/**
 * Polls node B with `accessToken` as fast as a round trip allows, for at most `limitMs`, and
 * returns how long after the call it first refused the token (or Infinity).
 */
async function refusedWithin(node: Node, accessToken: string, limitMs = 1000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const status = await validate(node, accessToken);
    if (status === 401) return performance.now() - started;
    assert.equal(status, 200, 'a live-or-revoked token gets 200 or 401, nothing else');
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * Two nodes on one store: what one node ends or rotates, the other refuses at once, although it
 * had the session in its node-local cache.
 */
async function revocationReachesTheOtherNode(store: string, diagnostic: (m: string) => void) {
  const a = await startNode(store);
  let b: Node | undefined;
  try {
    const key = adminKey(a);
    b = await startNode(store);
    const nodeB = b;
    assert.ok(!/shown only once/.test(nodeB.lines.join('\n')), 'one admin key for the store');
    await waitFor(
      () => a.service.tessera.cacheActive() && nodeB.service.tessera.cacheActive(),
      'both nodes to subscribe to the invalidation channel',
    );

    const ended = await createSession(a, key, 'many-nodes-ended');
    const rotated = await createSession(a, key, 'many-nodes-rotated');
    // Twice each on B: the first reads the store and fills B's cache, the second is served
    // from it. Revoking on A must reach that cached copy.
    for (const issued of [ended, rotated]) {
      assert.equal(await validate(nodeB, issued.access_token), 200);
      assert.equal(await validate(nodeB, issued.access_token), 200);
    }

    await endSession(a, key, ended.session.id);
    const endMs = await refusedWithin(nodeB, ended.access_token);
    assert.ok(endMs < 1000, 'node B refuses the ended session within 1 s');
    const seen = await introspect(nodeB, key, ended.access_token);
    assert.deepEqual(seen, { status: 200, body: { active: false } });

    // Rotation on A (refresh) retires the old access token on every node too.
    const refreshed = await fetch(`${a.service.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: rotated.refresh_token }),
    });
    assert.equal(refreshed.status, 200);
    const { access_token: successor } = (await refreshed.json()) as { access_token: string };
    const rotateMs = await refusedWithin(nodeB, rotated.access_token);
    assert.ok(rotateMs < 1000, 'node B refuses the rotated access token within 1 s');
    assert.equal(await validate(nodeB, successor), 200, 'and accepts its successor');
    diagnostic(
      `node B refused: the ended session after ${endMs.toFixed(1)} ms, the rotated token after ${rotateMs.toFixed(1)} ms`,
    );
  } finally {
    await b?.service.stop();
    await a.service.stop();
  }
}

describe('many nodes on one store', () => {
  const prefix = `multi-node-${run}:`;
  const schema = `multi_node_${run}`;

  after(() => removeTestData({ prefix, schema }));

  test('a session ended on node A is refused by node B right away, on Redis', async (t) => {
    await revocationReachesTheOtherNode(`${REDIS_URL}?prefix=${prefix}`, (m) => t.diagnostic(m));
  });

  test('a session ended on node A is refused by node B right away, on PostgreSQL', async (t) => {
    await revocationReachesTheOtherNode(`${POSTGRES_URL}?schema=${schema}`, (m) => t.diagnostic(m));
  });
});

type Phase = 'up' | 'down' | 'restarting' | 'back';

interface Attempt {
  kind: 'session' | 'introspect';
  /** Phase when the request was sent, and when its answer arrived. */
  sentIn: Phase;
  answeredIn: Phase;
  /** Whether the node's cache could answer when the request was sent (channel seen up). */
  cacheActiveAtSend: boolean;
  status: number;
  body: Record<string, unknown> | null;
  answeredAt: number;
}

/** The store process a fail-closed test stops and starts again, whatever it is. */
interface Outage {
  /** A store URL on that process, for one node (its own prefix or schema). */
  storeUrl(label: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * One node under traffic (validations and introspections of live tokens, on two workers);
 * the store is stopped, then started again. Checks that nothing was authenticated while it was
 * down, that an end acknowledged before the stop survives it, and that service resumes within
 * 5 s of the restart, without restarting the node.
 *
 * With the cache on, a node learns that the store died when its invalidation connection drops:
 * an event-loop turn or a few after the store process is gone. A request answered in that
 * window can still come from the cache (as it would have a moment earlier); the test measures
 * that window and bounds it, and holds every request sent after it to the strict rule. With the
 * cache off, the strict rule holds for every request sent after the stop.
 */
async function failClosedAndRecover(
  outage: Outage,
  { cache }: { cache: boolean },
  diagnostic: (m: string) => void,
) {
  const node = await startNode(outage.storeUrl(cache ? 'cache_on' : 'cache_off'), { cache });
  const { tessera } = node.service;
  try {
    const key = adminKey(node);
    if (cache) await waitFor(() => tessera.cacheActive(), 'the invalidation channel');
    const live = await Promise.all(
      [0, 1, 2, 3].map((i) => createSession(node, key, `fail-closed-${i}`)),
    );
    const leaver = await createSession(node, key, 'fail-closed-leaver');
    assert.equal(await validate(node, leaver.access_token), 200);

    let phase: Phase = 'up';
    let running = true;
    const attempts: Attempt[] = [];
    const worker = async (offset: number) => {
      for (let i = offset; running; i++) {
        const token = live[i % live.length]!.access_token;
        const kind = i % 2 === 0 ? 'session' : 'introspect';
        const sentIn = phase;
        const cacheActiveAtSend = tessera.cacheActive();
        let status = 0;
        let body: Record<string, unknown> | null = null;
        try {
          const response =
            kind === 'session'
              ? await fetch(`${node.service.url}/v1/session`, {
                  headers: { authorization: `Bearer ${token}` },
                })
              : await fetch(`${node.service.url}/v1/introspect`, {
                  method: 'POST',
                  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
                  body: JSON.stringify({ token }),
                });
          status = response.status;
          body = (await response.json()) as Record<string, unknown>;
        } catch {
          // No answer at all (status 0) would count as a refusal; it does not happen here, as
          // the node answers every request.
        }
        const answeredIn = phase;
        attempts.push({
          kind,
          sentIn,
          answeredIn,
          cacheActiveAtSend,
          status,
          body,
          answeredAt: performance.now(),
        });
        // Refusals while the store is down come back without any I/O: pace the loop.
        await delay(2);
      }
    };
    const workers = [worker(0), worker(1)];
    const count = (p: (a: Attempt) => boolean) => attempts.filter(p).length;
    await waitFor(() => count((a) => a.status === 200) >= 20, 'traffic to flow');

    // Acknowledged, then the store dies: the end must survive it.
    await endSession(node, key, leaver.session.id);
    await outage.stop();
    const stoppedAt = performance.now();
    phase = 'down';
    await waitFor(
      () => count((a) => a.sentIn === 'down' && a.answeredIn === 'down') >= 60,
      'traffic against the stopped store',
    );
    const ready = await fetch(`${node.service.url}/readyz`);
    assert.equal(ready.status, 503, '/readyz says the node cannot serve');
    await ready.arrayBuffer();
    assert.equal(tessera.cacheActive(), false, 'the cache is bypassed while the store is down');

    phase = 'restarting';
    await outage.start();
    const backAt = performance.now();
    phase = 'back';
    const recoveredMs = await waitFor(
      () => attempts.some((a) => a.sentIn === 'back' && a.status === 200),
      'a validation to succeed after the restart',
    );
    running = false;
    await Promise.all(workers);

    const down = attempts.filter((a) => a.sentIn === 'down' && a.answeredIn === 'down');
    // Sent before this node could know: answered from the cache at most, shortly after the stop.
    const undetected = down.filter((a) => a.cacheActiveAtSend);
    const strict = down.filter((a) => !a.cacheActiveAtSend);
    if (!cache) assert.equal(undetected.length, 0);
    const detectedWithinMs = Math.max(0, ...undetected.map((a) => a.answeredAt - stoppedAt));
    assert.ok(detectedWithinMs < 100, `outage noticed ${detectedWithinMs.toFixed(1)} ms late`);
    assert.ok(strict.length >= 50, `only ${strict.length} requests after the outage was noticed`);
    for (const attempt of strict) {
      assert.ok(attempt.body?.['active'] !== true, 'never active: true while the store is down');
      if (attempt.kind === 'introspect') {
        assert.equal(attempt.status, 503);
        assert.equal(attempt.body?.['error'], 'temporarily_unavailable');
      } else {
        assert.ok(
          attempt.status === 503 || attempt.status === 401,
          `GET /v1/session answered ${attempt.status} while the store was down`,
        );
      }
    }
    const firstBack = attempts.find((a) => a.sentIn === 'back' && a.status === 200);
    const serviceMs = (firstBack?.answeredAt ?? Number.POSITIVE_INFINITY) - backAt;
    assert.ok(serviceMs < 5000, `service resumed ${serviceMs.toFixed(0)} ms after the restart`);

    // The end acknowledged before the stop is still in force, everywhere it can be asked.
    assert.equal(await validate(node, leaver.access_token), 401);
    assert.deepEqual(await introspect(node, key, leaver.access_token), {
      status: 200,
      body: { active: false },
    });
    for (const issued of live) assert.equal(await validate(node, issued.access_token), 200);
    const readyAgain = await fetch(`${node.service.url}/readyz`);
    assert.equal(readyAgain.status, 200);
    await readyAgain.arrayBuffer();
    const channelMs = cache
      ? await waitFor(() => tessera.cacheActive(), 'the invalidation channel to come back')
      : 0;
    const early = undetected.filter((a) => a.status === 200 || a.body?.['active'] === true);
    diagnostic(
      `cache ${cache ? 'on' : 'off'}: ${strict.length} requests after the outage was noticed, none accepted; ` +
        `${undetected.length} sent before (${early.length} answered 200 from the cache, the last ${detectedWithinMs.toFixed(1)} ms after the stop); ` +
        `first success ${serviceMs.toFixed(0)} ms after the restart (waited ${recoveredMs.toFixed(0)} ms)` +
        (cache ? `, cache serving again ${channelMs.toFixed(0)} ms later` : ''),
    );
  } finally {
    await node.service.stop();
  }
}

describe('fail closed at the HTTP level on a private Redis, recover by itself', () => {
  let redis: RedisServerProcess | undefined;
  const outage: Outage = {
    storeUrl: (label) => `${redis?.url}?prefix=fail-closed-${label}:`,
    stop: async () => redis?.kill(),
    start: async () => redis?.restart(),
  };

  before(async () => {
    // AOF with fsync on every write, in the same directory across the restart: what Redis
    // acknowledged before the kill is there after it.
    redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
  });
  after(async () => {
    await redis?.stop();
  });

  for (const cache of [false, true]) {
    test(`with the cache ${cache ? 'on' : 'off'}, a node whose Redis is killed mid-traffic authenticates nothing, keeps acknowledged ends, and serves again within 5 s`, async (t) => {
      await failClosedAndRecover(outage, { cache }, (m) => t.diagnostic(m));
    });
  }
});

describe('fail closed at the HTTP level on a private PostgreSQL, recover by itself', () => {
  let postgres: PrivatePostgres | undefined;
  const outage: Outage = {
    storeUrl: (label) => `${postgres?.url}?schema=fail_closed_${label}`,
    // `pg_ctl -m immediate`: no checkpoint, as when the machine loses power.
    stop: async () => postgres?.stop(),
    start: async () => postgres?.start(),
  };

  before(async () => {
    postgres = await startPrivatePostgres();
  });
  after(() => {
    postgres?.destroy();
  });

  for (const cache of [false, true]) {
    test(`with the cache ${cache ? 'on' : 'off'}, a node whose PostgreSQL crashes mid-traffic authenticates nothing, keeps acknowledged ends, and serves again within 5 s`, async (t) => {
      await failClosedAndRecover(outage, { cache }, (m) => t.diagnostic(m));
    });
  }
});
