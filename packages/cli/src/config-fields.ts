/**
 * Every configuration field, once. The JSON path is what users write in the config file; the
 * environment variable name is derived from it mechanically (`rate_limit.token_per_minute` →
 * `TESSERA_RATE_LIMIT_TOKEN_PER_MINUTE`), so the two can never drift apart.
 */
export type FieldKind =
  | { type: 'string' }
  | { type: 'store' }
  | { type: 'integer'; min: number; max: number }
  | { type: 'boolean' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'policies' }
  | { type: 'trust_proxy' };

export interface ConfigField {
  /** Dotted JSON path, for example `rate_limit.enabled`. */
  path: string;
  kind: FieldKind;
  /** Undefined: unset unless configured (the server's or the engine's default applies). */
  defaultValue: unknown;
  description: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const CONFIG_FIELDS: readonly ConfigField[] = [
  {
    path: 'store',
    kind: { type: 'store' },
    defaultValue: 'sqlite:./tessera.db',
    description: 'sqlite:PATH, redis://H:P, redis+cluster://H1:P1,H2:P2 or postgres://…',
  },
  {
    path: 'host',
    kind: { type: 'string' },
    defaultValue: '127.0.0.1',
    description: 'listen address',
  },
  {
    path: 'port',
    kind: { type: 'integer', min: 0, max: 65535 },
    defaultValue: 8787,
    description: 'listen port (0: any free port, printed at start)',
  },
  {
    path: 'default_policy',
    kind: { type: 'string' },
    defaultValue: 'medium',
    description: 'tier of a session created without `policy`',
  },
  {
    path: 'policies',
    kind: { type: 'policies' },
    defaultValue: {},
    description: 'custom tiers, merged over high, medium and low',
  },
  // The four ranges below are the engine's own (createTessera); checking them here as well lets
  // the message say which file or variable the bad value came from.
  {
    path: 'refresh_grace_seconds',
    kind: { type: 'integer', min: 0, max: 300 },
    defaultValue: 30,
    description: 'a rotated refresh token may be replayed this long for the same successor pair',
  },
  {
    path: 'max_sessions_per_user',
    kind: { type: 'integer', min: 1, max: 10_000 },
    defaultValue: 20,
    description: 'live sessions per user; one more ends the oldest',
  },
  {
    path: 'event_retention_days',
    kind: { type: 'integer', min: 1, max: 3650 },
    defaultValue: 90,
    description: 'events older than this are purged',
  },
  {
    path: 'touch_interval_seconds',
    kind: { type: 'integer', min: 0, max: 3600 },
    defaultValue: 60,
    description: 'at most one idle-deadline write per session per interval',
  },
  {
    path: 'rate_limit.enabled',
    kind: { type: 'boolean' },
    defaultValue: true,
    description: 'rate limits on /v1/token and /v1/revoke',
  },
  {
    path: 'rate_limit.token_per_minute',
    kind: { type: 'integer', min: 1, max: 1_000_000 },
    defaultValue: 300,
    description: 'POST /v1/token requests per client IP per minute',
  },
  {
    path: 'rate_limit.revoke_per_minute',
    kind: { type: 'integer', min: 1, max: 1_000_000 },
    defaultValue: 300,
    description: 'POST /v1/revoke requests per client IP per minute',
  },
  {
    path: 'tls.cert_file',
    kind: { type: 'string' },
    defaultValue: undefined,
    description: 'PEM certificate (chain); with tls.key_file, serves HTTPS with HSTS',
  },
  {
    path: 'tls.key_file',
    kind: { type: 'string' },
    defaultValue: undefined,
    description: 'PEM private key',
  },
  {
    path: 'trust_proxy',
    kind: { type: 'trust_proxy' },
    defaultValue: false,
    description:
      'true, or comma-separated proxy addresses/CIDRs whose X-Forwarded-For gives the client IP',
  },
  {
    path: 'body_limit_bytes',
    kind: { type: 'integer', min: 1024, max: 10 * 1024 * 1024 },
    defaultValue: 16_384,
    description: 'largest accepted request body',
  },
  {
    path: 'log_level',
    kind: { type: 'enum', values: LOG_LEVELS },
    defaultValue: 'info',
    description: 'pino level (tokens and keys are redacted at every level)',
  },
  {
    path: 'purge_interval_seconds',
    kind: { type: 'integer', min: 0, max: 86_400 },
    defaultValue: 300,
    description: 'how often expired sessions and old events are deleted (0: never)',
  },
  {
    path: 'cache.enabled',
    kind: { type: 'boolean' },
    defaultValue: true,
    description:
      'node-local cache of validated sessions, exact on every store: SQLite asks PRAGMA data_version before every cached answer; on Redis and PostgreSQL each caching node holds a lease and an end or rotation returns only once every node with a live lease dropped the session (or its lease ran out)',
  },
  {
    path: 'cache.max_age_ms',
    kind: { type: 'integer', min: 1, max: 60_000 },
    defaultValue: 1000,
    description: 'longest a cached session answers without a store read, even with the channel up',
  },
  {
    path: 'cache.lease_ms',
    kind: { type: 'integer', min: 100, max: 10_000 },
    defaultValue: 1000,
    description:
      'Redis and PostgreSQL: the node lease, renewed every third of it; the longest a frozen or cut-off node can delay an end elsewhere',
  },
  {
    path: 'public_url',
    kind: { type: 'string' },
    defaultValue: undefined,
    description:
      'the URL clients reach the service at (https://auth.example.com): DPoP proofs are checked against it (htu); set it behind a proxy; default: rebuilt from each request',
  },
  {
    path: 'dpop.max_age_seconds',
    kind: { type: 'integer', min: 1, max: 600 },
    defaultValue: 60,
    description: 'how old a DPoP proof (its iat) may be; each proof is usable once (jti)',
  },
  {
    path: 'dpop.nonce_secret',
    kind: { type: 'string' },
    defaultValue: undefined,
    description:
      'turns DPoP server nonces on (RFC 9449 §8): a secret of ≥ 32 bytes, the same on every node',
  },
  {
    path: 'console.enabled',
    kind: { type: 'boolean' },
    defaultValue: true,
    description: 'serve the operator console at /console (operators: `tessera operators`)',
  },
  {
    path: 'console.sign_in_per_minute',
    kind: { type: 'integer', min: 1, max: 1_000_000 },
    defaultValue: 20,
    description:
      'console sign-in attempts per client IP per minute (per node), besides the per-operator lock-out',
  },
  // Webhook delivery (README "Webhooks"); every node delivers, one at a time per delivery.
  {
    path: 'webhooks.enabled',
    kind: { type: 'boolean' },
    defaultValue: true,
    description: 'this node delivers webhooks from the outbox (claims leased deliveries)',
  },
  {
    path: 'webhooks.poll_interval_ms',
    kind: { type: 'integer', min: 10, max: 60_000 },
    defaultValue: 500,
    description: 'how often an idle node looks for due deliveries',
  },
  {
    path: 'webhooks.timeout_ms',
    kind: { type: 'integer', min: 100, max: 60_000 },
    defaultValue: 10_000,
    description: "longest wait for a receiver's answer (at most a third of webhooks.lease_ms)",
  },
  {
    path: 'webhooks.lease_ms',
    kind: { type: 'integer', min: 300, max: 600_000 },
    defaultValue: 60_000,
    description:
      "a claim keeps other nodes off a delivery this long (a dead node's deliveries move on after it)",
  },
  {
    path: 'webhooks.retry_window_seconds',
    kind: { type: 'integer', min: 1, max: 30 * 86_400 },
    defaultValue: 86_400,
    description: 'retries go on this long after the event, then the delivery is failed',
  },
  {
    path: 'webhooks.backoff_base_ms',
    kind: { type: 'integer', min: 1, max: 3_600_000 },
    defaultValue: 5000,
    description: 'ceiling of the first retry delay (doubles each retry; full jitter below it)',
  },
  {
    path: 'webhooks.backoff_cap_ms',
    kind: { type: 'integer', min: 1, max: 86_400_000 },
    defaultValue: 7_200_000,
    description: 'the retry delay ceiling never grows past this',
  },
  {
    path: 'webhooks.batch_size',
    kind: { type: 'integer', min: 1, max: 1000 },
    defaultValue: 20,
    description: 'deliveries a node claims and sends at once',
  },
  {
    path: 'migrate_on_start',
    kind: { type: 'boolean' },
    defaultValue: true,
    description: 'PostgreSQL: apply schema migrations at start (SQLite always does)',
  },
];

/** `rate_limit.token_per_minute` → `TESSERA_RATE_LIMIT_TOKEN_PER_MINUTE`. */
export function envNameOf(path: string): string {
  return `TESSERA_${path.replaceAll('.', '_').toUpperCase()}`;
}

/** Names of the config file's object-valued groups (`rate_limit`, `tls`). */
export const CONFIG_GROUPS: readonly string[] = [
  ...new Set(
    CONFIG_FIELDS.filter((field) => field.path.includes('.')).map(
      (field) => field.path.split('.')[0] as string,
    ),
  ),
];
