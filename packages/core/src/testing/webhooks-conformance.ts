import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTesseraError } from '../errors.js';
import type { SessionStore } from '../store.js';
import { generateId } from '../token.js';
import type { NewSessionEvent, SessionEventType } from '../types.js';
import {
  newWebhookSubscription,
  supportsWebhooks,
  type WebhookOutbox,
  webhookDeliveryId,
} from '../webhooks.js';
import { SAMPLE_EPOCH as T0 } from './fixtures.js';

function sampleEvent(type: SessionEventType, at: number): NewSessionEvent {
  return {
    type,
    at,
    sessionId: generateId(),
    userId: `u-${generateId()}`,
    reason: type === 'session.ended' ? 'logout' : null,
    deviceId: 'd1',
    ip: '203.0.113.7',
    data: { policy: 'medium', auth_methods: ['pwd'] },
  };
}

/** The webhook outbox verbs (`webhooks.ts`); run inside `runStoreConformance`. */
export function webhookConformance(context: () => SessionStore): void {
  const outbox = (): SessionStore & WebhookOutbox => {
    const store = context();
    assert.ok(supportsWebhooks(store), 'the store has the webhook outbox verbs');
    return store;
  };
  const subscribe = async (types: SessionEventType[], at = T0) => {
    const subscription = newWebhookSubscription(
      { url: `https://hooks.example/${generateId()}`, eventTypes: types },
      at,
    );
    await outbox().createWebhookSubscription(subscription);
    return subscription;
  };

  describe('webhook outbox', () => {
    it('keeps subscriptions, lists them oldest first, refuses a taken id', async () => {
      const later = await subscribe(['session.ended'], T0 + 5);
      const first = await subscribe(['session.refresh_reuse', 'session.created'], T0);
      assert.deepEqual(await outbox().getWebhookSubscription(first.id), first);
      assert.equal(await outbox().getWebhookSubscription(generateId()), null);
      assert.deepEqual(
        (await outbox().listWebhookSubscriptions()).map((s) => s.id),
        [first.id, later.id],
      );
      await assert.rejects(outbox().createWebhookSubscription(first), (error) =>
        isTesseraError(error, 'store_conflict'),
      );
    });

    it('disables and enables a subscription once each, and rotates its secrets', async () => {
      const sub = await subscribe(['session.ended']);
      assert.equal(await outbox().setWebhookSubscriptionDisabled(sub.id, T0 + 1, 'gone'), true);
      assert.equal(
        await outbox().setWebhookSubscriptionDisabled(sub.id, T0 + 2, 'operator'),
        false,
      );
      const disabled = await outbox().getWebhookSubscription(sub.id);
      assert.equal(disabled?.disabledAt, T0 + 1);
      assert.equal(disabled?.disabledReason, 'gone');
      assert.equal(await outbox().setWebhookSubscriptionDisabled(sub.id, null, null), true);
      assert.equal((await outbox().getWebhookSubscription(sub.id))?.disabledReason, null);
      assert.equal(await outbox().setWebhookSubscriptionDisabled(generateId(), T0, 'gone'), false);
      const rotation = {
        secret: 'whsec_bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3',
        previousSecret: sub.secret,
        previousSecretExpiresAt: T0 + 3600_000,
      };
      assert.equal(await outbox().rotateWebhookSecret(sub.id, rotation), true);
      const rotated = await outbox().getWebhookSubscription(sub.id);
      assert.deepEqual(rotated, { ...sub, ...rotation });
      assert.equal(await outbox().rotateWebhookSecret(generateId(), rotation), false);
    });

    it('appendEvent writes one pending delivery per enabled subscription of its type', async () => {
      const reuse = await subscribe(['session.refresh_reuse']);
      const both = await subscribe(['session.refresh_reuse', 'session.ended']);
      const off = await subscribe(['session.refresh_reuse']);
      await outbox().setWebhookSubscriptionDisabled(off.id, T0, 'operator');
      const event = await outbox().appendEvent(sampleEvent('session.refresh_reuse', T0 + 10));
      await outbox().appendEvent(sampleEvent('session.created', T0 + 11));
      const deliveries = await outbox().listWebhookDeliveries({});
      assert.deepEqual(
        deliveries.map((d) => d.id).sort(),
        [webhookDeliveryId(both.id, event.id), webhookDeliveryId(reuse.id, event.id)].sort(),
      );
      for (const delivery of deliveries) {
        assert.deepEqual(
          { ...delivery, subscriptionId: '', id: '' },
          {
            id: '',
            subscriptionId: '',
            eventId: event.id,
            eventType: 'session.refresh_reuse',
            state: 'pending',
            createdAt: T0 + 10,
            attempts: 0,
            nextAttemptAt: T0 + 10,
            lastAttemptAt: null,
            lastStatus: null,
            lastError: null,
            deliveredAt: null,
          },
        );
      }
      const claimed = await outbox().claimWebhookDeliveries({
        owner: 'n1',
        now: T0 + 10,
        leaseMs: 1000,
        limit: 10,
      });
      assert.equal(claimed.length, 2);
      const one = claimed.find((c) => c.subscription.id === reuse.id);
      assert.deepEqual(one?.event, event, 'the claim carries the event as recorded');
      assert.equal(one?.subscription.url, reuse.url);
      assert.equal(one?.subscription.secret, reuse.secret);
    });

    it('leases each due delivery to one claimer at a time, until the lease ends', async () => {
      await subscribe(['session.ended']);
      for (let i = 0; i < 12; i++) await outbox().appendEvent(sampleEvent('session.ended', T0 + i));
      const claims = await Promise.all(
        ['a', 'b', 'c'].map((owner) =>
          outbox().claimWebhookDeliveries({ owner, now: T0 + 100, leaseMs: 5000, limit: 5 }),
        ),
      );
      const ids = claims.flat().map((c) => c.delivery.id);
      assert.equal(ids.length, 12, 'every due delivery claimed');
      assert.equal(new Set(ids).size, 12, 'none claimed twice');
      const during = { owner: 'd', now: T0 + 5099, leaseMs: 5000, limit: 50 };
      assert.deepEqual(await outbox().claimWebhookDeliveries(during), [], 'leased');
      const after = await outbox().claimWebhookDeliveries({ ...during, now: T0 + 5100 });
      assert.equal(after.length, 12, 'a lapsed lease (a dead node) lets another node take over');
      const first = claims.flat()[0]!;
      const stale = {
        id: first.delivery.id,
        at: T0 + 5200,
        outcome: { state: 'delivered', status: 200 } as const,
      };
      assert.equal(
        await outbox().completeWebhookDelivery({ ...stale, owner: 'a' }),
        false,
        'the old owner lost its lease',
      );
      assert.equal(await outbox().completeWebhookDelivery({ ...stale, owner: 'd' }), true);
      assert.equal(await outbox().completeWebhookDelivery({ ...stale, owner: 'd' }), false);
    });

    it('records delivered, retried and failed attempts, and never claims a disabled subscription', async () => {
      const sub = await subscribe(['session.created']);
      for (let i = 0; i < 3; i++)
        await outbox().appendEvent(sampleEvent('session.created', T0 + i));
      const claimed = await outbox().claimWebhookDeliveries({
        owner: 'n',
        now: T0 + 10,
        leaseMs: 1000,
        limit: 10,
      });
      assert.deepEqual(
        claimed.map((c) => c.delivery.createdAt),
        [T0, T0 + 1, T0 + 2],
        'oldest first',
      );
      const [ok, retry, dead] = claimed.map((c) => c.delivery.id) as [string, string, string];
      const complete = (
        id: string,
        outcome: Parameters<WebhookOutbox['completeWebhookDelivery']>[0]['outcome'],
      ) => outbox().completeWebhookDelivery({ id, owner: 'n', at: T0 + 20, outcome });
      assert.equal(await complete(ok, { state: 'delivered', status: 204 }), true);
      assert.equal(
        await complete(retry, {
          state: 'pending',
          nextAttemptAt: T0 + 500,
          status: 503,
          error: 'HTTP 503',
        }),
        true,
      );
      assert.equal(
        await complete(dead, { state: 'failed', status: null, error: 'ECONNREFUSED' }),
        true,
      );
      const byId = new Map((await outbox().listWebhookDeliveries({})).map((d) => [d.id, d]));
      assert.deepEqual(
        [
          byId.get(ok)?.state,
          byId.get(ok)?.deliveredAt,
          byId.get(ok)?.attempts,
          byId.get(ok)?.lastStatus,
        ],
        ['delivered', T0 + 20, 1, 204],
      );
      assert.deepEqual(
        [byId.get(retry)?.state, byId.get(retry)?.nextAttemptAt, byId.get(retry)?.lastError],
        ['pending', T0 + 500, 'HTTP 503'],
      );
      assert.deepEqual(
        [byId.get(dead)?.state, byId.get(dead)?.nextAttemptAt, byId.get(dead)?.lastStatus],
        ['failed', null, null],
      );
      const claim = (now: number) =>
        outbox().claimWebhookDeliveries({ owner: 'm', now, leaseMs: 1000, limit: 10 });
      assert.deepEqual(await claim(T0 + 499), [], 'a retry waits for its time');
      await outbox().setWebhookSubscriptionDisabled(sub.id, T0 + 30, 'operator');
      assert.deepEqual(await claim(T0 + 600), [], 'disabled subscriptions are not delivered');
      await outbox().setWebhookSubscriptionDisabled(sub.id, null, null);
      assert.deepEqual(
        (await claim(T0 + 600)).map((c) => c.delivery.id),
        [retry],
      );
      assert.deepEqual(
        (await outbox().listWebhookDeliveries({ state: 'failed' })).map((d) => d.id),
        [dead],
      );
      assert.deepEqual(
        (await outbox().listWebhookDeliveries({ subscriptionId: sub.id, limit: 2 })).map(
          (d) => d.id,
        ),
        [dead, retry],
        'newest first, limited',
      );
      assert.deepEqual(await outbox().listWebhookDeliveries({ subscriptionId: generateId() }), []);
    });
  });
}
