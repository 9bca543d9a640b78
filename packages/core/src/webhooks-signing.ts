import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
/** 256-bit HMAC keys, the size of the SHA-256 output (Standard Webhooks allows 24 to 64 bytes). */
const SECRET_BYTES = 32;

/**
 * A fresh signing secret from the OS CSPRNG, in the Standard Webhooks form `whsec_<base64>`,
 * which the `standardwebhooks` libraries of every language accept as is.
 *
 * @example
 * const secret = generateWebhookSecret(); // 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw…'
 */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The HMAC key of a `whsec_` secret (the base64 after the prefix). */
export function webhookSecretKey(secret: string): Buffer {
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(body, 'base64');
}

/** True when `secret` is `whsec_` + base64 of 24 to 64 bytes. */
export function isWebhookSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  const body = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return false;
  const length = Buffer.from(body, 'base64').length;
  return length >= 24 && length <= 64;
}

/**
 * The `v1,<base64>` signature of a message: HMAC-SHA256 of `<id>.<timestamp>.<body>` under the
 * secret's key (Standard Webhooks, "Signature scheme").
 */
export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  const hmac = createHmac('sha256', webhookSecretKey(secret));
  hmac.update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `v1,${hmac.digest('base64')}`;
}

/**
 * The three headers of a delivery. Every secret given signs (the new and the previous one
 * during a rotation's overlap): the `webhook-signature` header lists them separated by spaces,
 * and a receiver accepts the message when any one matches a secret it knows.
 */
export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets
      .map((secret) => signWebhook(secret, id, timestampSeconds, body))
      .join(' '),
  };
}
