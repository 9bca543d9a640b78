import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type Clock, systemClock } from './clock.js';
import { TesseraError } from './errors.js';
import {
  type ClaimedWebhookDelivery,
  type WebhookAttemptOutcome,
  type WebhookOutbox,
  webhookPayload,
} from './webhooks.js';
import { webhookHeaders } from './webhooks-signing.js';

export interface WebhookWorkerOptions {
  store: WebhookOutbox;
  /** Names this node in leases (with a random suffix per claim). */
  nodeId: string;
  /** @default systemClock */
  clock?: Clock;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How often an idle worker looks for due deliveries. @default 500 */
  pollIntervalMs?: number;
  /** How long a claim keeps other nodes off a delivery. @default 60000 */
  leaseMs?: number;
  /** Longest wait for a receiver's answer; at most a third of `leaseMs`. @default 10000 */
  timeoutMs?: number;
  /** Deliveries claimed and sent at once per round. @default 20 */
  batchSize?: number;
  /** Retries go on until this long after the event, then the delivery is failed. @default 86400000 (24 h) */
  retryWindowMs?: number;
  /** The first retry's ceiling; each retry doubles it. @default 5000 */
  backoffBaseMs?: number;
  /** The ceiling never grows past this. @default 7200000 (2 h) */
  backoffCapMs?: number;
  /** Source of the jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Told about each attempt (for logs and metrics). */
  onAttempt?(claimed: ClaimedWebhookDelivery, outcome: WebhookAttemptOutcome): void;
  /** Told when a round fails (store down): the worker keeps polling. */
  onError?(error: unknown): void;
}

export interface WebhookWorker {
  /** Starts polling. */
  start(): void;
  /** Stops polling and waits for the round in flight. */
  stop(): Promise<void>;
  /** One round: claims due deliveries, sends them, records the outcomes. Answers how many. */
  runOnce(): Promise<number>;
}

/** The largest body read back from a receiver (the rest is dropped unread). */
const RESPONSE_READ_LIMIT = 4096;

/**
 * Exponential backoff with full jitter (the delay is uniform in [0, min(cap, base·2^(n-1)))
 * after the n-th failure): retries of many deliveries that failed together spread out
 * instead of hitting a recovering receiver in waves.
 */
export function webhookBackoffMs(
  failures: number,
  baseMs: number,
  capMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(failures - 1, 40));
  return Math.floor(random() * ceiling);
}

/**
 * The delivery worker of one node. Each round claims due deliveries with a lease (so exactly
 * one node sends a delivery at a time, and another takes over when a node dies and its lease
 * ends), POSTs each one signed per Standard Webhooks, and records the outcome:
 * - 2xx: delivered;
 * - 410 Gone: the receiver says the endpoint is gone for good: the subscription is disabled
 *   (reason `gone`) and the delivery failed, rather than retrying for a day;
 * - anything else, a timeout or a network error: retried with backoff and full jitter until
 *   `retryWindowMs` after the event, then failed.
 * Redirects are not followed (a redirect is a failed attempt): a signed event only goes to the
 * URL an operator registered.
 *
 * @example
 * const worker = createWebhookWorker({ store, nodeId: 'node-a' });
 * worker.start();
 * process.on('SIGTERM', () => worker.stop());
 */
