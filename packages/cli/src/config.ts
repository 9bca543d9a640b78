import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isTesseraError, type PolicyTier, resolvePolicies } from '@tessera/core';
import {
  CONFIG_FIELDS,
  CONFIG_GROUPS,
  type ConfigField,
  envNameOf,
  type LOG_LEVELS,
} from './config-fields.js';
import { describeError, errorCode, usageError } from './errors.js';
import { parseStoreUrl, type StoreLocation } from './store-url.js';

/** The resolved configuration of one `tessera` process (camelCase, validated). */
export interface TesseraConfig {
  store: StoreLocation;
  /** The store URL as configured (may hold a password: print it with `redactStoreUrl`). */
  storeUrl: string;
  host: string;
  port: number;
  defaultPolicy: string;
  /** Custom tiers only; the engine merges them over the built-in ones. */
  policies: Record<string, PolicyTier>;
  refreshGraceSeconds: number;
  maxSessionsPerUser: number;
  eventRetentionDays: number;
  touchIntervalSeconds: number;
  rateLimit: { enabled: boolean; tokenPerMinute: number; revokePerMinute: number };
  tls: { certFile: string; keyFile: string } | null;
  /** true, or comma-separated proxy addresses/CIDRs (Fastify `trustProxy`). */
  trustProxy: boolean | string;
  bodyLimitBytes: number;
  logLevel: (typeof LOG_LEVELS)[number];
  purgeIntervalSeconds: number;
  /**
   * The engine's node-local cache of validated sessions (`createTessera({ cache })`), or false.
   * On by default on every store: it is exact on each of them (see `loadConfig`).
   */
  cache: { maxAgeMs: number; leaseMs: number } | false;
  migrateOnStart: boolean;
  /** The service's public URL, for DPoP `htu` checks; undefined: rebuilt from each request. */
  publicUrl: string | undefined;
  dpop: { maxAgeSeconds: number; nonceSecret: string | undefined };
  /** The operator console at /console. */
  console: { enabled: boolean; signInPerMinute: number };
  /** Webhook delivery by this node (`createWebhookWorker`), or false. */
  webhooks:
    | {
        pollIntervalMs: number;
        timeoutMs: number;
        leaseMs: number;
        retryWindowMs: number;
        backoffBaseMs: number;
        backoffCapMs: number;
        batchSize: number;
      }
    | false;
}

/** Values from command-line flags, by JSON path: strings as typed, booleans for switches. */
export type ConfigFlags = Partial<Record<string, string | boolean>>;

export interface LoadConfigOptions {
  /** `--config FILE`, else `TESSERA_CONFIG`. */
  configFile?: string | undefined;
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Keyed by JSON path, for example `{ port: '0', store: 'sqlite:/tmp/t.db' }`. */
  flags?: ConfigFlags;
}

/** Where a value came from, for messages: what the user has to go and fix. */
interface Origin {
  /** The field as named in that source (`port`, `TESSERA_PORT`, `--port`). */
  name: string;
  /** Appended to the name: ` in ./tessera.json`, or empty. */
  where: string;
  /** True when the raw value is text that still has to be parsed (env, flags). */
  text: boolean;
}

interface Setting {
  value: unknown;
  origin: Origin;
}

const POLICY_KEYS = {
  idle_timeout_seconds: 'idleTimeoutSeconds',
  absolute_timeout_seconds: 'absoluteTimeoutSeconds',
  access_token_ttl_seconds: 'accessTokenTtlSeconds',
} as const;

/**
 * Merges defaults < config file < `TESSERA_*` environment < flags, field by field, and
 * validates the result. Every refusal is a `CliError` (exit code 2) whose message names the
 * field and where it came from.
 *
 * @example
 * const config = loadConfig({ configFile: './tessera.json', env: process.env, flags: { port: '0' } });
 */
