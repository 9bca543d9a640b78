import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { type Tessera, TesseraError } from '@tessera/core';
import Fastify, {
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
  type onResponseHookHandler,
} from 'fastify';
import { type ConsoleOptions, consolePlugin } from './console/register-console.js';
import { createDpopContext, type DpopServerOptions, registerDpop } from './dpop.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { createHardeningHook } from './hardening.js';
import { createLogger, type ServerLoggerOptions } from './logger.js';
import { createMetrics, type TesseraMetrics } from './metrics.js';
import { lazyChildLogger } from './request-logger.js';
import { registerBackendRoutes } from './routes/backend.js';
import { registerClientRoutes } from './routes/client.js';
import { type RouteRateLimit, registerOAuthRoutes } from './routes/oauth.js';
import { registerOperationsRoutes } from './routes/operations.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { NO_BODY_DESCRIPTION } from './schemas.js';
import { createValidatorCompiler, formatValidationError } from './validation.js';

/**
 * Per-client-IP limits on the unauthenticated token endpoints. Counters live in this process's
 * memory: with several nodes behind a load balancer, each node limits on its own, so a client
 * can reach up to N × the limit across N nodes.
 */
export interface RateLimitOptions {
  /** @default true */
  enabled?: boolean;
  /** Requests per minute per client IP to `POST /v1/token`. @default 300 */
  tokenPerMinute?: number;
  /** Requests per minute per client IP to `POST /v1/revoke`. @default 300 */
  revokePerMinute?: number;
}

/** PEM certificate chain and private key: the server then speaks HTTPS only, with HSTS. */
export interface TlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface ServerOptions {
  /** The engine, built by the caller (the CLI) on the store of its choice. */
  tessera: Tessera;
  /**
   * pino options (plus `stream` for the destination), or `false` for no logs at all. Whatever
   * is given, the authorization header and bodies are never logged and every line is masked
   * for credential-shaped text.
   * @default { level: 'info' } to standard output
   */
  logger?: false | ServerLoggerOptions;
  /**
   * Log one line per request received and one per answer (Fastify's request logging), at
   * `info`. Off by default: on a hot path such as `GET /v1/session` they cost about a third of
   * the throughput, and the metrics already count every request by route and status.
   * @default false
   */
  logRequests?: boolean;
  /** Larger bodies are refused with 413 before they are parsed. @default 16384 (16 KiB) */
  bodyLimitBytes?: number;
  /** @default { enabled: true, tokenPerMinute: 300, revokePerMinute: 300 } */
  rateLimit?: RateLimitOptions;
  /**
   * Fastify's `trustProxy`: when the server is behind a reverse proxy, which hops to trust for
   * `X-Forwarded-For`, so that the client IP (used by rate limiting and logs) is the real one.
   * Never enable it when clients reach the server directly: they could then pick their own IP.
   * @default false
   */
  trustProxy?: FastifyServerOptions['trustProxy'];
  /** Serve HTTPS with this certificate and send `Strict-Transport-Security`. */
  tls?: TlsOptions;
  /** How often `tessera.purgeExpired()` runs; 0 turns it off. @default 300 */
  purgeIntervalSeconds?: number;
  /** What `/readyz` checks. @default () => tessera.store.ping() */
  readinessCheck?: () => Promise<unknown>;
  /** `/readyz` answers 503 when the check takes longer. @default 1000 */
  readinessTimeoutMs?: number;
  /**
   * Metrics from `createMetrics()`. Pass the same object whose `onEvent` you gave to
   * `createTessera`, or session counters stay at zero.
   * @default createMetrics() (HTTP metrics only)
   */
  metrics?: TesseraMetrics;
  /**
   * The service's public URL as clients reach it (`https://auth.example.com`, plus a path prefix
   * if a proxy mounts it below one). DPoP proofs name the URL they were made for (`htu`); behind
   * a proxy or load balancer the request alone does not tell it, so set this there.
   * @default rebuilt from each request (scheme, `Host`)
   */
  publicUrl?: string;
  /** DPoP (RFC 9449) proof checking: algorithms, time window, server nonces. */
  dpop?: DpopServerOptions;
  /** The operator console at `/console` (README "Console"). @default { enabled: true } */
  console?: ConsoleOptions;
}

const MINUTE_MS = 60_000;

