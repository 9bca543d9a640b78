import type {} from '@fastify/swagger'; // app.swagger() and the OpenAPI fields of route schemas
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TesseraMetrics } from '../metrics.js';

export interface OperationsRouteOptions {
  metrics: TesseraMetrics;
  readinessCheck: () => Promise<unknown>;
  readinessTimeoutMs: number;
}

const Status = Type.Object(
  { status: Type.String(), reason: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

interface NotReady {
  reason: 'timeout' | 'store_unreachable';
  error?: unknown;
}

/** Resolves with null when `check` succeeds in time, else with why not. */
function runReadiness(check: () => Promise<unknown>, timeoutMs: number): Promise<NotReady | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ reason: 'timeout' }), timeoutMs);
    let attempt: Promise<unknown>;
    try {
      attempt = Promise.resolve(check());
    } catch (error) {
      attempt = Promise.reject(error);
    }
    attempt.then(
      () => {
        clearTimeout(timer);
        resolve(null);
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ reason: 'store_unreachable', error });
      },
    );
  });
}

/**
 * Health, readiness, Prometheus metrics and the OpenAPI document. These carry no credential and
 * need none; put them behind the network boundary of your deployment if their content matters.
 */
export function registerOperationsRoutes(
  app: FastifyInstance,
  options: OperationsRouteOptions,
): void {
  const { metrics, readinessCheck, readinessTimeoutMs } = options;

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: 200 while the process runs',
        tags: ['operations'],
        response: { 200: Status },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: 200 when the session store answers, else 503',
        tags: ['operations'],
        response: { 200: Status, 503: Status },
      },
    },
    async (request, reply) => {
      const notReady = await runReadiness(readinessCheck, readinessTimeoutMs);
      if (notReady === null) return { status: 'ready' };
      // The store's own error can name hosts and users: it goes to the log, not the answer.
      request.log.warn({ err: notReady.error, reason: notReady.reason }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', reason: notReady.reason });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        tags: ['operations'],
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
      },
    },
    async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    },
  );

  app.get(
    '/openapi.json',
    { schema: { summary: 'This OpenAPI document', tags: ['operations'] } },
    async () => app.swagger(),
  );
}