export function loadConfig(options: LoadConfigOptions = {}): TesseraConfig {
  const { env = process.env, flags = {} } = options;
  const configFile = options.configFile ?? nonEmpty(env['TESSERA_CONFIG']);
  const settings = new Map<string, Setting>();

  for (const field of CONFIG_FIELDS) {
    if (field.defaultValue !== undefined) {
      settings.set(field.path, {
        value: field.defaultValue,
        origin: { name: field.path, where: ' (default)', text: false },
      });
    }
  }
  if (configFile !== undefined) {
    for (const [path, value] of readConfigFile(configFile)) {
      settings.set(path, {
        value,
        origin: { name: path, where: ` in ${configFile}`, text: false },
      });
    }
  }
  for (const field of CONFIG_FIELDS) {
    const name = envNameOf(field.path);
    // An empty variable counts as unset, as container tooling often exports `X=` for "none".
    const value = nonEmpty(env[name]);
    if (value !== undefined)
      settings.set(field.path, { value, origin: { name, where: '', text: true } });
  }
  for (const [path, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const flag = `--${path.replaceAll('_', '-')}`;
    settings.set(path, {
      value,
      origin: { name: flag, where: '', text: typeof value === 'string' },
    });
  }

  const get = (path: string) => settings.get(path);
  const field = (path: string) => CONFIG_FIELDS.find((f) => f.path === path) as ConfigField;
  const read = (path: string): unknown => {
    const setting = get(path);
    return setting === undefined ? undefined : coerce(field(path), setting);
  };

  const storeSetting = get('store') as Setting;
  const storeUrl = read('store') as string;
  const store = parseStoreUrl(storeUrl, label(storeSetting.origin));

  const policiesSetting = get('policies') as Setting;
  const policies = read('policies') as Record<string, PolicyTier>;
  let known: string[];
  try {
    known = [...resolvePolicies(policies).keys()];
  } catch (error) {
    // The engine's message already names the field (`policies.kiosk.idle_timeout_seconds …`).
    if (isTesseraError(error, 'invalid_config')) {
      throw usageError(`${error.message} (${sourceOf(policiesSetting.origin)})`);
    }
    throw error;
  }
  const defaultPolicy = read('default_policy') as string;
  if (!known.includes(defaultPolicy)) {
    throw usageError(
      `${label((get('default_policy') as Setting).origin)}: "${defaultPolicy}" is not a policy (known: ${known.join(', ')}) — name a built-in tier or one defined under policies`,
    );
  }

  // A lease shorter than three receiver timeouts could lapse while a node still waits for an
  // answer, and a second node would send the same delivery at the same time.
  if ((read('webhooks.timeout_ms') as number) * 3 > (read('webhooks.lease_ms') as number)) {
    throw usageError(
      `webhooks.timeout_ms (${read('webhooks.timeout_ms')}) must be at most a third of webhooks.lease_ms (${read('webhooks.lease_ms')})`,
    );
  }

  const certFile = read('tls.cert_file') as string | undefined;
  const keyFile = read('tls.key_file') as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? 'tls.cert_file' : 'tls.key_file';
    throw usageError(
      `${missing} is missing: TLS needs both tls.cert_file and tls.key_file (or ${envNameOf('tls.cert_file')} and ${envNameOf('tls.key_file')})`,
    );
  }

  const rateLimit: TesseraConfig['rateLimit'] = {
    enabled: read('rate_limit.enabled') as boolean,
    tokenPerMinute: read('rate_limit.token_per_minute') as number,
    revokePerMinute: read('rate_limit.revoke_per_minute') as number,
  };

  return {
    store,
    storeUrl,
    host: read('host') as string,
    port: read('port') as number,
    defaultPolicy,
    policies,
    refreshGraceSeconds: read('refresh_grace_seconds') as number,
    maxSessionsPerUser: read('max_sessions_per_user') as number,
    eventRetentionDays: read('event_retention_days') as number,
    touchIntervalSeconds: read('touch_interval_seconds') as number,
    rateLimit,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : null,
    trustProxy: read('trust_proxy') as boolean | string,
    bodyLimitBytes: read('body_limit_bytes') as number,
    logLevel: read('log_level') as TesseraConfig['logLevel'],
    purgeIntervalSeconds: read('purge_interval_seconds') as number,
    // Exact on every store, so on unless turned off: SQLite asks PRAGMA data_version before
    // every cached answer; on Redis and PostgreSQL an end or rotation returns only once every
    // node holding a lease dropped the session, or its lease ran out (@tessera/core node-lease).
    cache: (read('cache.enabled') as boolean)
      ? { maxAgeMs: read('cache.max_age_ms') as number, leaseMs: read('cache.lease_ms') as number }
      : (false as const),
    migrateOnStart: read('migrate_on_start') as boolean,
    publicUrl: read('public_url') as string | undefined,
    dpop: {
      maxAgeSeconds: read('dpop.max_age_seconds') as number,
      nonceSecret: read('dpop.nonce_secret') as string | undefined,
    },
    console: {
      enabled: read('console.enabled') as boolean,
      signInPerMinute: read('console.sign_in_per_minute') as number,
    },
    webhooks: (read('webhooks.enabled') as boolean)
      ? {
          pollIntervalMs: read('webhooks.poll_interval_ms') as number,
          timeoutMs: read('webhooks.timeout_ms') as number,
          leaseMs: read('webhooks.lease_ms') as number,
          retryWindowMs: (read('webhooks.retry_window_seconds') as number) * 1000,
          backoffBaseMs: read('webhooks.backoff_base_ms') as number,
          backoffCapMs: read('webhooks.backoff_cap_ms') as number,
          batchSize: read('webhooks.batch_size') as number,
        }
      : (false as const),
  };
}

