import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay, setImmediate as nextTurn } from 'node:timers/promises';
import { createTessera, type IssuedSession, isTesseraError, type Tessera } from '@tessera/core';
import { createPool, createPostgresStore, migrate } from '@tessera/store-postgres';
import type { Pool } from 'pg';
import { waitFor } from './helpers.js';
import { type PrivatePostgres, startPrivatePostgres } from './private-postgres.js';

// These tests stop their database mid-traffic, so they run their own PostgreSQL rather than
// the machine's shared one.
let server: PrivatePostgres;
let pool: Pool;

before(async () => {
  server = await startPrivatePostgres();
  pool = createPool(server.url, { maxConnections: 4, connectionTimeoutMillis: 1000 });
  await migrate({ pool });
});

after(async () => {
  await pool?.end();
  server?.destroy();
});

interface Attempt {
  startedAt: number;
  settledAt: number;
  outcome: 'ok' | 'refused' | 'rejected';
  /** Whether the engine could answer from its node-local cache when the attempt started. */
  cacheActive: boolean;
  error?: unknown;
}

/**
 * Validates live tokens on two workers, crashes PostgreSQL (right after acknowledging a
 * logout), keeps validating against the dead server, restarts it, and waits for service.
 * Workers yield to the event loop between validations, as requests arriving over HTTP do.
 */
async function outage(tessera: Tessera, ready: () => boolean) {
  const live: IssuedSession[] = [];
  for (let i = 0; i < 8; i++) live.push(await tessera.create({ userId: `user-${i}` }));
  const leaver = await tessera.create({ userId: 'leaver' });
  await waitFor(ready, { what: 'LISTEN' });

  const attempts: Attempt[] = [];
  let running = true;
  const worker = async (offset: number) => {
    for (let i = offset; running; i++) {
      await nextTurn();
      const startedAt = performance.now();
      const cacheActive = tessera.cacheActive();
      try {
        const result = await tessera.validate(live[i % live.length]!.accessToken);
        const outcome = result.ok ? 'ok' : 'refused';
        attempts.push({ startedAt, settledAt: performance.now(), outcome, cacheActive });
      } catch (error) {
        const settledAt = performance.now();
        attempts.push({ startedAt, settledAt, outcome: 'rejected', cacheActive, error });
        // A refused connection fails at once; pace the retries so the loop does not spin.
        await delay(5);
      }
    }
  };
  const workers = [worker(0), worker(1)];
  await waitFor(() => attempts.filter((a) => a.outcome === 'ok').length >= 20, {
    what: 'traffic',
  });

  // Acknowledged, then the server crashes at once: the end must survive the crash.
  assert.equal(await tessera.revoke(leaver.accessToken), true);
  server.stop();
  const downSince = performance.now();
  await waitFor(() => attempts.filter((a) => a.startedAt >= downSince).length >= 60 && !ready(), {
    what: 'traffic against the stopped server',
  });
  await assert.rejects(tessera.store.ping(), (error) => isTesseraError(error, 'store_unavailable'));
  const downUntil = performance.now();

  server.start();
  const upSince = performance.now();
  const recoveredMillis = await waitFor(
    () => attempts.some((a) => a.startedAt >= upSince && a.outcome === 'ok'),
    { timeoutMillis: 5000, what: 'a validation to succeed after the restart' },
  );
  await waitFor(ready, { timeoutMillis: 5000, what: 'LISTEN to come back' });
  running = false;
  await Promise.all(workers);

  const late = await tessera.validate(leaver.accessToken);
  assert.equal(late.ok, false);
  assert.equal(late.ok === false && late.reason, 'ended');
  assert.equal((await tessera.validate(live[0]!.accessToken)).ok, true);
  return {
    downSince,
    recoveredMillis,
    whileDown: attempts.filter((a) => a.startedAt >= downSince && a.settledAt <= downUntil),
  };
}

function assertRejectedPromptly(attempts: Attempt[]) {
  for (const attempt of attempts) {
    assert.equal(attempt.outcome, 'rejected', 'nothing may be answered while the store is down');
    assert.ok(isTesseraError(attempt.error, 'store_unavailable'), String(attempt.error));
    // Promptly: within the pool's connection timeout, never hanging.
    assert.ok(attempt.settledAt - attempt.startedAt < 1500);
  }
}

describe('fail closed and recover', () => {
  it('authenticates nothing while PostgreSQL is down, loses no acknowledged end, and serves again within 5 s of its return', async (t) => {
    const store = createPostgresStore({ pool, reconnectMinDelayMillis: 50 });
    // No node-local cache: every validation reads the store, so not one may succeed.
    const tessera = createTessera({ store, cache: false });
    const channel = store.subscribeInvalidations(() => {});
    try {
      const { whileDown, recoveredMillis } = await outage(tessera, () => channel.connected());
      assert.ok(whileDown.length >= 50, `only ${whileDown.length} attempts while down`);
      assertRejectedPromptly(whileDown);
      t.diagnostic(
        `${whileDown.length} validations while down, all rejected; served again ${recoveredMillis} ms after the restart`,
      );
    } finally {
      await store.close();
    }
  });

  it('with the node-local cache, answers nothing once the LISTEN connection is seen to drop, and resumes caching after the restart', async (t) => {
    const store = createPostgresStore({ pool, reconnectMinDelayMillis: 50 });
    const tessera = createTessera({ store, cache: {} });
    try {
      const { whileDown, recoveredMillis, downSince } = await outage(tessera, () =>
        tessera.cacheActive(),
      );
      // The cache can only stop serving once this node has processed the socket closing,
      // an event-loop turn after the crash at most; from then on every answer is a rejection.
      const afterDetection = whileDown.filter((a) => !a.cacheActive);
      assert.ok(afterDetection.length >= 50, `only ${afterDetection.length} attempts`);
      assertRejectedPromptly(afterDetection);
      const early = whileDown.filter((a) => a.outcome === 'ok');
      const lastEarly = Math.max(0, ...early.map((a) => a.settledAt - downSince));
      t.diagnostic(
        `${early.length} cached answers in the ${lastEarly.toFixed(2)} ms before the drop was seen; served again ${recoveredMillis} ms after the restart`,
      );
      assert.ok(tessera.cacheActive());
    } finally {
      await tessera.close();
      await store.close();
    }
  });
});
