import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { createTessera, isTesseraError } from '@tessera/core';
import { connectRedis, createRedisStore } from '@tessera/store-redis';
import { type RedisServerProcess, startRedisServer } from './redis-server-harness.js';

type Phase = 'up' | 'down' | 'back';
interface Outcome {
  phase: Phase;
  sameAtEnd: boolean;
  ok: boolean;
  code: string | null;
  ms: number;
  at: number;
}

describe('fail closed on a Redis that dies mid-traffic, recover when it returns', () => {
  let server: RedisServerProcess;

  before(async () => {
    // AOF with fsync on every write: an end acknowledged before the crash must survive it.
    server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
  });
  after(async () => {
    await server?.stop();
  });

  it('authenticates nothing while down, keeps acknowledged ends, and serves again within 5 s', async (t) => {
    const client = await connectRedis(server.url);
    const store = createRedisStore({ client });
    const tessera = createTessera({ store });
    try {
      const live = await tessera.create({ userId: 'fail-closed-live' });
      const ended = await tessera.create({ userId: 'fail-closed-ended' });
      assert.ok(await tessera.end(ended.session.id, 'logout'));
      const channel = store.subscribeInvalidations(() => {});
      await waitFor(() => channel.connected(), 'invalidation channel up');

      let phase: Phase = 'up';
      let running = true;
      const outcomes: Outcome[] = [];
      const traffic = (async () => {
        while (running) {
          const started = phase;
          const t0 = performance.now();
          let ok = false;
          let code: string | null = null;
          try {
            ok = (await tessera.validate(live.accessToken)).ok;
          } catch (error) {
            code = isTesseraError(error) ? error.code : String(error);
          }
          const t1 = performance.now();
          outcomes.push({
            phase: started,
            sameAtEnd: started === phase,
            ok,
            code,
            ms: t1 - t0,
            at: t1,
          });
          // Yield to the event loop: while down, rejections come back without any I/O.
          await new Promise((r) => setTimeout(r, 1));
        }
      })();

      await waitFor(() => outcomes.filter((o) => o.ok).length >= 20, 'traffic flowing');
      const epochBefore = channel.epoch();
      await server.kill();
      phase = 'down';
      await waitFor(() => !channel.connected(), 'channel reports the outage');
      await assert.rejects(tessera.refresh(live.refreshToken), { code: 'store_unavailable' });
      await waitFor(
        () => outcomes.filter((o) => o.phase === 'down' && o.sameAtEnd).length >= 50,
        'traffic while down',
      );

      phase = 'back';
      // Measured from the moment the server is started again (before it has loaded its AOF).
      const serverBackAt = performance.now();
      await server.restart();
      await waitFor(() => outcomes.some((o) => o.phase === 'back' && o.ok), 'recovery', 10_000);
      running = false;
      await traffic;

      const down = outcomes.filter((o) => o.phase === 'down' && o.sameAtEnd);
      assert.equal(down.filter((o) => o.ok).length, 0, 'no validation succeeded while down');
      assert.ok(
        down.every((o) => o.code === 'store_unavailable'),
        'each one rejected as unavailable',
      );
      const slowest = Math.max(...down.map((o) => o.ms));
      assert.ok(slowest < 1000, `rejections are prompt (slowest ${slowest.toFixed(1)} ms)`);
      const firstOk = outcomes.find((o) => o.phase === 'back' && o.ok);
      const recoveryMs = (firstOk?.at ?? Infinity) - serverBackAt;
      assert.ok(recoveryMs < 5000, `served again ${recoveryMs.toFixed(0)} ms after the restart`);
      t.diagnostic(
        `fail-closed: ${down.length} validations while down, 0 accepted, slowest rejection ` +
          `${slowest.toFixed(1)} ms; first success ${recoveryMs.toFixed(0)} ms after the server was restarted`,
      );

      // The end acknowledged before the crash is still there, without recreating the client.
      const stale = await tessera.validate(ended.accessToken);
      assert.equal(stale.ok === false && stale.reason, 'ended');
      const staleRefresh = await tessera.refresh(ended.refreshToken);
      assert.equal(staleRefresh.ok, false);
      assert.equal((await tessera.validate(live.accessToken)).ok, true);
      await waitFor(() => channel.connected(), 'channel back up');
      // Messages published during the outage are lost: the epoch tells caches to drop entries.
      assert.ok(channel.epoch() > epochBefore);
    } finally {
      await store.close();
      await client.close().catch(() => {});
    }
  });
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