/**
 * Reads the JSON config file into `path → value` pairs, refusing unknown keys by name (a typo
 * such as `idle_timout_seconds` must not silently leave a default in force).
 */
function readConfigFile(file: string): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(
      `cannot open config file ${file}: ${errorCode(error) ?? describeError(error)} — pass an existing file with --config`,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usageError(
      `config file ${file} is not valid JSON: ${describeError(error)} — fix its syntax`,
      {
        cause: error,
      },
    );
  }
  if (!isPlainObject(parsed)) {
    throw usageError(`config file ${file} must hold one JSON object, like {"port": 8787}`);
  }
  const out = new Map<string, unknown>();
  const leaves = new Set(CONFIG_FIELDS.map((field) => field.path));
  const unknownKey = (key: string, known: string[]) =>
    usageError(`unknown key "${key}" in config file ${file} — known keys: ${known.join(', ')}`);
  const topKnown = [...new Set(CONFIG_FIELDS.map((field) => field.path.split('.')[0] as string))];
  for (const [key, value] of Object.entries(parsed)) {
    if (CONFIG_GROUPS.includes(key)) {
      if (!isPlainObject(value)) {
        throw usageError(`${key} in ${file} must be an object, like "${key}": {…}`);
      }
      const groupKnown = CONFIG_FIELDS.filter((f) => f.path.startsWith(`${key}.`)).map(
        (f) => f.path,
      );
      for (const [inner, innerValue] of Object.entries(value)) {
        const path = `${key}.${inner}`;
        if (!leaves.has(path)) throw unknownKey(path, groupKnown);
        out.set(path, innerValue);
      }
    } else if (leaves.has(key)) {
      out.set(key, value);
    } else {
      throw unknownKey(key, topKnown);
    }
  }
  return out;
}

