import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import {
  createMemoryStore,
  createOperatorAccounts,
  createTessera,
  matchesEventQuery,
  type SessionEvent,
  type SessionStore,
  type Tessera,
} from '@tessera/core';
import { buildServer } from '@tessera/server';
import { createPool, createPostgresStore, migrate } from '@tessera/store-postgres';
import { connectRedis, createRedisStore, keyLayout } from '@tessera/store-redis';
import type { FastifyInstance } from 'fastify';

/*
 * The console's live feed across nodes on the multi-node stores, over real sockets: an operator
 * signed in on node A ends a session there, and the feed opened on node B (another engine,
 * another store connection) streams the end and the operator's action. The feed reads the
 * store's events, not a node's memory, so nothing else could carry them from A to B.
 */

const SCRYPT = { logN: 10, r: 8, p: 1 };
const PASSWORD = 'feed test pass phrase 1';
const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL =
  process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Backend {
  /** A store on its own connection: one per node. */
  open(): Promise<{ store: SessionStore; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

async function redisBackend(): Promise<Backend> {
  const prefix = `tessera-test:console-feed:${randomBytes(6).toString('hex')}:`;
  const clients: Array<Awaited<ReturnType<typeof connectRedis>>> = [];
  return {
    async open() {
      const client = await connectRedis(REDIS_URL);
      clients.push(client);
      const store = createRedisStore({ client, prefix });
      return { store, close: () => store.close() };
    },
    async cleanup() {
      const [client] = clients;
      if (client && !('masters' in client)) {
        let cursor = '0';
        do {
          const [next, keys] = (await client.sendCommand([
            'SCAN',
            cursor,
            'MATCH',
            keyLayout(prefix).everythingPattern,
            'COUNT',
            '1000',
          ])) as [string, string[]];
          cursor = String(next);
          await Promise.all(keys.map((key) => client.sendCommand(['DEL', key])));
        } while (cursor !== '0');
      }
      for (const c of clients) c.destroy();
    },
  };
}

async function postgresBackend(): Promise<Backend> {
  const schema = `tessera_test_console_feed_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = createPool(POSTGRES_URL, { maxConnections: 2 });
  await migrate({ pool: admin, schema });
  const pools: Array<ReturnType<typeof createPool>> = [];
  return {
    async open() {
      const pool = createPool(POSTGRES_URL, { maxConnections: 4 });
      pools.push(pool);
      const store = createPostgresStore({ pool, schema });
      return { store, close: () => store.close() };
    },
    async cleanup() {
      await Promise.all(pools.map((p) => p.end()));
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

async function node(
  backend: Backend,
): Promise<{ url: string; tessera: Tessera; app: FastifyInstance; close(): Promise<void> }> {
  const opened = await backend.open();
  const tessera = createTessera({ store: opened.store });
  const app = await buildServer({
    tessera,
    logger: false,
    purgeIntervalSeconds: 0,
    console: { accounts: { scrypt: SCRYPT }, feed: { pollIntervalMs: 100 } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    tessera,
    app,
    async close() {
      await app.close();
      await opened.close();
    },
  };
}

const cookieOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');

for (const [name, make] of [
  ['Redis', redisBackend],
  ['PostgreSQL', postgresBackend],
] as const) {
  describe(`console live feed on ${name}`, () => {
    test('an end made on node A streams live to a feed opened on node B', async () => {
      const backend = await make();
      const a = await node(backend);
      const b = await node(backend);
      const feed = new AbortController();
      try {
        await createOperatorAccounts({ tessera: a.tessera, scrypt: SCRYPT }).create({
          name: 'ada',
          password: PASSWORD,
        });
        const victim = await a.tessera.create({ userId: 'alice', device: { id: 'phone' } });
        const signedIn = await fetch(`${a.url}/console/sign-in`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: a.url },
          body: new URLSearchParams({ name: 'ada', password: PASSWORD }),
        });
        assert.equal(signedIn.status, 303);
        const cookie = cookieOf(signedIn);
        const csrf = signedIn.headers.get('x-csrf-token') ?? '';

        // The cookies and the CSRF token of node A work on node B: one store, one secret.
        const stream = await fetch(`${b.url}/console/events/stream`, {
          headers: { cookie, accept: 'text/event-stream' },
          signal: feed.signal,
        });
        assert.equal(stream.status, 200);
        assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
        const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
        let received = '';
        const decoder = new TextDecoder();
        const waitFor = async (pattern: RegExp) => {
          const deadline = Date.now() + 10_000;
          while (!pattern.test(received)) {
            if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${received}`);
            const { value, done } = await reader.read();
            if (done) throw new Error(`the feed ended:\n${received}`);
            received += decoder.decode(value, { stream: true });
          }
        };
        await waitFor(/^retry: /m);

        const ended = await fetch(`${a.url}/console/sessions/end`, {
          method: 'POST',
          redirect: 'manual',
          headers: {
            cookie,
            origin: a.url,
            'content-type': 'application/x-www-form-urlencoded',
            'x-csrf-token': csrf,
          },
          body: new URLSearchParams({ session_id: victim.session.id }),
        });
        assert.equal(ended.status, 303);
        assert.equal((await b.tessera.validate(victim.accessToken)).ok, false);
        await waitFor(
          new RegExp(`"type":"session.ended"[^\\n]*"session_id":"${victim.session.id}"`),
        );
        await waitFor(/"type":"operator.action"[^\n]*"action":"ended_session"/);
        assert.match(received, /^id: \S+$/m, 'events carry ids, for Last-Event-ID resumption');
      } finally {
        feed.abort();
        await a.close();
        await b.close();
        await backend.cleanup();
      }
    });
  });
}

