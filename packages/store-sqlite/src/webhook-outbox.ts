import type {
  ClaimedWebhookDelivery,
  SessionEvent,
  WebhookDeliveryRecord,
  WebhookDisabledReason,
  WebhookOutbox,
  WebhookSubscriptionRecord,
} from '@tessera/core';
import type BetterSqlite3 from 'better-sqlite3';
import { type EventRow, rowToEvent } from './rows.js';

/** Migration 5: the webhook subscriptions and the outbox (added to `schema.ts`). */
export const WEBHOOK_MIGRATION = {
  version: 5,
  name: 'webhooks: subscriptions and the delivery outbox',
  sql: `
-- Secrets are kept as they are: the sender signs with them (README "Webhooks").
CREATE TABLE tessera_webhook_subscriptions (
  id TEXT PRIMARY KEY NOT NULL,
  url TEXT NOT NULL,
  event_types TEXT NOT NULL, -- JSON array of event types
  description TEXT,
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  disabled_at INTEGER,
  disabled_reason TEXT
) STRICT;

-- The outbox: one row per event and subscription, written in the transaction of the event.
-- next_attempt_at is also the lease: a claim moves it to the end of the lease and sets
-- lease_owner, so a row is due again when its retry time comes or its sender's lease ends.
CREATE TABLE tessera_webhook_deliveries (
  id TEXT PRIMARY KEY NOT NULL,
  subscription_id TEXT NOT NULL REFERENCES tessera_webhook_subscriptions (id) ON DELETE CASCADE,
  event_id INTEGER NOT NULL REFERENCES tessera_events (id) ON DELETE CASCADE,
  event_type TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER,
  lease_owner TEXT,
  last_attempt_at INTEGER,
  last_status INTEGER,
  last_error TEXT,
  delivered_at INTEGER
) STRICT;
CREATE INDEX tessera_webhook_deliveries_due ON tessera_webhook_deliveries (next_attempt_at)
  WHERE state = 'pending';
CREATE INDEX tessera_webhook_deliveries_event ON tessera_webhook_deliveries (event_id);
CREATE INDEX tessera_webhook_deliveries_subscription
  ON tessera_webhook_deliveries (subscription_id, created_at);
CREATE INDEX tessera_webhook_deliveries_created ON tessera_webhook_deliveries (created_at);
`,
};

interface SubscriptionRow {
  id: string;
  url: string;
  event_types: string;
  description: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  created_at: number;
  disabled_at: number | null;
  disabled_reason: string | null;
}

interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_id: number;
  event_type: string;
  state: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}

const toSubscription = (row: SubscriptionRow): WebhookSubscriptionRecord => ({
  id: row.id,
  url: row.url,
  eventTypes: JSON.parse(row.event_types),
  description: row.description,
  secret: row.secret,
  previousSecret: row.previous_secret,
  previousSecretExpiresAt: row.previous_secret_expires_at,
  createdAt: row.created_at,
  disabledAt: row.disabled_at,
  disabledReason: row.disabled_reason as WebhookDisabledReason | null,
});

const toDelivery = (row: DeliveryRow): WebhookDeliveryRecord => ({
  id: row.id,
  subscriptionId: row.subscription_id,
  eventId: String(row.event_id),
  eventType: row.event_type as WebhookDeliveryRecord['eventType'],
  state: row.state as WebhookDeliveryRecord['state'],
  createdAt: row.created_at,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastAttemptAt: row.last_attempt_at,
  lastStatus: row.last_status,
  lastError: row.last_error,
  deliveredAt: row.delivered_at,
});

const DELIVERY_COLUMNS = `d.id, d.subscription_id, d.event_id, d.event_type, d.state, d.created_at,
  d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at`;

/**
 * The statement `appendEvent` runs inside the transaction that inserts an event: one pending
 * delivery per enabled subscription of the event's type (the transactional outbox).
 */
