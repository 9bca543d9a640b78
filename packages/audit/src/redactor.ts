import { createHmac, randomBytes } from 'node:crypto';

/**
 * Keeps secrets out of every output. Each credential is identified by a salted fingerprint
 * (HMAC-SHA256 under a per-run random salt, first 12 hex characters): two findings about the same
 * token can be correlated within a report, but the fingerprint cannot be matched against a token
 * list from another run or looked up (ASVS 16.2.5).
 */
export interface Redactor {
  /** `fp:` + 12 hex characters for a secret. */
  fingerprint(secret: string): string;
  /** Remembers a secret (and its URL-encoded forms) so `redact` removes it. */
  register(secret: string): void;
  /** Replaces every registered secret in a text by its fingerprint. */
  redact(text: string): string;
  /** How many distinct secrets are registered. */
  readonly size: number;
}

/**
 * @example
 * const r = createRedactor();
 * r.register('tsa_abc…');
 * r.redact('token tsa_abc…') // 'token [fp:1f2e3d4c5b6a]'
 */
export function createRedactor(salt: Buffer = randomBytes(32)): Redactor {
  const secrets = new Map<string, string>();
  let ordered: [string, string][] = [];
  const fingerprint = (secret: string) =>
    `fp:${createHmac('sha256', salt).update(secret).digest('hex').slice(0, 12)}`;
  return {
    fingerprint,
    register(secret) {
      // Very short values (a 2-letter password) would shred ordinary words; they are still
      // never printed by the checks, which only ever show fingerprints.
      if (secret.length < 4) return;
      const label = `[${fingerprint(secret)}]`;
      const forms = [
        secret,
        encodeURIComponent(secret),
        encodeURIComponent(secret).replace(/%20/g, '+'),
      ];
      let added = false;
      for (const form of forms) {
        if (!secrets.has(form)) {
          secrets.set(form, label);
          added = true;
        }
      }
      // Longest first, so a token is replaced before any shorter secret inside it.
      if (added) ordered = [...secrets.entries()].sort((a, b) => b[0].length - a[0].length);
    },
    redact(text) {
      let out = text;
      for (const [secret, label] of ordered)
        if (out.includes(secret)) out = out.split(secret).join(label);
      return out;
    },
    get size() {
      return secrets.size;
    },
  };
}
