import { TesseraError } from './errors.js';
import { generateId } from './token.js';
import { EVENT_TYPES, type SessionEvent, type SessionEventType } from './types.js';
import { generateWebhookSecret } from './webhooks-signing.js';

/**
 * A webhook subscription: where to POST which event types, and the secrets that sign them.
 * The secrets are kept as they are (`whsec_…`): a sender must be able to sign with them, so
 * unlike a service key they cannot be kept as a hash. They are never shown again after creation
 * or rotation (lists and the admin API omit them); see README "Webhooks" for how they are kept.
 */
export interface WebhookSubscriptionRecord {
  /** 128 random bits, base62. */
  id: string;
  url: string;
  /** Non-empty, no duplicates, each one of `EVENT_TYPES`. */
  eventTypes: SessionEventType[];
  description: string | null;
  /** `whsec_` + base64 of 32 bytes from the CSPRNG: the HMAC key (Standard Webhooks). */
  secret: string;
  /** The secret before the last rotation, still signing until `previousSecretExpiresAt`. */
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  createdAt: number;
  /** Null while enabled. */
  disabledAt: number | null;
  /** `operator` (disabled by hand) or `gone` (the receiver answered 410 Gone). */
  disabledReason: WebhookDisabledReason | null;
}

export type WebhookDisabledReason = 'operator' | 'gone';

/** `pending` until a 2xx (`delivered`) or until the retry window is spent (`failed`). */
export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';
export const WEBHOOK_DELIVERY_STATES: readonly WebhookDeliveryState[] = [
  'pending',
  'delivered',
  'failed',
];

/** One event for one subscription: a row of the outbox. */
export interface WebhookDeliveryRecord {
  /**
   * `msg_<subscriptionId>_<eventId>`: the `webhook-id` header. The same for every attempt, so a
   * receiver drops the duplicates that at-least-once delivery implies.
   */
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: SessionEventType;
  state: WebhookDeliveryState;
  /** The event's instant: the retry window runs from here. */
  createdAt: number;
  /** Attempts made so far (each POST that got an answer or failed). */
  attempts: number;
  /**
   * When a node may next claim it: the next retry, or the end of the lease of the node sending
   * it now. Null once delivered or failed.
   */
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  /** The HTTP status of the last attempt; null when it got no answer. */
  lastStatus: number | null;
  /** Why the last attempt failed (timeout, connection refused, status); null after a 2xx. */
  lastError: string | null;
  deliveredAt: number | null;
}

/** A delivery a node holds the lease of, with what it needs to send it. */
export interface ClaimedWebhookDelivery {
  delivery: WebhookDeliveryRecord;
  event: SessionEvent;
  subscription: Pick<
    WebhookSubscriptionRecord,
    'id' | 'url' | 'secret' | 'previousSecret' | 'previousSecretExpiresAt'
  >;
}

export interface WebhookClaim {
  /** Unique per claim (node id + random): only this owner may complete what it claimed. */
  owner: string;
  /** Epoch ms on the worker's clock. */
  now: number;
  /** The lease: no other claim returns these deliveries before `now + leaseMs`. */
  leaseMs: number;
  limit: number;
}

/** What an attempt came to; applied only by the owner of a live claim. */
export type WebhookAttemptOutcome =
  | { state: 'delivered'; status: number }
  | { state: 'pending'; nextAttemptAt: number; status: number | null; error: string }
  | { state: 'failed'; status: number | null; error: string };

export interface WebhookCompletion {
  id: string;
  owner: string;
  /** When the attempt ended. */
  at: number;
  outcome: WebhookAttemptOutcome;
}

export interface WebhookDeliveryQuery {
  subscriptionId?: string;
  state?: WebhookDeliveryState;
  /** @default 100 */
  limit?: number;
}

export interface WebhookSecretRotation {
  secret: string;
  previousSecret: string;
  previousSecretExpiresAt: number;
}

/**
 * The outbox verbs of the store contract (optional: all of them or none). Every adapter that
 * has them also makes `appendEvent` write one pending delivery per enabled subscription of the
 * event's type **in the same atomic write as the event** (a transaction on SQL, the event's Lua
 * script on Redis), so an event is never recorded without its deliveries, even across a crash.
 */
