import type {
  ClaimedWebhookDelivery,
  SessionEvent,
  WebhookDeliveryRecord,
  WebhookDisabledReason,
  WebhookOutbox,
  WebhookSubscriptionRecord,
} from '@tessera/core';
import type { Migration } from './migrations.js';
import type { Query } from './query.js';

/** Migration 5: the webhook subscriptions and the outbox (listed in `migrations.ts`). */
export const WEBHOOK_MIGRATION: Migration = {
  version: 5,
  name: 'webhooks: subscriptions and the delivery outbox',
  sql: (s) => `
-- Secrets are kept as they are: the sender signs with them (README "Webhooks").
CREATE TABLE ${s}.webhook_subscriptions (
  created_at                 bigint NOT NULL,
  disabled_at                bigint,
  previous_secret_expires_at bigint,
  id                         text COLLATE "C" PRIMARY KEY,
  url                        text   NOT NULL,
  event_types                text[] NOT NULL,
  description                text,
  secret                     text   NOT NULL,
  previous_secret            text,
  disabled_reason            text
);

-- The outbox: one row per event and subscription, inserted by the statement that inserts the
-- event. next_attempt_at is also the lease: a claim (FOR UPDATE SKIP LOCKED) moves it to the
-- end of the lease and sets lease_owner, so a row is due again when its retry time comes or
-- when its sender's lease ends (the sender died).
CREATE TABLE ${s}.webhook_deliveries (
  event_id        bigint  NOT NULL REFERENCES ${s}.events (id) ON DELETE CASCADE,
  created_at      bigint  NOT NULL,
  next_attempt_at bigint,
  last_attempt_at bigint,
  delivered_at    bigint,
  attempts        integer NOT NULL,
  last_status     integer,
  id              text COLLATE "C" PRIMARY KEY,
  subscription_id text COLLATE "C" NOT NULL
    REFERENCES ${s}.webhook_subscriptions (id) ON DELETE CASCADE,
  event_type      text    NOT NULL,
  state           text    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  lease_owner     text,
  last_error      text
);
-- Claims: only pending rows are indexed.
CREATE INDEX webhook_deliveries_due ON ${s}.webhook_deliveries (next_attempt_at)
  WHERE state = 'pending';
-- The ON DELETE CASCADE of the event purge.
CREATE INDEX webhook_deliveries_event ON ${s}.webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_subscription
  ON ${s}.webhook_deliveries (subscription_id, created_at);
CREATE INDEX webhook_deliveries_created ON ${s}.webhook_deliveries (created_at);
`,
};

/**
 * The statement of `appendEvent`: inserts the event and, in the same statement (hence the same
 * transaction), one pending delivery per enabled subscription of its type. Parameters: type,
 * at, session_id, user_id, reason, device_id, ip, data. Answers the event's id.
 */
export function appendEventWithOutboxSql(s: string): string {
  return `WITH e AS (
      INSERT INTO ${s}.events (type, at, session_id, user_id, reason, device_id, ip, data)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
    ), d AS (
      INSERT INTO ${s}.webhook_deliveries
        (id, subscription_id, event_id, event_type, state, created_at, attempts, next_attempt_at)
      SELECT 'msg_' || w.id || '_' || e.id, w.id, e.id, $1, 'pending', $2, 0, $2
        FROM e, ${s}.webhook_subscriptions w
       WHERE w.disabled_at IS NULL AND $1 = ANY (w.event_types)
    )
    SELECT id::text AS id FROM e`;
}

