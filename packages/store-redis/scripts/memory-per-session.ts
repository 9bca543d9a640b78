/**
 * Measures Redis memory per session: creates N sessions the way the engine does (realistic
 * device info, two sessions per user), reads `used_memory` before and after, prints bytes per
 * session, then deletes what it wrote. With `--refreshed` every session is also rotated once
 * (the steady state of an app that refreshes: a sealed successor and a second refresh hash).
 *
 *   node --conditions=source --import tsx packages/store-redis/scripts/memory-per-session.ts \
 *     [N=100000] [redis://127.0.0.1:6379] [--refreshed]
 *
 * Run it against a Redis of its own: the figure is a difference of whole-server counters.
 */
import {
  generateId,
  generateToken,
  hashToken,
  type SessionRecord,
  sealSuccessor,
} from '@tessera/core';
import { connectRedis, createRedisStore, keyLayout } from '@tessera/store-redis';

const args = process.argv.slice(2);
const refreshed = args.includes('--refreshed');
const positional = args.filter((a) => !a.startsWith('--'));
const count = Number(positional[0] ?? 100_000);
const url = positional[1] ?? 'redis://127.0.0.1:6379';
const inFlight = 500;

const connected = await connectRedis(url);
if ('masters' in connected) throw new Error('measure on a standalone Redis');
const client = connected;
const prefix = `tessera-mem:${generateId().slice(0, 8)}:`;
const store = createRedisStore({ client, prefix, commandTimeoutMs: 30_000 });

async function usedMemory(): Promise<number> {
  const info = String(await client.sendCommand(['INFO', 'memory']));
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

function session(i: number, now: number): SessionRecord {
  const absoluteExpiresAt = now + 30 * 86_400_000;
  return {
    id: generateId(),
    userId: `user-${Math.floor(i / 2)}@example.com`,
    policy: 'medium',
    createdAt: now,
    lastActiveAt: now,
    idleExpiresAt: now + 7 * 86_400_000,
    absoluteExpiresAt,
    authenticatedAt: now,
    authMethods: ['pwd'],
    device: {
      id: generateId(),
      name: 'Pixel 9',
      platform: 'android',
      appVersion: '4.12.0',
      ip: '203.0.113.7',
      userAgent: 'ExampleApp/4.12.0 (Android 15; Pixel 9)',
    },
    generation: 0,
    accessTokenHash: hashToken(generateToken('access')),
    accessExpiresAt: now + 15 * 60_000,
    refreshTokenHash: hashToken(generateToken('refresh')),
    rotatedAt: now,
    successorSealed: null,
    endedAt: null,
    endReason: null,
  };
}

async function one(i: number, now: number) {
  const s = session(i, now);
  await store.createSession(s);
  if (!refreshed) return;
  const parent = generateToken('refresh');
  const pair = { accessToken: generateToken('access'), refreshToken: generateToken('refresh') };
  await store.rotateSession(s.id, 0, {
    generation: 1,
    accessTokenHash: hashToken(pair.accessToken),
    accessExpiresAt: now + 15 * 60_000,
    refreshTokenHash: hashToken(pair.refreshToken),
    rotatedAt: now,
    successorSealed: sealSuccessor(parent, s.id, 1, pair),
    lastActiveAt: now,
    idleExpiresAt: now + 7 * 86_400_000,
  });
}

async function deleteAll() {
  const pattern = keyLayout(prefix).everythingPattern;
  let cursor = '0';
  do {
    const [next, keys] = (await client.sendCommand([
      'SCAN',
      cursor,
      'MATCH',
      pattern,
      'COUNT',
      '5000',
    ])) as [string, string[]];
    cursor = String(next);
    if (keys.length > 0) await client.sendCommand(['UNLINK', ...keys]);
  } while (cursor !== '0');
}

const before = await usedMemory();
const started = Date.now();
const now = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next < count) {
      const i = next++;
      await one(i, now);
      if (i > 0 && i % 100_000 === 0) process.stderr.write(`  ${i} sessions\n`);
    }
  }),
);
const seconds = (Date.now() - started) / 1000;
const afterCreate = await usedMemory();
const keys = Number(await client.sendCommand(['DBSIZE']));
const perSession = (afterCreate - before) / count;
console.log(
  JSON.stringify(
    {
      sessions: count,
      refreshed,
      usedMemoryBefore: before,
      usedMemoryAfter: afterCreate,
      bytesPerSession: Math.round(perSession),
      keysInDatabase: keys,
      createsPerSecond: Math.round(count / seconds),
    },
    null,
    2,
  ),
);
await deleteAll();
await store.close();
await client.close();