/** Checks one value against its field's kind, parsing text from the environment or flags. */
function coerce(field: ConfigField, { value, origin }: Setting): unknown {
  const name = label(origin);
  const got = JSON.stringify(value);
  const { kind } = field;
  switch (kind.type) {
    case 'string':
    case 'store': {
      if (typeof value !== 'string' || value.trim().length === 0) {
        throw usageError(`${name} must be a non-empty string (got ${got})`);
      }
      return value;
    }
    case 'integer': {
      const number =
        origin.text && typeof value === 'string' && /^-?\d+$/.test(value.trim())
          ? Number(value.trim())
          : value;
      if (
        typeof number !== 'number' ||
        !Number.isInteger(number) ||
        number < kind.min ||
        number > kind.max
      ) {
        throw usageError(
          `${name} must be a whole number from ${kind.min} to ${kind.max} (got ${got})`,
        );
      }
      return number;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (origin.text && typeof value === 'string') {
        const parsed = parseBoolean(value);
        if (parsed !== undefined) return parsed;
      }
      throw usageError(`${name} must be true or false (got ${got})`);
    }
    case 'enum': {
      if (typeof value !== 'string' || !kind.values.includes(value)) {
        throw usageError(`${name} must be one of ${kind.values.join(', ')} (got ${got})`);
      }
      return value;
    }
    case 'trust_proxy': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        const asBoolean = origin.text ? parseBoolean(value) : undefined;
        if (asBoolean !== undefined) return asBoolean;
        const entries = value.split(',').map((entry) => entry.trim());
        if (entries.length > 0 && entries.every(isProxyAddress)) return entries.join(',');
      }
      // A hop count is refused on purpose: Fastify cannot check the immediate peer with one,
      // so it trusts nothing, which would silently differ from what the operator meant.
      throw usageError(
        `${name} must be true, false, or comma-separated proxy addresses or CIDRs such as "10.0.0.0/8,127.0.0.1" (got ${got})`,
      );
    }
    case 'policies': {
      let policies = value;
      if (origin.text && typeof value === 'string') {
        try {
          policies = JSON.parse(value);
        } catch (error) {
          throw usageError(
            `${name} is not valid JSON: ${describeError(error)} — give an object like {"kiosk": {"idle_timeout_seconds": 120, …}}`,
          );
        }
      }
      return toPolicies(policies, origin);
    }
  }
}

function toPolicies(value: unknown, origin: Origin): Record<string, PolicyTier> {
  if (!isPlainObject(value)) {
    throw usageError(
      `${label(origin)} must be an object of policies, like {"kiosk": {"idle_timeout_seconds": 120, "absolute_timeout_seconds": 3600, "access_token_ttl_seconds": 60}}`,
    );
  }
  const out: Record<string, PolicyTier> = {};
  for (const [name, tier] of Object.entries(value)) {
    if (!isPlainObject(tier)) {
      throw usageError(`policies.${name} must be an object (${sourceOf(origin)})`);
    }
    const converted: Partial<Record<keyof PolicyTier, unknown>> = {};
    for (const [key, tierValue] of Object.entries(tier)) {
      const target = POLICY_KEYS[key as keyof typeof POLICY_KEYS];
      if (target === undefined) {
        throw usageError(
          `unknown key "policies.${name}.${key}" (${sourceOf(origin)}) — a policy has ${Object.keys(POLICY_KEYS).join(', ')}`,
        );
      }
      converted[target] = tierValue;
    }
    // Types are checked by resolvePolicies, whose messages name the snake_case field.
    out[name] = converted as PolicyTier;
  }
  return out;
}

/** An IP, an IP/prefix, or one of proxy-addr's names (`loopback`, `linklocal`, `uniquelocal`). */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined || isIP(address) === 0) return false;
  if (prefix === undefined) return true;
  const max = isIP(address) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= max;
}

function parseBoolean(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  return undefined;
}

function label(origin: Origin): string {
  return `${origin.name}${origin.where}`;
}

function sourceOf(origin: Origin): string {
  if (origin.where.startsWith(' in ')) return `from config file ${origin.where.slice(4)}`;
  if (origin.where === ' (default)') return 'default';
  return `from ${origin.name}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value;
}
