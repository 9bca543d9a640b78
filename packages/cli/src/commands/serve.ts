import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import {
  createWebhookWorker,
  supportsWebhooks,
  type Tessera,
  type WebhookWorker,
} from '@tessera/core';
import { COMMON_OPTIONS, expectPositionals, parseCommandArgs, STORE_OPTIONS } from '../args.js';
import { loadConfig, type TesseraConfig } from '../config.js';
import { dpopHtuWarning } from '../dpop-htu-warning.js';
import { openEngine } from '../engine-context.js';
import { ENV_HELP } from '../env-help.js';
import { describeError, errorCode, runtimeError, usageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { redactStoreUrl } from '../store-url.js';

export const SERVE_HELP = `Usage: tessera serve [--config FILE] [--store URL] [--host H] [--port P]

Runs the Tessera HTTP service. On first start with an empty store it creates an admin service
key and prints it once. SIGTERM or SIGINT stop it gracefully (in-flight requests finish).

Options:
  -c, --config FILE   configuration file (JSON); also TESSERA_CONFIG
      --store URL     sqlite:PATH (default sqlite:./tessera.db), redis://H:P,
                      redis+cluster://H1:P1,H2:P2, postgres://USER@H:P/DB[?schema=S]
      --host H        listen address (default 127.0.0.1)
      --port P        listen port (default 8787; 0 picks a free port and prints it)
      --no-migrate    PostgreSQL: do not apply migrations at start
      --debug         print stack traces of errors
  -h, --help          show this help

Precedence: flags > TESSERA_* environment > config file > defaults.
${ENV_HELP}`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORE_OPTIONS,
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
} as const;

/** Longest a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * `tessera serve`. Resolves with the exit code once the service has stopped (after a signal).
 */