export interface WebhookOutbox {
  /** Inserts a subscription; a taken id rejects with `store_conflict`. */
  createWebhookSubscription(subscription: WebhookSubscriptionRecord): Promise<void>;
  getWebhookSubscription(id: string): Promise<WebhookSubscriptionRecord | null>;
  /** Every subscription, oldest first. */
  listWebhookSubscriptions(): Promise<WebhookSubscriptionRecord[]>;
  /**
   * Disables (`at`, with a reason) or enables (`at` null) a subscription. Deliveries of a
   * disabled subscription stay in the outbox unclaimed. False when unknown or already so.
   */
  setWebhookSubscriptionDisabled(
    id: string,
    at: number | null,
    reason: WebhookDisabledReason | null,
  ): Promise<boolean>;
  /** Replaces the secrets. False when the subscription is unknown. */
  rotateWebhookSecret(id: string, rotation: WebhookSecretRotation): Promise<boolean>;
  /**
   * Leases up to `limit` pending deliveries due at `claim.now` (oldest first) of enabled
   * subscriptions to `claim.owner` until `now + leaseMs`. Atomic across nodes: of concurrent
   * claims, each delivery goes to one of them, and to no other until the lease ends.
   */
  claimWebhookDeliveries(claim: WebhookClaim): Promise<ClaimedWebhookDelivery[]>;
  /**
   * Records an attempt: counts it, applies the outcome and ends the lease. Does nothing and
   * answers false unless `owner` still holds the delivery's lease (a node that lost it, for
   * example after a pause longer than the lease, must not overwrite the new holder's result).
   */
  completeWebhookDelivery(completion: WebhookCompletion): Promise<boolean>;
  /** Deliveries, newest first. */
  listWebhookDeliveries(query: WebhookDeliveryQuery): Promise<WebhookDeliveryRecord[]>;
}

/** The names of the outbox verbs (for wrappers such as `guardStore`). */
export const WEBHOOK_VERBS = [
  'createWebhookSubscription',
  'getWebhookSubscription',
  'listWebhookSubscriptions',
  'setWebhookSubscriptionDisabled',
  'rotateWebhookSecret',
  'claimWebhookDeliveries',
  'completeWebhookDelivery',
  'listWebhookDeliveries',
] as const satisfies readonly (keyof WebhookOutbox)[];

/** True when the store has the outbox verbs. */
export function supportsWebhooks<T extends object>(store: T): store is T & WebhookOutbox {
  return WEBHOOK_VERBS.every(
    (name) => typeof (store as Record<string, unknown>)[name] === 'function',
  );
}

/** The `webhook-id` of an event's delivery to a subscription. */
export function webhookDeliveryId(subscriptionId: string, eventId: string): string {
  return `msg_${subscriptionId}_${eventId}`;
}

/** The pending delivery `appendEvent` writes for a subscription (adapters build the same row). */
export function newWebhookDelivery(
  subscriptionId: string,
  event: SessionEvent,
): WebhookDeliveryRecord {
  return {
    id: webhookDeliveryId(subscriptionId, event.id),
    subscriptionId,
    eventId: event.id,
    eventType: event.type,
    state: 'pending',
    createdAt: event.at,
    attempts: 0,
    nextAttemptAt: event.at,
    lastAttemptAt: null,
    lastStatus: null,
    lastError: null,
    deliveredAt: null,
  };
}

/**
 * The JSON body of a delivery, in the Standard Webhooks shape (`type`, `timestamp`, `data`).
 * Never carries a token: events never hold one.
 */
export function webhookPayload(event: SessionEvent): {
  type: SessionEventType;
  timestamp: string;
  data: Record<string, unknown>;
} {
  return {
    type: event.type,
    timestamp: new Date(event.at).toISOString(),
    // The event's details first, so that none of them can shadow the fields every event has.
    data: {
      ...event.data,
      event_id: event.id,
      session_id: event.sessionId,
      user_id: event.userId,
      reason: event.reason,
      device_id: event.deviceId,
      ip: event.ip,
      at: event.at,
    },
  };
}

/** Longest accepted subscription URL and description. */
export const WEBHOOK_URL_MAX_LENGTH = 2048;
export const WEBHOOK_DESCRIPTION_MAX_LENGTH = 200;

/** What is wrong with a subscription URL, or null when it is acceptable. */
export function webhookUrlProblem(url: string): string | null {
  if (url.length > WEBHOOK_URL_MAX_LENGTH) {
    return `url is longer than ${WEBHOOK_URL_MAX_LENGTH} characters`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'url is not an absolute URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return 'url must be http:// or https://';
  }
  // Credentials in a URL end up in logs and listings; the signature authenticates the sender.
  if (parsed.username !== '' || parsed.password !== '') return 'url must not carry credentials';
  if (parsed.hash !== '') return 'url must not have a #fragment';
  return null;
}