/**
 * Builds the HTTP service on an engine. The server is ready but not listening: call
 * `listen`, and `close` on shutdown (which also stops the purge timer).
 *
 * @example
 * const metrics = createMetrics();
 * const tessera = createTessera({ store, onEvent: metrics.onEvent });
 * const app = await buildServer({ tessera, metrics });
 * await app.listen({ host: '127.0.0.1', port: 8787 });
 * process.once('SIGTERM', () => void app.close());
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const {
    tessera,
    logger = {},
    logRequests = false,
    bodyLimitBytes = 16 * 1024,
    rateLimit: {
      enabled: rateLimitEnabled = true,
      tokenPerMinute = 300,
      revokePerMinute = 300,
    } = {},
    trustProxy = false,
    tls,
    purgeIntervalSeconds = 300,
    readinessCheck = () => tessera.store.ping(),
    readinessTimeoutMs = 1000,
    metrics = createMetrics({ processMetrics: true }),
    publicUrl,
    dpop,
    console: consoleOptions = {},
  } = options;
  const dpopContext = createDpopContext(tessera, publicUrl, dpop);
  checkWholeNumber('body_limit_bytes', bodyLimitBytes, 1);
  checkWholeNumber('rate_limit.token_per_minute', tokenPerMinute, 1);
  checkWholeNumber('rate_limit.revoke_per_minute', revokePerMinute, 1);
  checkWholeNumber('purge_interval_seconds', purgeIntervalSeconds, 0);
  checkWholeNumber('readiness_timeout_ms', readinessTimeoutMs, 1);

  const serverOptions = {
    ...(logger === false
      ? { logger: false }
      : { loggerInstance: createLogger(logger), childLoggerFactory: lazyChildLogger }),
    logController: new LogController({ disableRequestLogging: !logRequests }),
    bodyLimit: bodyLimitBytes,
    trustProxy,
    // User ids may be up to 256 characters, encoded in the path.
    routerOptions: { maxParamLength: 1024 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Slow-loris protection when clients connect directly (no proxy in front).
    requestTimeout: 30_000,
    schemaErrorFormatter: formatValidationError,
    ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}),
  } as FastifyServerOptions;
  const app = Fastify(serverOptions) as unknown as FastifyInstance;

  registerDpop(app, dpopContext);
  app.setValidatorCompiler(createValidatorCompiler());
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  // Only JSON (and, on the OAuth endpoints, form bodies): text/plain bodies get a 415.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', createHardeningHook({ hsts: tls !== undefined }));
  // Request metrics. Each route gets its observer once, when it is registered (labels resolved
  // then, not per answer: `request.routeOptions` builds a new object on every read); the global
  // hook counts only the requests no route matched.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const observers = new Map(methods.map((m) => [m, metrics.requestObserver(m, route.url)]));
    const observe: onResponseHookHandler = (request, reply, done) => {
      const observer =
        observers.get(request.method) ?? metrics.requestObserver(request.method, route.url);
      observer(reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    const own = route.onResponse;
    route.onResponse = own === undefined ? [observe] : [observe, ...[own].flat()];
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) {
      metrics.observeRequest(
        request.method,
        'unmatched',
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
    }
    done();
  });

  await app.register(rateLimit, {
    global: false,
    // Keyed by `request.ip`, which honours `trustProxy`.
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`rate limit exceeded, retry in ${context.after}`), {
        statusCode: context.statusCode,
        code: 'rate_limited',
      }),
  });
  await app.register(swagger, {
    // @fastify/swagger marks every body schema as required; the empty bodies are not.
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      for (const item of Object.values(openapiObject.paths ?? {})) {
        for (const operation of Object.values(item ?? {})) {
          const body = (operation as { requestBody?: { description?: string; required?: boolean } })
            .requestBody;
          if (body?.description === NO_BODY_DESCRIPTION) body.required = false;
        }
      }
      return openapiObject;
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera',
        version: '0.1.0',
        description:
          'Session authority: server-side sessions with opaque rotating tokens. Tokens are accepted only in the Authorization header (or the body of the OAuth endpoints), never in a URL.',
      },
      tags: [
        { name: 'client', description: 'called by the app with its access or refresh token' },
        { name: 'backend', description: 'called by the application backend with a service key' },
        { name: 'operations', description: 'health, readiness, metrics' },
      ],
      components: {
        securitySchemes: {
          accessToken: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'tsa_…',
            description: 'access token of a session',
          },
          dpopAccessToken: {
            type: 'http',
            scheme: 'DPoP',
            description:
              'access token of a DPoP-bound session (token_type "DPoP"): `Authorization: DPoP tsa_…` plus a `DPoP` proof header (RFC 9449 §7.1); the only way such a token is accepted',
          },
          serviceKey: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'tsk_…',
            description:
              'backend service key with scopes sessions:write, sessions:read, introspect or admin',
          },
        },
      },
    },
  });

  const perMinute = (max: number): RouteRateLimit | false =>
    rateLimitEnabled ? { max, timeWindow: MINUTE_MS } : false;
  await app.register(async (oauth) => {
    // Form bodies only here, where RFC 6749/7009/7662 define them; elsewhere they get a 415.
    await oauth.register(formbody);
    registerOAuthRoutes(oauth, {
      tessera,
      tokenRateLimit: perMinute(tokenPerMinute),
      revokeRateLimit: perMinute(revokePerMinute),
    });
  });
  registerBackendRoutes(app, tessera);
  registerClientRoutes(app, tessera);
  registerWebhookRoutes(app, tessera);
  registerOperationsRoutes(app, { metrics, readinessCheck, readinessTimeoutMs });
  // Encapsulated: the console's hooks, parser and CSP never run on the API's requests.
  if (consoleOptions.enabled !== false) {
    await app.register(consolePlugin(tessera, consoleOptions), { prefix: '/console' });
  }

  if (purgeIntervalSeconds > 0) {
    let running = false;
    const timer = setInterval(() => {
      if (running) return; // a slow purge is not stacked on itself
      running = true;
      tessera
        .purgeExpired()
        .then(
          (removed) => app.log.debug(removed, 'purged expired sessions and old events'),
          (error: unknown) => app.log.warn({ err: error }, 'purge failed; will retry'),
        )
        .finally(() => {
          running = false;
        });
    }, purgeIntervalSeconds * 1000);
    // Never the reason the process stays alive.
    timer.unref();
    app.addHook('onClose', (_instance, done) => {
      clearInterval(timer);
      done();
    });
  }

  await app.ready();
  return app;
}

/** Refuses a bad option at start-up with a message naming it (as the configuration file does). */
function checkWholeNumber(field: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TesseraError(
      'invalid_config',
      `${field} must be a whole number ≥ ${min} (got ${JSON.stringify(value)})`,
    );
  }
}
