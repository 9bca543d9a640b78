import type { SessionEvent } from '@tessera/core';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

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
}

export interface MetricsOptions {
  /**
   * Also collect the default process metrics (CPU, memory, event loop, GC) of prom-client.
   * @default true
   */
  processMetrics?: boolean;
}

interface RequestSeries {
  counter: { inc(): void };
  histogram: { observe(value: number): void };
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

  const requests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'Time from receiving a request to answering it',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
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

  // Label children cached per series: resolving labels hashes them on every call, and this
  // runs once per request on the hot path. The key space is bounded (routes × methods × statuses).
  const series = new Map<string, RequestSeries>();

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
      const key = `${method} ${route} ${status}`;
      let entry = series.get(key);
      if (!entry) {
        const labels = { method, route, status: String(status) };
        entry = { counter: requests.labels(labels), histogram: durations.labels(labels) };
        series.set(key, entry);
      }
      entry.counter.inc();
      entry.histogram.observe(durationSeconds);
    },
  };
}
