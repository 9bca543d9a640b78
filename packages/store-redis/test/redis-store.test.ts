import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createTessera, generateId, generateToken, hashToken } from '@tessera/core';
import { runStoreConformance, sampleSession } from '@tessera/core/testing';
import { createRedisStore, keyLayout } from '@tessera/store-redis';
import {
  deleteKeysWithPrefix,
  lazyClient,
  standalone,
  TEST_REDIS_URL,
  uniquePrefix,
} from './test-env.js';

const redis = lazyClient(TEST_REDIS_URL);
after(() => redis.close());

runStoreConformance({
  name: `redis (${TEST_REDIS_URL})`,
  async makeStore() {
    const client = await redis.get();
    const prefix = uniquePrefix();
    const store = createRedisStore({ client, prefix });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await deleteKeysWithPrefix(client, prefix);
      },
    };
  },
});

describe('redis store specifics', () => {
  async function withStore<T>(
    run: (store: ReturnType<typeof createRedisStore>, prefix: string) => Promise<T>,
    options: { keepEndedSeconds?: number } = {},
  ): Promise<T> {
    const client = await redis.get();
    const prefix = uniquePrefix();
    const store = createRedisStore({ client, prefix, ...options });
    try {
      return await run(store, prefix);
    } finally {
      await store.close();
      await deleteKeysWithPrefix(client, prefix);
    }
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const client = standalone(await redis.get());
    return (await client.sendCommand(['KEYS', keyLayout(prefix).everythingPattern])) as string[];
  }

  it('gives every session key a TTL ending at most keepEnded after the absolute deadline', async () => {
    await withStore(
      async (store, prefix) => {
        const client = standalone(await redis.get());
        const now = Date.now();
        const session = sampleSession({
          createdAt: now,
          lastActiveAt: now,
          idleExpiresAt: now + 30 * 60_000,
          absoluteExpiresAt: now + 2 * 3_600_000,
        });
        await store.createSession(session);
        await store.rotateSession(session.id, 0, {
          generation: 1,
          accessTokenHash: hashToken(generateToken('access')),
          accessExpiresAt: now + 5 * 60_000,
          refreshTokenHash: hashToken(generateToken('refresh')),
          rotatedAt: now,
          successorSealed: 'sealed',
          lastActiveAt: now,
          idleExpiresAt: now + 30 * 60_000,
        });
        const keepMs = 600_000;
        const bound = session.absoluteExpiresAt + keepMs - now;
        const keys = await keysUnder(prefix);
        // Session hash, user index, two access and two refresh index keys (one stale, the
        // stale access entry is deleted best-effort after the swap).
        assert.ok(keys.length >= 5, `keys: ${keys.join(', ')}`);
        for (const key of keys) {
          const ttl = Number(await client.sendCommand(['PTTL', key]));
          assert.ok(ttl > 0, `${key} has a TTL (got ${ttl})`);
          assert.ok(ttl <= bound, `${key} expires by absolute + keep (${ttl} > ${bound})`);
        }
        // The session hash follows the idle deadline, not just the absolute one.
        const sessionKey = keyLayout(prefix).session(session.id);
        const sessionTtl = Number(await client.sendCommand(['PTTL', sessionKey]));
        assert.ok(sessionTtl <= session.idleExpiresAt + keepMs - now);
        // Ending leaves it readable for keepEnded only.
        await store.endSession(session.id, 'logout', now);
        assert.ok(Number(await client.sendCommand(['PTTL', sessionKey])) <= keepMs);
      },
      { keepEndedSeconds: 600 },
    );
  });

  it('does not find a refresh token whose rotation lost the compare-and-swap', async () => {
    await withStore(async (store) => {
      const session = sampleSession();
      await store.createSession(session);
      const patch = (at: number) => ({
        generation: 1,
        accessTokenHash: hashToken(generateToken('access')),
        accessExpiresAt: at + 5 * 60_000,
        refreshTokenHash: hashToken(generateToken('refresh')),
        rotatedAt: at,
        successorSealed: null,
        lastActiveAt: at,
        idleExpiresAt: at + 30 * 60_000,
      });
      const a = patch(session.createdAt + 1);
      const b = patch(session.createdAt + 2);
      const results = await Promise.all([
        store.rotateSession(session.id, 0, a),
        store.rotateSession(session.id, 0, b),
      ]);
      assert.deepEqual(results.filter(Boolean).length, 1);
      const [winner, loser] = results[0] ? [a, b] : [b, a];
      assert.equal((await store.findByRefreshTokenHash(winner.refreshTokenHash))?.generation, 1);
      assert.equal(await store.findByRefreshTokenHash(loser.refreshTokenHash), null);
      assert.equal(await store.findByAccessTokenHash(loser.accessTokenHash), null);
      assert.equal((await store.findByAccessTokenHash(winner.accessTokenHash))?.id, session.id);
    });
  });

  it('keeps users apart whatever characters their ids hold', async () => {
    await withStore(async (store) => {
      const odd = sampleSession({ userId: 'a}b{c:*?[x]' });
      const plain = sampleSession({ userId: 'a' });
      await store.createSession(odd);
      await store.createSession(plain);
      const listed = await store.listSessionsForUser(odd.userId, odd.createdAt);
      assert.deepEqual(
        listed.map((s) => s.id),
        [odd.id],
      );
      assert.equal((await store.endSessionsForUser('a', 'logout_all', plain.createdAt)).length, 1);
      assert.equal((await store.getSession(odd.id))?.endedAt, null);
    });
  });

  it('publishes every end and rotation to subscribers on other connections', async () => {
    const other = lazyClient(TEST_REDIS_URL);
    try {
      await withStore(async (store, prefix) => {
        const reader = createRedisStore({ client: await other.get(), prefix });
        const received: string[] = [];
        const channel = reader.subscribeInvalidations((id) => received.push(id));
        await waitFor(() => channel.connected(), 'channel connected');
        const ended = sampleSession();
        const rotated = sampleSession();
        await store.createSession(ended);
        await store.createSession(rotated);
        await store.endSession(ended.id, 'logout', ended.createdAt + 1);
        await store.rotateSession(rotated.id, 0, {
          generation: 1,
          accessTokenHash: hashToken(generateToken('access')),
          accessExpiresAt: rotated.createdAt + 60_000,
          refreshTokenHash: hashToken(generateToken('refresh')),
          rotatedAt: rotated.createdAt + 1,
          successorSealed: null,
          lastActiveAt: rotated.createdAt + 1,
          idleExpiresAt: rotated.createdAt + 60_000,
        });
        await waitFor(
          () => received.includes(ended.id) && received.includes(rotated.id),
          'both invalidations',
        );
        // A touch is not an invalidation.
        await store.touchSession(rotated.id, rotated.createdAt + 2, rotated.createdAt + 90_000);
        await store.ping();
        assert.equal(received.length, 2);
        await channel.close();
        assert.equal(channel.connected(), false);
        await reader.close();
      });
    } finally {
      await other.close();
    }
  });

  it('refuses a malformed event cursor', async () => {
    await withStore(async (store) => {
      await assert.rejects(store.queryEvents({ after: 'nope' }), { code: 'invalid_argument' });
    });
  });

  it('runs the engine end to end, and a reused refresh token ends the session', async () => {
    await withStore(async (store) => {
      const tessera = createTessera({ store, refreshGraceSeconds: 0 });
      const issued = await tessera.create({ userId: `u-${generateId()}` });
      const first = await tessera.refresh(issued.refreshToken);
      assert.ok(first.ok);
      const reuse = await tessera.refresh(issued.refreshToken);
      assert.equal(reuse.ok === false && reuse.reason, 'refresh_token_reuse');
      const validation = await tessera.validate(first.accessToken);
      assert.equal(validation.ok === false && validation.reason, 'ended');
      const events = await tessera.events({ userId: issued.session.userId });
      assert.deepEqual(
        events.events.map((e) => e.type),
        ['session.created', 'session.refreshed', 'session.refresh_reuse', 'session.ended'],
      );
    });
  });
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