export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('serve', argv, OPTIONS);
  if (values.help) {
    io.out(SERVE_HELP);
    return 0;
  }
  expectPositionals('serve', positionals, []);

  // The configuration first: a mistake in it is reported before anything heavy loads or opens.
  const config = loadConfig({
    configFile: values.config,
    env: io.env,
    flags: {
      store: values.store,
      host: values.host,
      port: values.port,
      migrate_on_start: values['no-migrate'] ? false : undefined,
    },
  });
  const service = await startService(config, io);

  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      io.out(`Tessera stopping (${signal})…`);
      const deadline = setTimeout(() => {
        io.err(`tessera: did not stop within ${SHUTDOWN_TIMEOUT_MS / 1000} s, exiting anyway`);
        resolve(1);
      }, SHUTDOWN_TIMEOUT_MS);
      deadline.unref();
      service.stop().then(
        () => {
          clearTimeout(deadline);
          io.out('Tessera stopped.');
          resolve(0);
        },
        (error: unknown) => {
          clearTimeout(deadline);
          io.err(`tessera: error while stopping: ${describeError(error)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export interface RunningService {
  /** Where it listens, for example `http://127.0.0.1:8787` (the real port when 0 was asked). */
  url: string;
  /** The engine behind the server, for embedding and tests (`cacheActive()`, for example). */
  tessera: Tessera;
  /**
   * Closes the server (in-flight requests finish), then the engine (its cache subscription),
   * then the store and its connection.
   */
  stop(): Promise<void>;
}

/**
 * Opens the store, builds the engine and the HTTP server on it, listens, and on an empty store
 * creates the admin service key and prints it once. What `tessera serve` runs, without the
 * signal handling, so that it can also run inside a test or a benchmark.
 *
 * @example
 * const service = await startService(loadConfig({ flags: { port: '0' } }), processIo);
 * await service.stop();
 */
export async function startService(config: TesseraConfig, io: CliIo): Promise<RunningService> {
  const tls = config.tls
    ? {
        cert: readPem('tls.cert_file', config.tls.certFile),
        key: readPem('tls.key_file', config.tls.keyFile),
      }
    : undefined;

  // Imported here, so that the other commands never load Fastify.
  const { buildServer, createMetrics } = await import('@tessera/server');
  const metrics = createMetrics();
  const engine = await openEngine({ io, config, onEvent: metrics.onEvent, cache: true });
  const { tessera } = engine;

  let app: Awaited<ReturnType<typeof buildServer>>;
  try {
    app = await buildServer({
      tessera,
      logger: { level: config.logLevel },
      bodyLimitBytes: config.bodyLimitBytes,
      rateLimit: config.rateLimit,
      trustProxy: config.trustProxy,
      ...(tls ? { tls } : {}),
      purgeIntervalSeconds: config.purgeIntervalSeconds,
      metrics,
      ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
      dpop: {
        maxAgeSeconds: config.dpop.maxAgeSeconds,
        ...(config.dpop.nonceSecret === undefined ? {} : { nonceSecret: config.dpop.nonceSecret }),
      },
      console: {
        enabled: config.console.enabled,
        signInPerMinute: config.console.signInPerMinute,
      },
    });
  } catch (error) {
    await engine.close();
    throw error;
  }

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close().catch(() => {});
    await engine.close();
    throw listenError(error, config.host, config.port);
  }

  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${address.port}`;
  io.out(`Tessera listening on ${url} (store: ${redactStoreUrl(config.storeUrl)})`);
  const htuWarning = dpopHtuWarning(config);
  if (htuWarning !== null) io.err(htuWarning);

  let webhooks: WebhookWorker | null = null;

  let stopped: Promise<void> | undefined;
  const stop = () => {
    // The server first (no new requests, in-flight ones finish), then the webhook worker (its
    // round in flight), then the engine (its cache subscription) and the store they use.
    stopped ??= app
      .close()
      .finally(() => webhooks?.stop())
      .finally(() => engine.close());
    return stopped;
  };

  try {
    webhooks = startWebhookDelivery(config, tessera, app.log);
    // Only once listening succeeded: a key created before a failed start would never be
    // shown. Written to stdout, never through the logger, whose lines may be shipped elsewhere.
    if ((await tessera.listServiceKeys()).length === 0) {
      const { key, record } = await tessera.createServiceKey({ name: 'admin', scopes: ['admin'] });
      io.out(
        `First start on an empty store: created the admin service key ${record.id} (scopes: admin).`,
      );
      io.out(`Save this key now, it is shown only once: ${key}`);
      io.out(
        'Create narrower keys with `tessera keys create --name NAME --scopes sessions:write,introspect`.',
      );
    }
    if (config.console.enabled) {
      const noOperator = (await tessera.store.listOperators()).length === 0;
      io.out(
        `Operator console: ${url}/console${noOperator ? ' (no operator yet: `tessera operators create NAME`)' : ''}`,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, tessera, stop };
}

function readPem(field: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw usageError(
      `cannot read ${field} ${file}: ${errorCode(error) ?? describeError(error)} — give the path of a PEM file`,
    );
  }
}

function listenError(error: unknown, host: string, port: number) {
  const where = `${host}:${port}`;
  switch (errorCode(error)) {
    case 'EADDRINUSE':
      return runtimeError(
        `cannot listen on ${where}: the address is already in use — stop the other process or choose another port with --port (or TESSERA_PORT)`,
      );
    case 'EACCES':
      return runtimeError(
        `cannot listen on ${where}: permission denied — use a port above 1023 or run with the needed privileges`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return runtimeError(
        `cannot listen on ${where}: ${host} is not an address of this machine — use --host 127.0.0.1 or 0.0.0.0`,
      );
    default:
      return runtimeError(`cannot listen on ${where}: ${describeError(error)}`, { cause: error });
  }
}

/**
 * Starts this node's webhook worker when the store has an outbox and `webhooks.enabled`. Every
 * node runs one: leases make sure that each delivery is sent by one node at a time.
 */
function startWebhookDelivery(
  config: TesseraConfig,
  tessera: Tessera,
  log: { warn(object: object, message: string): void },
): WebhookWorker | null {
  const store = tessera.store;
  if (config.webhooks === false || !supportsWebhooks(store)) return null;
  const worker = createWebhookWorker({
    store,
    nodeId: `${hostname()}:${process.pid}:${randomBytes(6).toString('base64url')}`,
    ...config.webhooks,
    onAttempt(claimed, outcome) {
      if (outcome.state === 'delivered') return;
      // Never the secret or the body: the delivery id finds the rest in `tessera webhooks deliveries`.
      log.warn(
        {
          webhook_id: claimed.delivery.id,
          subscription_id: claimed.subscription.id,
          state: outcome.state,
          status: outcome.status,
          error: outcome.error,
        },
        'webhook delivery attempt failed',
      );
    },
    onError(error) {
      log.warn({ err: error }, 'webhook delivery round failed (the store may be unreachable)');
    },
  });
  worker.start();
  return worker;
}