interface SubscriptionRow {
  id: string;
  url: string;
  event_types: string[];
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
  event_id: string;
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

interface ClaimedRow extends DeliveryRow {
  e_at: number;
  e_session_id: string;
  e_user_id: string;
  e_reason: SessionEvent['reason'];
  e_device_id: string | null;
  e_ip: string | null;
  e_data: SessionEvent['data'];
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
}

const toSubscription = (row: SubscriptionRow): WebhookSubscriptionRecord => ({
  id: row.id,
  url: row.url,
  eventTypes: row.event_types as WebhookSubscriptionRecord['eventTypes'],
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
  eventId: row.event_id,
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

const DELIVERY_COLUMNS = (t: string) =>
  `${t}.id, ${t}.subscription_id, ${t}.event_id::text AS event_id, ${t}.event_type, ${t}.state,
   ${t}.created_at, ${t}.attempts, ${t}.next_attempt_at, ${t}.last_attempt_at, ${t}.last_status,
   ${t}.last_error, ${t}.delivered_at`;

/** The outbox verbs on PostgreSQL; each is one statement. */
export function postgresWebhookVerbs(query: Query, s: string): WebhookOutbox {
  return {
    async createWebhookSubscription(sub) {
      await query(
        `INSERT INTO ${s}.webhook_subscriptions (id, url, event_types, description, secret,
           previous_secret, previous_secret_expires_at, created_at, disabled_at, disabled_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          sub.id,
          sub.url,
          sub.eventTypes,
          sub.description,
          sub.secret,
          sub.previousSecret,
          sub.previousSecretExpiresAt,
          sub.createdAt,
          sub.disabledAt,
          sub.disabledReason,
        ],
      );
    },
    async getWebhookSubscription(id) {
      const { rows } = await query<SubscriptionRow>(
        `SELECT * FROM ${s}.webhook_subscriptions WHERE id = $1`,
        [id],
      );
      return rows[0] ? toSubscription(rows[0]) : null;
    },
    async listWebhookSubscriptions() {
      const { rows } = await query<SubscriptionRow>(
        `SELECT * FROM ${s}.webhook_subscriptions ORDER BY created_at, id`,
      );
      return rows.map(toSubscription);
    },
    async setWebhookSubscriptionDisabled(id, at, reason) {
      const { rowCount } =
        at === null
          ? await query(
              `UPDATE ${s}.webhook_subscriptions SET disabled_at = NULL, disabled_reason = NULL
                WHERE id = $1 AND disabled_at IS NOT NULL`,
              [id],
            )
          : await query(
              `UPDATE ${s}.webhook_subscriptions SET disabled_at = $2, disabled_reason = $3
                WHERE id = $1 AND disabled_at IS NULL`,
              [id, at, reason ?? 'operator'],
            );
      return rowCount === 1;
    },
    async rotateWebhookSecret(id, rotation) {
      const { rowCount } = await query(
        `UPDATE ${s}.webhook_subscriptions
            SET secret = $2, previous_secret = $3, previous_secret_expires_at = $4 WHERE id = $1`,
        [id, rotation.secret, rotation.previousSecret, rotation.previousSecretExpiresAt],
      );
      return rowCount === 1;
    },
    async claimWebhookDeliveries({ owner, now, leaseMs, limit }) {
      // SKIP LOCKED: concurrent claims from other nodes pass over the rows this one is taking
      // instead of waiting for them; a row a concurrent claim committed first is re-checked
      // against the WHERE and, leased into the future, no longer matches.
      const { rows } = await query<ClaimedRow>(
        `WITH due AS (
           SELECT d.id FROM ${s}.webhook_deliveries d
             JOIN ${s}.webhook_subscriptions w ON w.id = d.subscription_id
            WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL
            ORDER BY d.next_attempt_at LIMIT $2
              FOR UPDATE OF d SKIP LOCKED
         ), leased AS (
           UPDATE ${s}.webhook_deliveries d SET lease_owner = $3, next_attempt_at = $1 + $4
             FROM due WHERE d.id = due.id RETURNING d.*
         )
         SELECT ${DELIVERY_COLUMNS('l')}, e.at AS e_at, e.session_id AS e_session_id,
                e.user_id AS e_user_id, e.reason AS e_reason, e.device_id AS e_device_id,
                e.ip AS e_ip, e.data AS e_data, w.url, w.secret, w.previous_secret,
                w.previous_secret_expires_at
           FROM leased l
           JOIN ${s}.events e ON e.id = l.event_id
           JOIN ${s}.webhook_subscriptions w ON w.id = l.subscription_id
          ORDER BY l.created_at, l.id`,
        [now, limit, owner, leaseMs],
      );
      return rows.map(
        (row): ClaimedWebhookDelivery => ({
          delivery: toDelivery(row),
          event: {
            id: row.event_id,
            type: row.event_type as SessionEvent['type'],
            at: row.e_at,
            sessionId: row.e_session_id,
            userId: row.e_user_id,
            reason: row.e_reason,
            deviceId: row.e_device_id,
            ip: row.e_ip,
            data: row.e_data,
          },
          subscription: {
            id: row.subscription_id,
            url: row.url,
            secret: row.secret,
            previousSecret: row.previous_secret,
            previousSecretExpiresAt: row.previous_secret_expires_at,
          },
        }),
      );
    },
    async completeWebhookDelivery({ id, owner, at, outcome }) {
      const { rowCount } = await query(
        `UPDATE ${s}.webhook_deliveries
            SET attempts = attempts + 1, last_attempt_at = $3, last_status = $4, last_error = $5,
                state = $6, next_attempt_at = $7, delivered_at = $8, lease_owner = NULL
          WHERE id = $1 AND lease_owner = $2 AND state = 'pending'`,
        [
          id,
          owner,
          at,
          outcome.status,
          outcome.state === 'delivered' ? null : outcome.error,
          outcome.state,
          outcome.state === 'pending' ? outcome.nextAttemptAt : null,
          outcome.state === 'delivered' ? at : null,
        ],
      );
      return rowCount === 1;
    },
    async listWebhookDeliveries({ subscriptionId, state, limit = 100 }) {
      const { rows } = await query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS('d')} FROM ${s}.webhook_deliveries d
          WHERE ($1::text IS NULL OR d.subscription_id = $1)
            AND ($2::text IS NULL OR d.state = $2)
          ORDER BY d.created_at DESC, d.id DESC LIMIT $3`,
        [subscriptionId ?? null, state ?? null, limit],
      );
      return rows.map(toDelivery);
    },
  };
}
