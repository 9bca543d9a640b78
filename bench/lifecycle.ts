// Refresh (rotations/s) and create (sessions/s) against a real `tessera serve` on each store:
// the writes of the session life-cycle, where a store's cost shows. Driven by keep-alive
// node:http clients in this process, one request in flight per connection.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminKeyOf, type NodeCrash, startNode } from './cluster/node-process.js';
import { openBenchStore, type StoreKind } from './cluster/stores.js';

export interface FlowRow {
  name: string;
  requestsPerSecond: number;
  p50: number | null;
  p99: number | null;
}

interface Answer {
  status: number;
  body: string;
}

function send(
  agent: Agent,
  base: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: base.hostname, port: base.port, method, path, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs `connections` loops of `step` for `seconds` (after a warm-up of `warmup` seconds that is
 * not counted) and answers throughput and latency. A step that fails stops the run with its
 * answer: a benchmark that counts errors as work measures nothing.
 */
async function drive(
  name: string,
  connections: number,
  seconds: number,
  warmup: number,
  step: (worker: number) => Promise<void>,
): Promise<FlowRow> {
  const latencies: number[] = [];
  let counting = false;
  let stop = false;
  const loops = Array.from({ length: connections }, async (_, worker) => {
    while (!stop) {
      const started = performance.now();
      await step(worker);
      if (counting) latencies.push(performance.now() - started);
    }
  });
  await new Promise((r) => setTimeout(r, warmup * 1000));
  counting = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    name,
    requestsPerSecond: latencies.length / elapsed,
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
  };
}

const LABELS: Record<StoreKind | 'sqlite', string> = {
  sqlite: 'SQLite',
  redis: 'Redis',
  cluster: 'Redis Cluster (3 masters)',
  postgres: 'PostgreSQL',
};

/**
 * For each store: `tessera serve` from the build with the default configuration (`npm start`),
 * except that the node trusts `X-Forwarded-For`, which the driver sets to a different client
 * address on every request: the per-IP rate limit of `/v1/token` (300/min) stays on and is paid
 * for, as behind a load balancer with many phones, instead of throttling one benchmark client.
 */
export async function lifecycleRows(
  stores: (StoreKind | 'sqlite')[],
  connections: number,
  seconds: number,
): Promise<FlowRow[]> {
  const rows: FlowRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-lifecycle-'));
  const configFile = join(dir, 'tessera.json');
  writeFileSync(configFile, JSON.stringify({ trust_proxy: true }));
  const crashes: NodeCrash[] = [];
  try {
    for (const kind of stores) {
      const store =
        kind === 'sqlite'
          ? { url: `sqlite:${join(dir, 'lifecycle.db')}`, close: async () => {} }
          : await openBenchStore(kind);
      const node = await startNode({
        name: `tessera serve (${LABELS[kind]})`,
        store: store.url,
        configFile,
        fromDist: true,
        onCrash: (crash) => crashes.push(crash),
      });
      const agent = new Agent({ keepAlive: true, maxSockets: connections });
      try {
        const key = await adminKeyOf(node);
        const base = new URL(node.url);
        const json = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
        let created = 0;
        const create = async (user: string) => {
          const answer = await send(
            agent,
            base,
            'POST',
            '/v1/sessions',
            json,
            JSON.stringify({ user_id: user, device: { id: `${user}-phone`, platform: 'ios' } }),
          );
          if (answer.status !== 201 && answer.status !== 200) {
            throw new Error(`create: ${answer.status} ${answer.body}`);
          }
          return JSON.parse(answer.body) as { refresh_token: string };
        };
        rows.push(
          await drive(`create, ${LABELS[kind]}`, connections, seconds, 1, async (worker) => {
            created += 1;
            await create(`bench-${worker}-${created}`);
          }),
        );
        // One session per connection, each rotated in a loop with the token its last answer gave.
        const tokens = await Promise.all(
          Array.from({ length: connections }, (_, worker) => create(`rotor-${worker}`)),
        );
        let client = 0;
        rows.push(
          await drive(`refresh, ${LABELS[kind]}`, connections, seconds, 1, async (worker) => {
            client += 1;
            const answer = await send(
              agent,
              base,
              'POST',
              '/v1/token',
              {
                'content-type': 'application/x-www-form-urlencoded',
                'x-forwarded-for': `10.${(client >> 16) & 255}.${(client >> 8) & 255}.${client & 255}`,
              },
              `grant_type=refresh_token&refresh_token=${tokens[worker]!.refresh_token}`,
            );
            if (answer.status !== 200) throw new Error(`refresh: ${answer.status} ${answer.body}`);
            tokens[worker] = JSON.parse(answer.body) as { refresh_token: string };
          }),
        );
      } finally {
        agent.destroy();
        await node.stop();
        await store.close();
      }
      if (crashes.length > 0)
        throw new Error(`${crashes[0]!.name} crashed:\n${crashes[0]!.output}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
