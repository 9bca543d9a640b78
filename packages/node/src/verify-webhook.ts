import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a webhook was refused. Codes are API; messages may change. */
export type WebhookVerificationCode =
  /** A `webhook-id`, `webhook-timestamp` or `webhook-signature` header is absent or empty. */
  | 'missing_headers'
  /** `webhook-timestamp` is not whole seconds since the epoch. */
  | 'invalid_timestamp'
  /** Signed longer ago than the tolerance: a replay of an old message, or a far-off clock. */
  | 'timestamp_too_old'
  /** Signed further in the future than the tolerance. */
  | 'timestamp_too_new'
  /** No `v1` signature matches any of the secrets: forged, altered, or a wrong secret. */
  | 'invalid_signature'
  /**
   * Signature good, but this `webhook-id` was already accepted within the tolerance: Tessera
   * retries a delivery with the same id until it gets a 2xx, so this is normally a duplicate
   * of a message you already handled. Answer 2xx without handling it again.
   */
  | 'replayed'
  /** The body is not the raw bytes of a JSON object (a parsed body cannot be verified). */
  | 'invalid_body';

/** Thrown by `verifyWebhook`; `code` says why. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  readonly code: WebhookVerificationCode;

  constructor(code: WebhookVerificationCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Remembers accepted webhook ids (for example in Redis with `SET id 1 NX PX ttl`). */
export interface WebhookReplayCache {
  /**
   * Remembers `id` until `expiresAtMs` and answers true, or answers false when it is already
   * remembered (a replay). Must be atomic when several receivers share it.
   */
  remember(id: string, expiresAtMs: number): boolean | Promise<boolean>;
}

/** The request as any Node framework has it: headers and the raw body. */
export interface WebhookRequest {
  /** `Headers` (Fetch, Hono), or a record (node:http, Express, Fastify). */
  headers: Headers | Record<string, string | string[] | undefined>;
  /**
   * The raw body exactly as received: a Buffer/Uint8Array or its string. Not a parsed object:
   * re-serializing changes the bytes, and the signature is over the bytes.
   */
  body: Uint8Array | string;
}

export interface VerifyWebhookOptions {
  /** Largest accepted difference between `webhook-timestamp` and now. @default 300 */
  toleranceSeconds?: number;
  /** When given, an id accepted once is refused (`replayed`) for the tolerance window. */
  replayCache?: WebhookReplayCache;
  /** Epoch ms; for tests. @default Date.now */
  now?: () => number;
}

export interface VerifiedWebhook<T = WebhookPayload> {
  /** The `webhook-id`: the same for every retry of one event to one subscription. */
  id: string;
  /** The signing time (`webhook-timestamp`), epoch seconds. */
  timestamp: number;
  payload: T;
}

/** What Tessera sends (Standard Webhooks shape). */
export interface WebhookPayload {
  type: string;
  /** ISO 8601: when the event happened. */
  timestamp: string;
  data: Record<string, unknown> & { event_id: string; session_id: string; user_id: string };
}

const SECRET_PREFIX = 'whsec_';

/**
 * Verifies a webhook per the Standard Webhooks specification: the HMAC-SHA256 of
 * `<webhook-id>.<webhook-timestamp>.<body>` under one of `secrets` must match one of the `v1`
 * signatures in `webhook-signature` (compared in constant time), and the timestamp must be
 * within `toleranceSeconds` of now. Give both secrets while you rotate. With a `replayCache`,
 * an id is accepted once per tolerance window. Answers the parsed payload, or throws a
 * `WebhookVerificationError`.
 *
 * @example
 * // Express: the raw body, not express.json()
 * app.post('/hooks/tessera', express.raw({ type: 'application/json' }), async (req, res) => {
 *   try {
 *     const { payload } = await verifyWebhook(req, process.env.TESSERA_WEBHOOK_SECRET!, { replayCache });
 *     if (payload.type === 'session.refresh_reuse') await warnUser(payload.data.user_id);
 *     res.sendStatus(204);
 *   } catch (error) {
 *     if (error instanceof WebhookVerificationError && error.code === 'replayed') return res.sendStatus(204);
 *     res.sendStatus(400);
 *   }
 * });
 */
