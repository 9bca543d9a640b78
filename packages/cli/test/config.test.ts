import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CliError, CONFIG_FIELDS, envNameOf, loadConfig } from 'tessera';

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function configFile(content: unknown): string {
  fileCount += 1;
  const file = join(dir, `config-${fileCount}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Asserts that loading fails with a usage error (exit code 2) whose message matches. */
function refuses(options: Parameters<typeof loadConfig>[0], message: RegExp): void {
  assert.throws(
    () => loadConfig(options),
    (error: unknown) => {
      assert.ok(error instanceof CliError, `expected a CliError, got ${String(error)}`);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, message);
      assert.ok(!error.message.includes('\n'), 'the message is one line');
      return true;
    },
  );
}

describe('configuration', () => {
  test('defaults apply when nothing is configured', () => {
    const config = loadConfig({ env: {} });
    assert.deepEqual(config.store, { kind: 'sqlite', path: './tessera.db' });
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8787);
    assert.equal(config.defaultPolicy, 'medium');
    assert.equal(config.refreshGraceSeconds, 30);
    assert.equal(config.maxSessionsPerUser, 20);
    assert.equal(config.eventRetentionDays, 90);
    assert.equal(config.touchIntervalSeconds, 60);
    assert.deepEqual(config.rateLimit, {
      enabled: true,
      tokenPerMinute: 300,
      revokePerMinute: 300,
    });
    assert.equal(config.tls, null);
    assert.equal(config.trustProxy, false);
    assert.equal(config.bodyLimitBytes, 16_384);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.purgeIntervalSeconds, 300);
    assert.deepEqual(config.cache, { maxAgeMs: 1000, leaseMs: 1000 });
    assert.equal(config.migrateOnStart, true);
  });

  test('flags win over the environment, which wins over the file, field by field', () => {
    const file = configFile({
      port: 1111,
      host: '0.0.0.0',
      refresh_grace_seconds: 5,
      rate_limit: { enabled: false, token_per_minute: 10, revoke_per_minute: 20 },
    });
    const config = loadConfig({
      configFile: file,
      env: { TESSERA_PORT: '2222', TESSERA_RATE_LIMIT_TOKEN_PER_MINUTE: '30', TESSERA_HOST: '' },
      flags: { port: '3333' },
    });
    assert.equal(config.port, 3333, 'flag over env and file');
    assert.equal(config.host, '0.0.0.0', 'an empty variable counts as unset');
    assert.equal(config.refreshGraceSeconds, 5, 'file over default');
    assert.deepEqual(config.rateLimit, { enabled: false, tokenPerMinute: 30, revokePerMinute: 20 });
  });

  test('TESSERA_CONFIG names the file when --config is absent', () => {
    const file = configFile({ max_sessions_per_user: 3 });
    assert.equal(loadConfig({ env: { TESSERA_CONFIG: file } }).maxSessionsPerUser, 3);
  });

  test('every field can come from an environment variable named after its JSON path', () => {
    const env = {
      TESSERA_STORE: 'postgres://app:pw@db:5432/app?schema=tess',
      TESSERA_HOST: '::1',
      TESSERA_PORT: '0',
      TESSERA_DEFAULT_POLICY: 'kiosk',
      TESSERA_POLICIES:
        '{"kiosk":{"idle_timeout_seconds":120,"absolute_timeout_seconds":3600,"access_token_ttl_seconds":60}}',
      TESSERA_REFRESH_GRACE_SECONDS: '0',
      TESSERA_MAX_SESSIONS_PER_USER: '5',
      TESSERA_EVENT_RETENTION_DAYS: '7',
      TESSERA_TOUCH_INTERVAL_SECONDS: '10',
      TESSERA_RATE_LIMIT_ENABLED: 'false',
      TESSERA_RATE_LIMIT_TOKEN_PER_MINUTE: '60',
      TESSERA_RATE_LIMIT_REVOKE_PER_MINUTE: '90',
      TESSERA_TLS_CERT_FILE: '/etc/tessera/cert.pem',
      TESSERA_TLS_KEY_FILE: '/etc/tessera/key.pem',
      TESSERA_TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      TESSERA_BODY_LIMIT_BYTES: '4096',
      TESSERA_LOG_LEVEL: 'debug',
      TESSERA_PURGE_INTERVAL_SECONDS: '0',
      TESSERA_CACHE_ENABLED: 'off',
      TESSERA_CACHE_MAX_AGE_MS: '250',
      TESSERA_CACHE_LEASE_MS: '500',
      TESSERA_MIGRATE_ON_START: 'no',
      TESSERA_PUBLIC_URL: 'https://auth.example.com',
      TESSERA_DPOP_MAX_AGE_SECONDS: '30',
      TESSERA_DPOP_NONCE_SECRET: 'n'.repeat(32),
      TESSERA_CONSOLE_ENABLED: 'false',
      TESSERA_CONSOLE_SIGN_IN_PER_MINUTE: '7',
      TESSERA_WEBHOOKS_ENABLED: 'true',
      TESSERA_WEBHOOKS_POLL_INTERVAL_MS: '20',
      TESSERA_WEBHOOKS_TIMEOUT_MS: '1000',
      TESSERA_WEBHOOKS_LEASE_MS: '3000',
      TESSERA_WEBHOOKS_RETRY_WINDOW_SECONDS: '60',
      TESSERA_WEBHOOKS_BACKOFF_BASE_MS: '10',
      TESSERA_WEBHOOKS_BACKOFF_CAP_MS: '40',
      TESSERA_WEBHOOKS_BATCH_SIZE: '7',
    };
    assert.deepEqual(
      Object.keys(env).sort(),
      CONFIG_FIELDS.map((field) => envNameOf(field.path)).sort(),
      'this test covers every field',
    );
    const config = loadConfig({ env });
    assert.deepEqual(config.store, {
      kind: 'postgres',
      url: 'postgres://app:pw@db:5432/app',
      schema: 'tess',
    });
    assert.equal(config.host, '::1');
    assert.equal(config.port, 0);
    assert.equal(config.defaultPolicy, 'kiosk');
    assert.deepEqual(config.policies, {
      kiosk: { idleTimeoutSeconds: 120, absoluteTimeoutSeconds: 3600, accessTokenTtlSeconds: 60 },
    });
    assert.equal(config.refreshGraceSeconds, 0);
    assert.equal(config.maxSessionsPerUser, 5);
    assert.equal(config.eventRetentionDays, 7);
    assert.equal(config.touchIntervalSeconds, 10);
    assert.deepEqual(config.rateLimit, { enabled: false, tokenPerMinute: 60, revokePerMinute: 90 });
    assert.deepEqual(config.tls, {
      certFile: '/etc/tessera/cert.pem',
      keyFile: '/etc/tessera/key.pem',
    });
    assert.equal(config.trustProxy, '10.0.0.0/8,127.0.0.1');
    assert.equal(config.bodyLimitBytes, 4096);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.purgeIntervalSeconds, 0);
    assert.equal(config.cache, false);
    assert.equal(config.migrateOnStart, false);
    assert.equal(config.publicUrl, 'https://auth.example.com');
    assert.deepEqual(config.dpop, { maxAgeSeconds: 30, nonceSecret: 'n'.repeat(32) });
    assert.deepEqual(config.console, { enabled: false, signInPerMinute: 7 });
    assert.deepEqual(config.webhooks, {
      pollIntervalMs: 20,
      timeoutMs: 1000,
      leaseMs: 3000,
      retryWindowMs: 60_000,
      backoffBaseMs: 10,
      backoffCapMs: 40,
      batchSize: 7,
    });
    assert.equal(loadConfig({ env: { TESSERA_WEBHOOKS_ENABLED: 'false' } }).webhooks, false);
    assert.throws(
      () =>
        loadConfig({
          env: { TESSERA_WEBHOOKS_TIMEOUT_MS: '1001', TESSERA_WEBHOOKS_LEASE_MS: '3000' },
        }),
      /webhooks\.timeout_ms \(1001\) must be at most a third of webhooks\.lease_ms \(3000\)/,
    );
  });

  test('the session cache is on by default on every store (issue 9), can be switched, and its age and lease are bounded', () => {
    for (const store of ['redis://127.0.0.1:6379', 'postgres://u@h/db', 'sqlite:./t.db']) {
      assert.deepEqual(loadConfig({ env: { TESSERA_STORE: store } }).cache, {
        maxAgeMs: 1000,
        leaseMs: 1000,
      });
    }
    assert.equal(
      loadConfig({
        env: { TESSERA_STORE: 'redis://127.0.0.1:6379', TESSERA_CACHE_ENABLED: 'false' },
      }).cache,
      false,
    );
    const file = configFile({ cache: { max_age_ms: 60_000, lease_ms: 250 } });
    assert.deepEqual(loadConfig({ configFile: file, env: {} }).cache, {
      maxAgeMs: 60_000,
      leaseMs: 250,
    });
    assert.deepEqual(
      loadConfig({ configFile: file, env: { TESSERA_CACHE_MAX_AGE_MS: '5' } }).cache,
      { maxAgeMs: 5, leaseMs: 250 },
      'the environment wins over the file, field by field',
    );
    assert.equal(
      loadConfig({ configFile: configFile({ cache: { enabled: false } }), env: {} }).cache,
      false,
    );
    refuses(
      { env: { TESSERA_CACHE_MAX_AGE_MS: '0' } },
      /^TESSERA_CACHE_MAX_AGE_MS must be a whole number from 1 to 60000 \(got "0"\)$/,
    );
    refuses(
      { configFile: configFile({ cache: { max_age_ms: 60_001 } }), env: {} },
      /^cache\.max_age_ms in .* must be a whole number from 1 to 60000/,
    );
    refuses(
      { env: { TESSERA_CACHE_LEASE_MS: '99' } },
      /^TESSERA_CACHE_LEASE_MS must be a whole number from 100 to 10000 \(got "99"\)$/,
    );
    refuses(
      { configFile: configFile({ cache: { max_entries: 10 } }), env: {} },
      /unknown key "cache\.max_entries".*cache\.enabled, cache\.max_age_ms/,
    );
    refuses(
      { env: { TESSERA_CACHE_ENABLED: 'maybe' } },
      /TESSERA_CACHE_ENABLED must be true or false/,
    );
  });

  test('trust_proxy takes true or a list of proxy addresses, never a hop count', () => {
    assert.equal(loadConfig({ env: { TESSERA_TRUST_PROXY: 'true' } }).trustProxy, true);
    assert.equal(
      loadConfig({ configFile: configFile({ trust_proxy: 'loopback, fd00::/8' }), env: {} })
        .trustProxy,
      'loopback,fd00::/8',
    );
    refuses(
      { env: { TESSERA_TRUST_PROXY: '2' } },
      /TESSERA_TRUST_PROXY must be true, false, or comma-separated proxy addresses/,
    );
    refuses(
      { configFile: configFile({ trust_proxy: 1 }), env: {} },
      /trust_proxy in .* must be true, false/,
    );
    refuses({ env: { TESSERA_TRUST_PROXY: '10.0.0.0/33' } }, /TESSERA_TRUST_PROXY must be/);
  });

  test('a custom policy from the file can be the default', () => {
    const file = configFile({
      default_policy: 'kiosk',
      policies: {
        kiosk: {
          idle_timeout_seconds: 2,
          absolute_timeout_seconds: 6,
          access_token_ttl_seconds: 2,
        },
      },
    });
    const config = loadConfig({ configFile: file, env: {} });
    assert.equal(config.defaultPolicy, 'kiosk');
    assert.equal(config.policies['kiosk']?.absoluteTimeoutSeconds, 6);
  });

  test('an unknown key is refused by name, at the top and inside a group', () => {
    refuses(
      { configFile: configFile({ prot: 80 }), env: {} },
      /unknown key "prot" in config file .*known keys: store, host, port/,
    );
    refuses(
      { configFile: configFile({ rate_limit: { token_per_min: 5 } }), env: {} },
      /unknown key "rate_limit.token_per_min".*rate_limit.token_per_minute/,
    );
    refuses(
      {
        configFile: configFile({
          policies: {
            kiosk: {
              idle_timout_seconds: 5,
              absolute_timeout_seconds: 6,
              access_token_ttl_seconds: 2,
            },
          },
        }),
        env: {},
      },
      /unknown key "policies.kiosk.idle_timout_seconds"/,
    );
  });

  test('a bad policy is refused with the engine message naming the field and its source', () => {
    const file = configFile({
      policies: {
        kiosk: {
          idle_timeout_seconds: 60,
          absolute_timeout_seconds: 60,
          access_token_ttl_seconds: 30,
        },
      },
    });
    refuses(
      { configFile: file, env: {} },
      /policies\.kiosk\.idle_timeout_seconds \(60\) must be less than absolute_timeout_seconds \(60\) \(from config file .*config-\d+\.json\)/,
    );
    refuses(
      {
        env: {
          TESSERA_POLICIES: '{"kiosk":{"idle_timeout_seconds":60,"absolute_timeout_seconds":600}}',
        },
      },
      /policies\.kiosk\.access_token_ttl_seconds is missing.*\(from TESSERA_POLICIES\)/,
    );
    refuses(
      {
        env: {
          TESSERA_POLICIES:
            '{"kiosk":{"idle_timeout_seconds":60,"absolute_timeout_seconds":600,"access_token_ttl_seconds":120}}',
        },
      },
      /policies\.kiosk\.access_token_ttl_seconds \(120\) must not be longer than idle_timeout_seconds/,
    );
    refuses({ env: { TESSERA_POLICIES: '{kiosk' } }, /TESSERA_POLICIES is not valid JSON/);
  });

  test('an unknown default policy is refused with the known ones', () => {
    refuses(
      { env: { TESSERA_DEFAULT_POLICY: 'ultra' } },
      /TESSERA_DEFAULT_POLICY: "ultra" is not a policy \(known: high, medium, low\)/,
    );
  });

  test('bad values name the field as written in their source', () => {
    refuses(
      { env: { TESSERA_PORT: 'http' } },
      /^TESSERA_PORT must be a whole number from 0 to 65535 \(got "http"\)$/,
    );
    refuses(
      { env: {}, flags: { port: '70000' } },
      /^--port must be a whole number from 0 to 65535/,
    );
    refuses(
      { configFile: configFile({ refresh_grace_seconds: 301 }), env: {} },
      /^refresh_grace_seconds in .*config-\d+\.json must be a whole number from 0 to 300 \(got 301\)$/,
    );
    refuses(
      { configFile: configFile({ port: '8080' }), env: {} },
      /port in .* must be a whole number .*\(got "8080"\)/,
      // A file has types: a quoted number is a mistake there, unlike in the environment.
    );
    refuses(
      { env: { TESSERA_RATE_LIMIT_ENABLED: 'sometimes' } },
      /TESSERA_RATE_LIMIT_ENABLED must be true or false/,
    );
    refuses(
      { env: { TESSERA_LOG_LEVEL: 'loud' } },
      /TESSERA_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/,
    );
    refuses(
      { env: { TESSERA_MAX_SESSIONS_PER_USER: '0' } },
      /TESSERA_MAX_SESSIONS_PER_USER must be a whole number from 1 to 10000/,
    );
    refuses({ env: { TESSERA_STORE: 'mysql://db' } }, /TESSERA_STORE: unsupported store "mysql:"/);
  });

  test('TLS needs both files', () => {
    refuses({ env: { TESSERA_TLS_CERT_FILE: '/c.pem' } }, /tls\.key_file is missing/);
  });

  test('an unreadable or malformed file is refused with how to fix it', () => {
    refuses(
      { configFile: join(dir, 'nope.json'), env: {} },
      /cannot open config file .*nope\.json: ENOENT — pass an existing file with --config/,
    );
    refuses({ configFile: configFile('{"port": 1,}'), env: {} }, /is not valid JSON/);
    refuses({ configFile: configFile('[1]'), env: {} }, /must hold one JSON object/);
    refuses({ configFile: configFile({ tls: 'yes' }), env: {} }, /tls in .* must be an object/);
  });

  test('the README documents every field with its environment variable', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    for (const field of CONFIG_FIELDS) {
      // Table cells may be padded by the formatter.
      const row = new RegExp(`\\|\\s*\`${field.path}\`\\s*\\|\\s*\`${envNameOf(field.path)}\``);
      assert.match(readme, row, `README row for ${field.path}`);
      const example = field.path.split('.').at(-1) as string;
      assert.ok(readme.includes(`"${example}"`), `README example holds ${field.path}`);
    }
  });
});
