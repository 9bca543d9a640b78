import { TesseraError } from './errors.js';
import type { SessionEvent } from './types.js';
import {
  type ClaimedWebhookDelivery,
  newWebhookDelivery,
  type WebhookDeliveryRecord,
  type WebhookOutbox,
  type WebhookSubscriptionRecord,
} from './webhooks.js';

interface Row {
  delivery: WebhookDeliveryRecord;
  event: SessionEvent;
  owner: string | null;
}

/**
 * The in-memory outbox of the memory store. `fanOut` is called by the store's `appendEvent`
 * in the same synchronous step that records the event, so both happen or neither does.
 */
export function memoryWebhookOutbox(): WebhookOutbox & { fanOut(event: SessionEvent): void } {
  const subscriptions = new Map<string, WebhookSubscriptionRecord>();
  const rows = new Map<string, Row>();
  const copy = <T>(value: T): T => structuredClone(value);

  return {
    fanOut(event) {
      for (const subscription of subscriptions.values()) {
        if (subscription.disabledAt !== null) continue;
        if (!subscription.eventTypes.includes(event.type)) continue;
        const delivery = newWebhookDelivery(subscription.id, event);
        rows.set(delivery.id, { delivery, event: copy(event), owner: null });
      }
    },

    async createWebhookSubscription(subscription) {
      if (subscriptions.has(subscription.id)) {
        throw new TesseraError('store_conflict', 'a webhook subscription with this id exists');
      }
      subscriptions.set(subscription.id, copy(subscription));
    },

    async getWebhookSubscription(id) {
      const found = subscriptions.get(id);
      return found ? copy(found) : null;
    },

    async listWebhookSubscriptions() {
      return [...subscriptions.values()]
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
        .map(copy);
    },

    async setWebhookSubscriptionDisabled(id, at, reason) {
      const found = subscriptions.get(id);
      if (!found || (found.disabledAt === null) === (at === null)) return false;
      found.disabledAt = at;
      found.disabledReason = at === null ? null : reason;
      return true;
    },

    async rotateWebhookSecret(id, rotation) {
      const found = subscriptions.get(id);
      if (!found) return false;
      Object.assign(found, rotation);
      return true;
    },

    async claimWebhookDeliveries({ owner, now, leaseMs, limit }) {
      const due = [...rows.values()]
        .filter(
          (row) =>
            row.delivery.state === 'pending' &&
            (row.delivery.nextAttemptAt ?? Number.POSITIVE_INFINITY) <= now &&
            subscriptions.get(row.delivery.subscriptionId)?.disabledAt === null,
        )
        .sort((a, b) => a.delivery.createdAt - b.delivery.createdAt)
        .slice(0, limit);
      const claimed: ClaimedWebhookDelivery[] = [];
      for (const row of due) {
        row.owner = owner;
        row.delivery.nextAttemptAt = now + leaseMs;
        const subscription = subscriptions.get(row.delivery.subscriptionId)!;
        claimed.push({
          delivery: copy(row.delivery),
          event: copy(row.event),
          subscription: {
            id: subscription.id,
            url: subscription.url,
            secret: subscription.secret,
            previousSecret: subscription.previousSecret,
            previousSecretExpiresAt: subscription.previousSecretExpiresAt,
          },
        });
      }
      return claimed;
    },

    async completeWebhookDelivery({ id, owner, at, outcome }) {
      const row = rows.get(id);
      if (!row || row.owner !== owner || row.delivery.state !== 'pending') return false;
      const { delivery } = row;
      row.owner = null;
      delivery.attempts += 1;
      delivery.lastAttemptAt = at;
      delivery.lastStatus = outcome.status;
      delivery.state = outcome.state;
      if (outcome.state === 'delivered') {
        delivery.lastError = null;
        delivery.deliveredAt = at;
        delivery.nextAttemptAt = null;
      } else {
        delivery.lastError = outcome.error;
        delivery.nextAttemptAt = outcome.state === 'pending' ? outcome.nextAttemptAt : null;
      }
      return true;
    },

    async listWebhookDeliveries({ subscriptionId, state, limit = 100 }) {
      return [...rows.values()]
        .map((row) => row.delivery)
        .filter(
          (d) =>
            (subscriptionId === undefined || d.subscriptionId === subscriptionId) &&
            (state === undefined || d.state === state),
        )
        .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
        .slice(0, limit)
        .map(copy);
    },
  };
}

/** The outbox verbs alone (without `fanOut`), to spread into a store object. */
export function webhookVerbs(outbox: WebhookOutbox & { fanOut?: unknown }): WebhookOutbox {
  const { fanOut: _internal, ...verbs } = outbox;
  return verbs;
}