export async function verifyWebhook<T = WebhookPayload>(
  request: WebhookRequest,
  secret: string | readonly string[],
  options: VerifyWebhookOptions = {},
): Promise<VerifiedWebhook<T>> {
  const { toleranceSeconds = 300, replayCache, now = Date.now } = options;
  const keys = (typeof secret === 'string' ? [secret] : secret).map(secretKey);
  if (keys.length === 0) throw new TypeError('verifyWebhook: give at least one secret');

  const id = header(request.headers, 'webhook-id');
  const stamp = header(request.headers, 'webhook-timestamp');
  const signatures = header(request.headers, 'webhook-signature');
  if (!id || !stamp || !signatures) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature are all required',
    );
  }
  if (!/^\d{1,15}$/.test(stamp)) {
    throw new WebhookVerificationError(
      'invalid_timestamp',
      'webhook-timestamp is not epoch seconds',
    );
  }
  const timestamp = Number(stamp);
  const nowSeconds = Math.floor(now() / 1000);
  if (timestamp < nowSeconds - toleranceSeconds) {
    throw new WebhookVerificationError(
      'timestamp_too_old',
      'the message is older than the tolerance',
    );
  }
  if (timestamp > nowSeconds + toleranceSeconds) {
    throw new WebhookVerificationError('timestamp_too_new', 'the message is from the future');
  }
  if (typeof request.body !== 'string' && !(request.body instanceof Uint8Array)) {
    throw new WebhookVerificationError(
      'invalid_body',
      'pass the raw body (Buffer or string), not a parsed object: the signature is over the bytes',
    );
  }
  const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;

  const presented = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  let matched = false;
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(`${id}.${stamp}.`).update(body).digest();
    for (const candidate of presented) {
      // Constant-time: a byte-by-byte compare that stops early would tell an attacker how
      // much of a guessed signature is right. Lengths are public (always 32 bytes).
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
        matched = true;
      }
    }
  }
  if (!matched) {
    throw new WebhookVerificationError('invalid_signature', 'no signature matches the secret');
  }

  let payload: T;
  try {
    payload = JSON.parse(Buffer.from(body).toString('utf8')) as T;
  } catch {
    throw new WebhookVerificationError('invalid_body', 'the body is not JSON');
  }
  // Only after the signature matched, so forged messages cannot fill the cache or block an id.
  if (replayCache) {
    const fresh = await replayCache.remember(id, (nowSeconds + toleranceSeconds + 1) * 1000);
    if (!fresh) {
      throw new WebhookVerificationError('replayed', `webhook-id ${id} was already accepted`);
    }
  }
  return { id, timestamp, payload };
}

/**
 * A replay cache in this process's memory: enough for one receiver process; share one (Redis
 * `SET NX PX`) between several. Expired ids are dropped as new ones arrive.
 *
 * @example
 * const replayCache = createMemoryReplayCache();
 */
export function createMemoryReplayCache(
  options: { maxEntries?: number; now?: () => number } = {},
): WebhookReplayCache {
  const { maxEntries = 100_000, now = Date.now } = options;
  const seen = new Map<string, number>();
  return {
    remember(id, expiresAtMs) {
      const at = now();
      const known = seen.get(id);
      if (known !== undefined && known > at) return false;
      // Insertion order is expiry order within one tolerance, so the oldest go first.
      for (const [oldId, expiry] of seen) {
        if (expiry > at && seen.size < maxEntries) break;
        seen.delete(oldId);
      }
      seen.set(id, expiresAtMs);
      return true;
    },
  };
}

function secretKey(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) {
    throw new TypeError('verifyWebhook: a secret is "whsec_" followed by base64');
  }
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length < 16) throw new TypeError('verifyWebhook: the secret is too short');
  return key;
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const value =
    typeof (headers as Headers).get === 'function'
      ? ((headers as Headers).get(name) ?? undefined)
      : (headers as Record<string, string | string[] | undefined>)[name];
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined || one === '' ? undefined : one;
}
