import type { SessionEvent } from '@tessera/core';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import { createRequestMetrics } from './request-metrics.js';

/** Prometheus metrics of one Tessera server, on a registry of its own (never the global one). */
export interface TesseraMetrics {
  readonly registry: Registry;
  /**
   * Counts session events. Pass it as `onEvent` to `createTessera`, which is built before the
   * server, so that events of every origin (HTTP, CLI, purge) are counted.
   */
  readonly onEvent: (event: SessionEvent) => void;
  /** Records one answered HTTP request; `route` is the route pattern, never the raw URL. */
  observeRequest(method: string, route: string, status: number, durationSeconds: number): void;
  /**
   * `observeRequest` for one (method, route pattern), resolved once: the server takes one per
   * route when it is registered, so that an answer costs no label lookup by string.
   */
  requestObserver(method: string, route: string): (status: number, durationSeconds: number) => void;
}

export interface MetricsOptions {
  /**
   * Also collect the default process metrics (CPU, memory, event loop, GC) of prom-client.
   * @default true
   */
  processMetrics?: boolean;
}

/**
 * Creates the metrics: `tessera_http_requests_total{method,route,status}`,
 * `tessera_http_request_duration_seconds{method,route,status}`,
 * `tessera_sessions_created_total{policy}`, `tessera_sessions_ended_total{reason}`,
 * `tessera_refresh_reuse_total`, and the default process metrics.
 *
 * @example
 * const metrics = createMetrics();
 * const tessera = createTessera({ store, onEvent: metrics.onEvent });
 * const app = await buildServer({ tessera, metrics });
 */
export function createMetrics(options: MetricsOptions = {}): TesseraMetrics {
  const { processMetrics = true } = options;
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });

  const requests = createRequestMetrics(registry);
  const created = new Counter({
    name: 'tessera_sessions_created_total',
    help: 'Sessions created, by policy',
    labelNames: ['policy'] as const,
    registers: [registry],
  });
  const ended = new Counter({
    name: 'tessera_sessions_ended_total',
    help: 'Sessions ended, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const reuse = new Counter({
    name: 'tessera_refresh_reuse_total',
    help: 'Rotated refresh tokens presented again outside the grace window (theft signal)',
    registers: [registry],
  });

  return {
    registry,
    onEvent(event) {
      switch (event.type) {
        case 'session.created':
          created.inc({ policy: String(event.data['policy'] ?? 'unknown') });
          break;
        case 'session.ended':
          ended.inc({ reason: event.reason ?? 'unknown' });
          break;
        case 'session.refresh_reuse':
          reuse.inc();
          break;
        default:
          break;
      }
    },
    observeRequest(method, route, status, durationSeconds) {
      requests.observe(method, route, status, durationSeconds);
    },
    requestObserver(method, route) {
      return requests.forRoute(method, route);
    },
  };
}