export function createWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  const {
    store,
    nodeId,
    clock = systemClock,
    fetch: send = globalThis.fetch,
    pollIntervalMs = 500,
    leaseMs = 60_000,
    timeoutMs = 10_000,
    batchSize = 20,
    retryWindowMs = 24 * 60 * 60_000,
    backoffBaseMs = 5_000,
    backoffCapMs = 2 * 60 * 60_000,
    random = Math.random,
  } = options;
  // The lease must outlast the attempt with room to spare, or a slow receiver would let a
  // second node claim and send the same delivery while the first still waits for an answer.
  if (timeoutMs * 3 > leaseMs) {
    throw new TesseraError('invalid_config', 'webhooks: timeout_ms must be at most lease_ms / 3');
  }
  let timer: NodeJS.Timeout | null = null;
  /** Rounds failed in a row (the store unreachable): polling slows down, up to 30 s. */
  let failures = 0;
  let running: Promise<unknown> | null = null;
  let stopped = true;

  async function attempt(claimed: ClaimedWebhookDelivery, claimedAt: number, owner: string) {
    const { delivery, event, subscription } = claimed;
    // A node frozen (SIGSTOP, a long GC pause) between the claim and now may have lost its
    // lease; sending then could overlap another node's attempt, so it gives the delivery back
    // by doing nothing: the lease ends and whoever claims next sends it.
    if (performance.now() - claimedAt > leaseMs - timeoutMs * 2) return;
    const now = clock.now();
    const body = JSON.stringify(webhookPayload(event));
    const secrets = [subscription.secret];
    if (
      subscription.previousSecret !== null &&
      subscription.previousSecretExpiresAt !== null &&
      subscription.previousSecretExpiresAt > now
    ) {
      secrets.push(subscription.previousSecret);
    }
    const headers = webhookHeaders(secrets, delivery.id, Math.floor(now / 1000), body);
    let status: number | null = null;
    let error = '';
    try {
      const response = await send(subscription.url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'Tessera' },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      await drain(response);
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (cause) {
      error = describeFailure(cause, timeoutMs);
    }
    const at = clock.now();
    let outcome: WebhookAttemptOutcome;
    if (status !== null && status >= 200 && status <= 299) {
      outcome = { state: 'delivered', status };
    } else if (status === 410) {
      outcome = { state: 'failed', status, error: 'HTTP 410 Gone: subscription disabled' };
    } else if (at >= delivery.createdAt + retryWindowMs) {
      outcome = { state: 'failed', status, error: `${error}; retry window spent` };
    } else {
      const delay = webhookBackoffMs(delivery.attempts + 1, backoffBaseMs, backoffCapMs, random);
      outcome = { state: 'pending', nextAttemptAt: at + delay, status, error };
    }
    const recorded = await store.completeWebhookDelivery({ id: delivery.id, owner, at, outcome });
    if (recorded && status === 410) {
      await store.setWebhookSubscriptionDisabled(subscription.id, at, 'gone');
    }
    if (recorded) options.onAttempt?.(claimed, outcome);
  }

  async function runOnce(): Promise<number> {
    const owner = `${nodeId}:${randomBytes(9).toString('base64url')}`;
    const claimedAt = performance.now();
    const claimed = await store.claimWebhookDeliveries({
      owner,
      now: clock.now(),
      leaseMs,
      limit: batchSize,
    });
    await Promise.all(
      claimed.map((one) =>
        attempt(one, claimedAt, owner).catch((error) => options.onError?.(error)),
      ),
    );
    return claimed.length;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = runOnce().then(
        (count) => {
          failures = 0;
          // A full batch means more may be due: go again at once.
          schedule(count >= batchSize ? 0 : pollIntervalMs);
        },
        (error) => {
          // Told once per failed round, but rounds slow down while the store is down, so an
          // outage does not flood the log or hammer a recovering store.
          failures += 1;
          options.onError?.(error);
          schedule(Math.min(pollIntervalMs * 2 ** Math.min(failures, 10), 30_000));
        },
      );
    }, delayMs);
    timer.unref?.();
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
    runOnce,
  };
}

async function drain(response: Response): Promise<void> {
  if (!response.body) return;
  const reader = response.body.getReader();
  let read = 0;
  try {
    while (read < RESPONSE_READ_LIMIT) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function describeFailure(cause: unknown, timeoutMs: number): string {
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
  const code = (inner as { code?: unknown })?.code;
  const message = inner instanceof Error ? inner.message : String(inner);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