describe('console live feed ordering', () => {
  test('an event that becomes visible after a later one (a late commit) is still streamed, once', async () => {
    // A store whose events can be written but not yet visible, as a PostgreSQL insert whose
    // sequence number was taken before another's but that commits after it.
    const inner = createMemoryStore();
    const pending = new Set<string>();
    let holdNext = false;
    const store: SessionStore = {
      ...inner,
      async appendEvent(event) {
        const stored = await inner.appendEvent(event);
        if (holdNext) pending.add(stored.id);
        holdNext = false;
        return stored;
      },
      async queryEvents(query) {
        const page = await inner.queryEvents({ ...query, limit: 10_000 });
        const visible = page.events.filter(
          (e: SessionEvent) => !pending.has(e.id) && matchesEventQuery(e, query),
        );
        return { events: visible.slice(0, query.limit ?? 100), nextCursor: null };
      },
    };
    const tessera = createTessera({ store });
    const app = await buildServer({
      tessera,
      logger: false,
      purgeIntervalSeconds: 0,
      console: { accounts: { scrypt: SCRYPT }, feed: { pollIntervalMs: 50 } },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const feed = new AbortController();
    try {
      await createOperatorAccounts({ tessera, scrypt: SCRYPT }).create({
        name: 'ada',
        password: PASSWORD,
      });
      const signedIn = await fetch(`${url}/console/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
        body: new URLSearchParams({ name: 'ada', password: PASSWORD }),
      });
      const stream = await fetch(`${url}/console/events/stream?user_id=late`, {
        headers: { cookie: cookieOf(signedIn) },
        signal: feed.signal,
      });
      const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let received = '';
      const waitFor = async (pattern: RegExp) => {
        const deadline = Date.now() + 10_000;
        while (!pattern.test(received)) {
          if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${received}`);
          const { value, done } = await reader.read();
          if (done) throw new Error('the feed ended');
          received += decoder.decode(value, { stream: true });
        }
      };
      await waitFor(/^retry: /m);
      holdNext = true;
      const first = await tessera.create({ userId: 'late', device: { id: 'first' } });
      const second = await tessera.create({ userId: 'late', device: { id: 'second' } });
      await waitFor(new RegExp(second.session.id));
      assert.equal(received.includes(first.session.id), false, 'not visible yet');
      pending.clear(); // the earlier write commits now
      await waitFor(new RegExp(first.session.id));
      // A third event marks a later poll: a duplicate of either would have come before it.
      const third = await tessera.create({ userId: 'late', device: { id: 'third' } });
      await waitFor(new RegExp(third.session.id));
      const count = (id: string) => received.split(`"session_id":"${id}"`).length - 1;
      assert.equal(count(first.session.id), 1, 'streamed once');
      assert.equal(count(second.session.id), 1, 'streamed once');
    } finally {
      feed.abort();
      await app.close();
    }
  });
});

describe('console live feed limits', () => {
  test('a node serves at most maxFeeds open feeds; one more gets 503 with Retry-After', async () => {
    const tessera = createTessera({ store: createMemoryStore() });
    const app = await buildServer({
      tessera,
      logger: false,
      purgeIntervalSeconds: 0,
      console: { accounts: { scrypt: SCRYPT }, feed: { maxFeeds: 1 } },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const feeds = new AbortController();
    try {
      await createOperatorAccounts({ tessera, scrypt: SCRYPT }).create({
        name: 'ada',
        password: PASSWORD,
      });
      const signedIn = await fetch(`${url}/console/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
        body: new URLSearchParams({ name: 'ada', password: PASSWORD }),
      });
      const open = () =>
        fetch(`${url}/console/events/stream`, {
          headers: { cookie: cookieOf(signedIn) },
          signal: feeds.signal,
        });
      assert.equal((await open()).status, 200);
      const refused = await open();
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '5');
    } finally {
      feeds.abort();
      await app.close();
    }
  });
});
