import type { Registry } from 'prom-client';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Series {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * The per-request counter and latency histogram, kept as plain numbers per (method, route,
 * status) and turned into Prometheus series only when scraped. prom-client's own labelled
 * metrics hash their labels on every observation, which cost more than the rest of a cached
 * validation on the hot path; an answered request here is one Map lookup and three increments.
 * Both metrics are registered on `registry` through its public `registerMetric` interface.
 */
export function createRequestMetrics(registry: Registry) {
  const series = new Map<string, Series>();
  /** Bumped by `reset()`, so that observers resolved per route drop the series they hold. */
  let generation = 0;

  /** A metric in the shape `Registry.registerMetric` takes, its values computed on scrape. */
  const metric = (name: string, help: string, type: string, values: () => MetricValue[]) => ({
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      return { name, help, type, aggregator: 'sum', values: values() };
    },
    reset() {
      series.clear();
      generation += 1;
    },
  });

  const counter = metric(
    'tessera_http_requests_total',
    'HTTP requests answered, by method, route pattern and status',
    'counter',
    () => [...series.values()].map((s) => ({ labels: s.labels, value: s.count })),
  );

  const name = 'tessera_http_request_duration_seconds';
  const histogram = metric(
    name,
    'Time from receiving a request to answering it',
    'histogram',
    () => {
      const values: MetricValue[] = [];
      for (const s of series.values()) {
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i] ?? 0;
          values.push({
            labels: { ...s.labels, le },
            value: cumulative,
            metricName: `${name}_bucket`,
          });
        });
        values.push({
          labels: { ...s.labels, le: '+Inf' },
          value: s.count,
          metricName: `${name}_bucket`,
        });
        values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
        values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
      }
      return values;
    },
  );

  registry.registerMetric(counter as never);
  registry.registerMetric(histogram as never);

  /** The series of one (method, route, status), made on its first answer. */
  const seriesOf = (method: string, route: string, status: number): Series => {
    const key = `${method} ${route} ${status}`;
    let entry = series.get(key);
    if (!entry) {
      entry = {
        labels: { method, route, status: String(status) },
        buckets: new Array(BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      series.set(key, entry);
    }
    return entry;
  };

  const record = (entry: Series, durationSeconds: number): void => {
    let i = 0;
    while (i < BUCKETS.length && durationSeconds > (BUCKETS[i] as number)) i += 1;
    entry.buckets[i] = (entry.buckets[i] ?? 0) + 1;
    entry.sum += durationSeconds;
    entry.count += 1;
  };

  return {
    observe(method: string, route: string, status: number, durationSeconds: number): void {
      record(seriesOf(method, route, status), durationSeconds);
    },
    /**
     * An observer for one (method, route), resolved once when the route is registered: an
     * answer then costs a lookup by status number, not a key string built and hashed per
     * request. `reset()` empties the series, and each observer then starts again.
     */
    forRoute(method: string, route: string): (status: number, durationSeconds: number) => void {
      const byStatus = new Map<number, Series>();
      let seen = generation;
      return (status, durationSeconds) => {
        if (seen !== generation) {
          byStatus.clear();
          seen = generation;
        }
        let entry = byStatus.get(status);
        if (entry === undefined) {
          entry = seriesOf(method, route, status);
          byStatus.set(status, entry);
        }
        record(entry, durationSeconds);
      };
    },
  };
}
