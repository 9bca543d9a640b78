import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import {
  createMemoryStore,
  createWebhookWorker,
  manualClock,
  type NewSessionEvent,
  newWebhookSubscription,
  type SessionEventType,
  type SessionStore,
  supportsWebhooks,
  type WebhookOutbox,
  webhookBackoffMs,
} from '../src/index.js';

const T0 = Date.UTC(2026, 5, 1);

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A receiver on a real socket; `answer` picks the status of each request. */
async function receiver(answer: (r: Received) => number | Promise<number>) {
  const received: Received[] = [];
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const one = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
    received.push(one);
    const status = await answer(one);
    response
      .writeHead(status, status >= 300 && status < 400 ? { location: 'http://127.0.0.1:1/' } : {})
      .end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

function event(type: SessionEventType, at: number, userId = 'alice'): NewSessionEvent {
  return { type, at, sessionId: 's1', userId, reason: null, deviceId: 'd1', ip: null, data: {} };
}

function outbox(): SessionStore & WebhookOutbox {
  const store = createMemoryStore();
  assert.ok(supportsWebhooks(store));
  return store;
}

async function subscribe(store: WebhookOutbox, url: string, types: SessionEventType[]) {
  const subscription = newWebhookSubscription({ url, eventTypes: types }, T0);
  await store.createWebhookSubscription(subscription);
  return subscription;
}

describe('webhook delivery worker', () => {
  const servers: Array<{ close(): Promise<unknown> }> = [];
  after(async () => {
    for (const server of servers) await server.close();
  });
  let closedUrl: string;
  before(async () => {
    const gone = await receiver(() => 200);
    closedUrl = gone.url;
    await gone.close();
  });

  test('delivers only subscribed events, signed so that standardwebhooks verifies them', async () => {
    const hook = await receiver(() => 204);
    servers.push(hook);
    const store = outbox();
    // standardwebhooks checks the timestamp against the real clock.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const clock = manualClock(now);
    const sub = await subscribe(store, hook.url, ['session.refresh_reuse']);
    const stored = await store.appendEvent({
      ...event('session.refresh_reuse', now),
      reason: 'refresh_token_reuse',
    });
    await store.appendEvent(event('session.created', now));
    const worker = createWebhookWorker({ store, nodeId: 'n', clock });
    assert.equal(await worker.runOnce(), 1);
    assert.equal(hook.received.length, 1);
    const [message] = hook.received as [Received];
    assert.equal(message.headers['content-type'], 'application/json');
    assert.equal(message.headers['webhook-id'], `msg_${sub.id}_${stored.id}`);
    assert.equal(message.headers['webhook-timestamp'], String(now / 1000));
    // Verified against the timestamp the message was signed at.
    const verified = new Webhook(sub.secret).verify(
      message.body,
      message.headers as Record<string, string>,
    );
    assert.deepEqual(verified, JSON.parse(message.body));
    const payload = JSON.parse(message.body);
    assert.equal(payload.type, 'session.refresh_reuse');
    assert.equal(payload.data.user_id, 'alice');
    assert.equal(payload.data.reason, 'refresh_token_reuse');
    assert.equal(payload.data.event_id, stored.id);
    const [delivery] = await store.listWebhookDeliveries({});
    assert.equal(delivery?.state, 'delivered');
    assert.equal(delivery?.attempts, 1);
    assert.equal(await worker.runOnce(), 0, 'nothing left');
  });

  test('a receiver down for a while: retried with growing jittered delays under one id, then delivered', async () => {
    let up = false;
    const hook = await receiver(() => (up ? 200 : 503));
    servers.push(hook);
    const store = outbox();
    const clock = manualClock(T0);
    await subscribe(store, hook.url, ['session.ended']);
    for (let i = 0; i < 5; i++) await store.appendEvent(event('session.ended', T0, `u${i}`));
    const worker = createWebhookWorker({
      store,
      nodeId: 'n',
      clock,
      backoffBaseMs: 1000,
      backoffCapMs: 8000,
      random: () => 0.999,
    });
    const delays: number[] = [];
    for (let round = 0; round < 6; round++) {
      assert.equal(await worker.runOnce(), 5, `round ${round}: all five retried`);
      const pending = await store.listWebhookDeliveries({ state: 'pending' });
      assert.equal(pending.length, 5);
      const next = Math.min(...pending.map((d) => d.nextAttemptAt ?? 0));
      delays.push(next - clock.now());
      assert.equal(await worker.runOnce(), 0, 'nothing is due before its retry time');
      clock.set(next);
    }
    // Full jitter under a ceiling that doubles from 1 s up to the 8 s cap.
    assert.deepEqual(delays, [999, 1998, 3996, 7992, 7992, 7992]);
    up = true;
    assert.equal(await worker.runOnce(), 5);
    const all = await store.listWebhookDeliveries({});
    assert.deepEqual(new Set(all.map((d) => d.state)), new Set(['delivered']));
    assert.deepEqual(new Set(all.map((d) => d.attempts)), new Set([7]));
    // The receiver saw 7 attempts of each delivery, always under the same webhook-id.
    const ids = hook.received.map((r) => String(r.headers['webhook-id']));
    assert.equal(ids.length, 35);
    assert.equal(new Set(ids).size, 5);
    assert.equal(
      hook.received.at(-1)?.headers['webhook-timestamp'],
      String(Math.floor(clock.now() / 1000)),
      'each attempt is signed anew, at its own time',
    );
  });

  test('jitter spreads retries over [0, ceiling)', () => {
    assert.equal(
      webhookBackoffMs(1, 5000, 7_200_000, () => 0),
      0,
    );
    assert.equal(
      webhookBackoffMs(1, 5000, 7_200_000, () => 0.5),
      2500,
    );
    assert.equal(
      webhookBackoffMs(3, 5000, 7_200_000, () => 0.5),
      10_000,
    );
    assert.equal(
      webhookBackoffMs(60, 5000, 7_200_000, () => 0.5),
      3_600_000,
      'capped',
    );
  });

  test('gives up once the retry window after the event is spent, and says why', async () => {
    const store = outbox();
    const clock = manualClock(T0);
    await subscribe(store, closedUrl, ['session.created']);
    await store.appendEvent(event('session.created', T0));
    const worker = createWebhookWorker({
      store,
      nodeId: 'n',
      clock,
      retryWindowMs: 86_400_000,
      random: () => 0,
    });
    await worker.runOnce();
    const [first] = await store.listWebhookDeliveries({});
    assert.equal(first?.state, 'pending');
    assert.match(first?.lastError ?? '', /ECONNREFUSED/);
    clock.set(T0 + 86_400_000 - 1);
    await worker.runOnce();
    assert.equal((await store.listWebhookDeliveries({}))[0]?.state, 'pending', 'still inside 24 h');
    clock.set(T0 + 86_400_000);
    await worker.runOnce();
    const [last] = await store.listWebhookDeliveries({});
    assert.equal(last?.state, 'failed');
    assert.equal(last?.attempts, 3);
    assert.match(last?.lastError ?? '', /retry window spent/);
    assert.equal(await worker.runOnce(), 0);
  });

  test('410 Gone fails the delivery and disables the subscription', async () => {
    const hook = await receiver(() => 410);
    servers.push(hook);
    const store = outbox();
    const sub = await subscribe(store, hook.url, ['session.created']);
    await store.appendEvent(event('session.created', T0));
    await store.appendEvent(event('session.created', T0 + 1));
    const worker = createWebhookWorker({
      store,
      nodeId: 'n',
      clock: manualClock(T0 + 10),
      batchSize: 1,
    });
    await worker.runOnce();
    const found = await store.getWebhookSubscription(sub.id);
    assert.equal(found?.disabledReason, 'gone');
    assert.equal((await store.listWebhookDeliveries({ state: 'failed' })).length, 1);
    assert.equal(await worker.runOnce(), 0, 'nothing more goes to a gone endpoint');
    assert.equal(hook.received.length, 1);
  });

  test('a redirect is a failed attempt, never followed; a silent receiver times out', async () => {
    const redirect = await receiver(() => 307);
    const silent = await receiver(() => new Promise<number>(() => {}));
    servers.push(redirect);
    const store = outbox();
    await subscribe(store, redirect.url, ['session.created']);
    await subscribe(store, silent.url, ['session.created']);
    await store.appendEvent(event('session.created', T0));
    const worker = createWebhookWorker({
      store,
      nodeId: 'n',
      clock: manualClock(T0),
      timeoutMs: 150,
      leaseMs: 1000,
    });
    await worker.runOnce();
    const errors = (await store.listWebhookDeliveries({})).map((d) => d.lastError).sort();
    assert.deepEqual(errors, ['HTTP 307', 'no answer within 150 ms']);
    assert.equal(redirect.received.length, 1);
    // The silent server keeps its socket open; destroy it through close after the test.
    servers.push({ close: () => Promise.race([silent.close(), Promise.resolve()]) });
  });

  test('refuses a lease that a slow receiver could outlast', () => {
    assert.throws(
      () =>
        createWebhookWorker({ store: outbox(), nodeId: 'n', timeoutMs: 10_000, leaseMs: 20_000 }),
      /timeout_ms must be at most lease_ms \/ 3/,
    );
  });

  test('during a rotation both secrets sign, and after the overlap only the new one', async () => {
    const hook = await receiver(() => 200);
    servers.push(hook);
    const store = outbox();
    // standardwebhooks checks the timestamp against the real clock: the overlap is 2 s here.
    const start = Date.now();
    const clock = manualClock(start);
    const sub = await subscribe(store, hook.url, ['session.created']);
    const { rotateSubscriptionSecret } = await import('../src/index.js');
    const next = await rotateSubscriptionSecret(store, sub.id, start, 2);
    assert.ok(next);
    const worker = createWebhookWorker({ store, nodeId: 'n', clock });
    await store.appendEvent(event('session.created', start));
    await worker.runOnce();
    clock.set(start + 2000);
    await store.appendEvent(event('session.created', start + 2000));
    await worker.runOnce();
    const [during, afterwards] = hook.received as [Received, Received];
    assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
    for (const secret of [sub.secret, next]) {
      assert.ok(new Webhook(secret).verify(during.body, during.headers as Record<string, string>));
    }
    assert.equal(String(afterwards.headers['webhook-signature']).split(' ').length, 1);
    assert.ok(
      new Webhook(next).verify(afterwards.body, afterwards.headers as Record<string, string>),
    );
    assert.throws(() =>
      new Webhook(sub.secret).verify(afterwards.body, afterwards.headers as Record<string, string>),
    );
  });
});