/** What is wrong with a list of event types, or null. */
export function webhookEventTypesProblem(types: readonly string[]): string | null {
  if (types.length === 0) return 'events must name at least one event type';
  for (const type of types) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      return `events: unknown event type "${type}" (known: ${EVENT_TYPES.join(', ')})`;
    }
  }
  if (new Set(types).size !== types.length) return 'events must not repeat an event type';
  return null;
}

export interface NewWebhookSubscriptionInput {
  url: string;
  eventTypes: readonly string[];
  description?: string | null;
}

/**
 * Checks the input and builds a subscription with a fresh id and secret. Throws
 * `invalid_argument` naming the problem.
 *
 * @example
 * const sub = newWebhookSubscription({ url: 'https://app.example/hooks', eventTypes: ['session.refresh_reuse'] }, Date.now());
 * await store.createWebhookSubscription(sub); // show sub.secret once
 */
export function newWebhookSubscription(
  input: NewWebhookSubscriptionInput,
  now: number,
): WebhookSubscriptionRecord {
  const problem =
    webhookUrlProblem(input.url) ??
    webhookEventTypesProblem(input.eventTypes) ??
    descriptionProblem(input.description ?? null);
  if (problem) throw new TesseraError('invalid_argument', problem);
  return {
    id: generateId(),
    url: input.url,
    eventTypes: [...input.eventTypes] as SessionEventType[],
    description: input.description ?? null,
    secret: generateWebhookSecret(),
    previousSecret: null,
    previousSecretExpiresAt: null,
    createdAt: now,
    disabledAt: null,
    disabledReason: null,
  };
}

function descriptionProblem(description: string | null): string | null {
  if (description === null) return null;
  if (description.length > WEBHOOK_DESCRIPTION_MAX_LENGTH) {
    return `description is longer than ${WEBHOOK_DESCRIPTION_MAX_LENGTH} characters`;
  }
  if (/[\u0000-\u001f\u007f]/.test(description)) return 'description has control characters';
  return null;
}

/** Default overlap of the old secret after a rotation: 24 hours. */
export const DEFAULT_SECRET_OVERLAP_SECONDS = 24 * 60 * 60;
/** Longest accepted overlap: 7 days. */
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 24 * 60 * 60;

/**
 * Rotates a subscription's secret: the new one signs from now on, and the current one keeps
 * signing too for `overlapSeconds`, so receivers can switch without dropping a delivery.
 * Answers the new secret (show it once), or null when the subscription is unknown.
 */
export async function rotateSubscriptionSecret(
  store: WebhookOutbox,
  id: string,
  now: number,
  overlapSeconds = DEFAULT_SECRET_OVERLAP_SECONDS,
): Promise<string | null> {
  if (
    !Number.isInteger(overlapSeconds) ||
    overlapSeconds < 0 ||
    overlapSeconds > MAX_SECRET_OVERLAP_SECONDS
  ) {
    throw new TesseraError(
      'invalid_argument',
      `overlap_seconds must be a whole number from 0 to ${MAX_SECRET_OVERLAP_SECONDS}`,
    );
  }
  const current = await store.getWebhookSubscription(id);
  if (!current) return null;
  const secret = generateWebhookSecret();
  const rotated = await store.rotateWebhookSecret(id, {
    secret,
    previousSecret: current.secret,
    previousSecretExpiresAt: now + overlapSeconds * 1000,
  });
  return rotated ? secret : null;
}

/** A subscription as lists and the admin API show it: never a secret. */
export function publicSubscription(subscription: WebhookSubscriptionRecord) {
  return {
    id: subscription.id,
    url: subscription.url,
    events: subscription.eventTypes,
    description: subscription.description,
    created_at: new Date(subscription.createdAt).toISOString(),
    disabled_at:
      subscription.disabledAt === null ? null : new Date(subscription.disabledAt).toISOString(),
    disabled_reason: subscription.disabledReason,
    previous_secret_expires_at:
      subscription.previousSecretExpiresAt === null
        ? null
        : new Date(subscription.previousSecretExpiresAt).toISOString(),
  };
}

/** A delivery as lists and the admin API show it. */
export function publicDelivery(delivery: WebhookDeliveryRecord) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: delivery.id,
    subscription_id: delivery.subscriptionId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    state: delivery.state,
    attempts: delivery.attempts,
    created_at: iso(delivery.createdAt),
    next_attempt_at: iso(delivery.nextAttemptAt),
    last_attempt_at: iso(delivery.lastAttemptAt),
    last_status: delivery.lastStatus,
    last_error: delivery.lastError,
    delivered_at: iso(delivery.deliveredAt),
  };
}