export function prepareWebhookFanOut(
  database: BetterSqlite3.Database,
): (eventId: string | number | bigint, event: Pick<SessionEvent, 'type' | 'at'>) => void {
  const fanOut = database.prepare<{ event_id: number | bigint; type: string; at: number }>(
    `INSERT INTO tessera_webhook_deliveries
       (id, subscription_id, event_id, event_type, state, created_at, attempts, next_attempt_at)
     SELECT 'msg_' || s.id || '_' || @event_id, s.id, @event_id, @type, 'pending', @at, 0, @at
       FROM tessera_webhook_subscriptions s
      WHERE s.disabled_at IS NULL
        AND EXISTS (SELECT 1 FROM json_each(s.event_types) WHERE value = @type)`,
  );
  return (eventId, event) => {
    fanOut.run({ event_id: BigInt(eventId), type: event.type, at: event.at });
  };
}

/** The outbox verbs on SQLite. A claim is one IMMEDIATE transaction: processes take turns. */
export function sqliteWebhookVerbs(
  database: BetterSqlite3.Database,
  guard: <T>(work: () => T) => T,
): WebhookOutbox {
  const sql = {
    insert: database.prepare<[SubscriptionRow]>(
      `INSERT INTO tessera_webhook_subscriptions (id, url, event_types, description, secret,
         previous_secret, previous_secret_expires_at, created_at, disabled_at, disabled_reason)
       VALUES (@id, @url, @event_types, @description, @secret, @previous_secret,
         @previous_secret_expires_at, @created_at, @disabled_at, @disabled_reason)`,
    ),
    byId: database.prepare<[string], SubscriptionRow>(
      'SELECT * FROM tessera_webhook_subscriptions WHERE id = ?',
    ),
    all: database.prepare<[], SubscriptionRow>(
      'SELECT * FROM tessera_webhook_subscriptions ORDER BY created_at, id',
    ),
    disable: database.prepare<[number, string, string]>(
      `UPDATE tessera_webhook_subscriptions SET disabled_at = ?, disabled_reason = ?
        WHERE id = ? AND disabled_at IS NULL`,
    ),
    enable: database.prepare<[string]>(
      `UPDATE tessera_webhook_subscriptions SET disabled_at = NULL, disabled_reason = NULL
        WHERE id = ? AND disabled_at IS NOT NULL`,
    ),
    rotate: database.prepare<[string, string, number, string]>(
      `UPDATE tessera_webhook_subscriptions
          SET secret = ?, previous_secret = ?, previous_secret_expires_at = ? WHERE id = ?`,
    ),
    due: database.prepare<[number, number], { id: string }>(
      `SELECT d.id FROM tessera_webhook_deliveries d
         JOIN tessera_webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND s.disabled_at IS NULL
        ORDER BY d.created_at, d.id LIMIT ?`,
    ),
    anyDue: database.prepare<[number], { found: number }>(
      `SELECT 1 AS found FROM tessera_webhook_deliveries
        WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1`,
    ),
    lease: database.prepare<[string, number, string]>(
      'UPDATE tessera_webhook_deliveries SET lease_owner = ?, next_attempt_at = ? WHERE id = ?',
    ),
    claimed: database.prepare<
      [string],
      DeliveryRow & { [K in keyof EventRow as `e_${K}`]: EventRow[K] } & {
        url: string;
        secret: string;
        previous_secret: string | null;
        previous_secret_expires_at: number | null;
      }
    >(
      `SELECT ${DELIVERY_COLUMNS}, e.id AS e_id, e.type AS e_type, e.at AS e_at,
         e.session_id AS e_session_id, e.user_id AS e_user_id, e.reason AS e_reason,
         e.device_id AS e_device_id, e.ip AS e_ip, e.data AS e_data,
         s.url, s.secret, s.previous_secret, s.previous_secret_expires_at
         FROM tessera_webhook_deliveries d
         JOIN tessera_events e ON e.id = d.event_id
         JOIN tessera_webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.id = ?`,
    ),
    complete: database.prepare<{
      id: string;
      owner: string;
      at: number;
      state: string;
      next_attempt_at: number | null;
      status: number | null;
      error: string | null;
      delivered_at: number | null;
    }>(
      `UPDATE tessera_webhook_deliveries
          SET attempts = attempts + 1, last_attempt_at = @at, last_status = @status,
              last_error = @error, state = @state, next_attempt_at = @next_attempt_at,
              delivered_at = @delivered_at, lease_owner = NULL
        WHERE id = @id AND lease_owner = @owner AND state = 'pending'`,
    ),
    list: database.prepare<
      { subscription_id: string | null; state: string | null; limit: number },
      DeliveryRow
    >(
      `SELECT ${DELIVERY_COLUMNS} FROM tessera_webhook_deliveries d
        WHERE (@subscription_id IS NULL OR d.subscription_id = @subscription_id)
          AND (@state IS NULL OR d.state = @state)
        ORDER BY d.created_at DESC, d.id DESC LIMIT @limit`,
    ),
  };

  const claim = database.transaction(
    (owner: string, now: number, leaseMs: number, limit: number) => {
      const ids = sql.due.all(now, limit).map((row) => row.id);
      const claimed: ClaimedWebhookDelivery[] = [];
      for (const id of ids) {
        sql.lease.run(owner, now + leaseMs, id);
        const row = sql.claimed.get(id);
        if (!row) continue;
        claimed.push({
          delivery: toDelivery(row),
          event: rowToEvent({
            id: row.e_id,
            type: row.e_type,
            at: row.e_at,
            session_id: row.e_session_id,
            user_id: row.e_user_id,
            reason: row.e_reason,
            device_id: row.e_device_id,
            ip: row.e_ip,
            data: row.e_data,
          }),
          subscription: {
            id: row.subscription_id,
            url: row.url,
            secret: row.secret,
            previousSecret: row.previous_secret,
            previousSecretExpiresAt: row.previous_secret_expires_at,
          },
        });
      }
      return claimed;
    },
  );

  return {
    async createWebhookSubscription(subscription) {
      guard(() =>
        sql.insert.run({
          id: subscription.id,
          url: subscription.url,
          event_types: JSON.stringify(subscription.eventTypes),
          description: subscription.description,
          secret: subscription.secret,
          previous_secret: subscription.previousSecret,
          previous_secret_expires_at: subscription.previousSecretExpiresAt,
          created_at: subscription.createdAt,
          disabled_at: subscription.disabledAt,
          disabled_reason: subscription.disabledReason,
        }),
      );
    },
    async getWebhookSubscription(id) {
      const row = guard(() => sql.byId.get(id));
      return row ? toSubscription(row) : null;
    },
    async listWebhookSubscriptions() {
      return guard(() => sql.all.all()).map(toSubscription);
    },
    async setWebhookSubscriptionDisabled(id, at, reason) {
      const result = guard(() =>
        at === null ? sql.enable.run(id) : sql.disable.run(at, reason ?? 'operator', id),
      );
      return result.changes === 1;
    },
    async rotateWebhookSecret(id, rotation) {
      const result = guard(() =>
        sql.rotate.run(
          rotation.secret,
          rotation.previousSecret,
          rotation.previousSecretExpiresAt,
          id,
        ),
      );
      return result.changes === 1;
    },
    async claimWebhookDeliveries({ owner, now, leaseMs, limit }) {
      // A plain read first: an idle node polling an empty outbox never takes the write lock.
      if (!guard(() => sql.anyDue.get(now))) return [];
      return guard(() => claim.immediate(owner, now, leaseMs, limit));
    },
    async completeWebhookDelivery({ id, owner, at, outcome }) {
      const result = guard(() =>
        sql.complete.run({
          id,
          owner,
          at,
          state: outcome.state,
          next_attempt_at: outcome.state === 'pending' ? outcome.nextAttemptAt : null,
          status: outcome.status,
          error: outcome.state === 'delivered' ? null : outcome.error,
          delivered_at: outcome.state === 'delivered' ? at : null,
        }),
      );
      return result.changes === 1;
    },
    async listWebhookDeliveries({ subscriptionId, state, limit = 100 }) {
      return guard(() =>
        sql.list.all({ subscription_id: subscriptionId ?? null, state: state ?? null, limit }),
      ).map(toDelivery);
    },
  };
}
