// `npm run bench`: one run, one machine, one table. In-process `validate` throughput for the
// memory and SQLite stores, then HTTP throughput and latency under load (autocannon) for the
// Tessera service and the peers a team would otherwise pick, each server in its own process
// while autocannon runs in this one.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createMemoryStore, createTessera, type SessionStore } from '@tessera/core';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import autocannon from 'autocannon';
import { adminKeyOf, startNode } from './cluster/node-process.js';
import type { StoreKind } from './cluster/stores.js';
import { lifecycleRows } from './lifecycle.js';

const DURATION_SECONDS = Number(process.env.BENCH_DURATION_SECONDS ?? 10);
// 10 connections, as the peer harness (../shared/bench-peers) drives its contenders.
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
// An empty BENCH_STORES skips the life-cycle table (HTTP validation only).
const LIFECYCLE_STORES = (process.env.BENCH_STORES ?? 'sqlite,redis,cluster,postgres')
  .split(',')
  .filter(Boolean) as ('sqlite' | StoreKind)[];
// On a shared machine a burst of foreign load can land on one server's run only: every server
// is loaded once per round, in alternating order, and the best round of each is shown.
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 2);
const VALIDATIONS = Number(process.env.BENCH_VALIDATIONS ?? 200_000);

interface Ready {
  port: number;
  method?: 'GET' | 'POST';
  path?: string;
  headers: Record<string, string>;
  body?: string;
}

interface Row {
  name: string;
  requestsPerSecond: number;
  p50: number | null;
  p99: number | null;
  /** req/s of every round, in the order they ran. */
  rounds?: number[];
}

async function inProcess(name: string, store: SessionStore, cache = false): Promise<Row> {
  const tessera = createTessera({ store, cache: cache ? {} : false });
  const { accessToken } = await tessera.create({ userId: 'bench-user', policy: 'low' });
  for (let i = 0; i < 5_000; i++) await tessera.validate(accessToken);
  const started = process.hrtime.bigint();
  for (let i = 0; i < VALIDATIONS; i++) {
    const result = await tessera.validate(accessToken);
    if (!result.ok) throw new Error(`validation failed: ${result.reason}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await tessera.close();
  return { name, requestsPerSecond: VALIDATIONS / seconds, p50: null, p99: null };
}

/** Starts a bench server script in its own process and waits for its JSON "ready" line. */
async function startServer(script: string, args: string[] = []) {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      join(import.meta.dirname, 'servers', script),
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    lines.once('line', (line) => resolve(JSON.parse(line) as Ready));
  });
  return {
    ready,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** One live session on the node (as an app would create it) and what to load it with. */
async function tesseraTarget(
  url: string,
  key: string,
): Promise<Ready & { introspect: Partial<Ready> }> {
  const answer = await fetch(`${url}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      user_id: 'bench-user',
      policy: 'low',
      device: { id: 'device-1', platform: 'ios', app_version: '1.0.0' },
    }),
  });
  if (!answer.ok)
    throw new Error(`creating the bench session: ${answer.status} ${await answer.text()}`);
  const { access_token: accessToken } = (await answer.json()) as { access_token: string };
  return {
    port: Number(new URL(url).port),
    path: '/v1/session',
    headers: { authorization: `Bearer ${accessToken}` },
    introspect: {
      method: 'POST',
      path: '/v1/introspect',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `token=${accessToken}`,
    },
  };
}

async function load(name: string, ready: Ready, overrides: Partial<Ready> = {}): Promise<Row> {
  const target = { method: 'GET' as const, path: '/me', ...ready, ...overrides };
  const options = {
    url: `http://127.0.0.1:${target.port}${target.path}`,
    method: target.method,
    headers: target.headers,
    body: target.body,
    connections: CONNECTIONS,
  };
  // A short warm-up lets the JIT settle before the measured run.
  await autocannon({ ...options, duration: 2 });
  const result = await autocannon({ ...options, duration: DURATION_SECONDS });
  const failures = result.non2xx + result.errors + result.timeouts;
  if (failures > 0)
    throw new Error(`${name}: ${failures} failed requests of ${result.requests.total}`);
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

function table(title: string, rows: Row[], floor?: number): string {
  const rounds = rows.some((r) => r.rounds !== undefined);
  const head = [
    '',
    'ops or req/s',
    'p50 ms',
    'p99 ms',
    ...(floor ? ['vs floor'] : []),
    ...(rounds ? ['each round req/s'] : []),
  ];
  const body = rows.map((r) => [
    r.name,
    Math.round(r.requestsPerSecond).toLocaleString('en-US'),
    r.p50 === null ? '–' : String(r.p50),
    r.p99 === null ? '–' : String(r.p99),
    ...(floor ? [`${(r.requestsPerSecond / floor).toFixed(2)}×`] : []),
    ...(rounds
      ? [(r.rounds ?? []).map((n) => Math.round(n).toLocaleString('en-US')).join(' / ')]
      : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    `\n${title}`,
    line(head),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
try {
  console.error(`In-process validate, ${VALIDATIONS.toLocaleString('en-US')} calls each…`);
  const database = openSqliteDatabase(join(dir, 'in-process.db'));
  const engineRows = [
    await inProcess('validate(), memory store', createMemoryStore()),
    await inProcess('validate(), SQLite store', createSqliteStore({ database })),
    await inProcess(
      'validate(), SQLite store + cache (serve default)',
      createSqliteStore({ database }),
      true,
    ),
  ];
  database.close();
  console.log(table('In-process engine', engineRows));

  const peers: [string, string, string[]?][] = [
    ['floor: node:http + SHA-256 + Map', 'floor.ts'],
    ['Fastify, no session', 'fastify-bare.ts'],
    ["Fastify, no session, Tessera's answer", 'fastify-answer.ts'],
    ['express-session (MemoryStore)', 'express-session.ts'],
    ['Fastify + @fastify/session (memory)', 'fastify-session.ts'],
  ];
  const httpRows: Row[] = [];
  // Every server runs for the whole HTTP part (an idle server costs nothing) so that rounds
  // can alternate between them.
  const servers: { stop(): Promise<void> }[] = [];
  const targets: { name: string; ready: Ready; overrides?: Partial<Ready> }[] = [];
  try {
    for (const [name, script] of peers) {
      const server = await startServer(script);
      servers.push(server);
      targets.push({ name, ready: server.ready });
    }
    const configFile = join(dir, 'default.json');
    writeFileSync(configFile, '{}');
    const node = await startNode({
      name: 'tessera serve',
      store: `sqlite:${join(dir, 'http.db')}`,
      configFile,
      fromDist: true,
      onCrash: (crash) => {
        throw new Error(`${crash.name} crashed:\n${crash.output}`);
      },
    });
    servers.push(node);
    const ready = await tesseraTarget(node.url, await adminKeyOf(node));
    targets.push({ name: 'Tessera GET /v1/session (SQLite)', ready });
    targets.push({
      name: 'Tessera POST /v1/introspect (SQLite)',
      ready,
      overrides: ready.introspect,
    });
    const runs = targets.map(() => [] as Row[]);
    for (let round = 0; round < HTTP_ROUNDS; round++) {
      const order = targets.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const target = targets[i]!;
        console.error(`HTTP round ${round + 1}/${HTTP_ROUNDS}: ${target.name}…`);
        runs[i]!.push(await load(target.name, target.ready, target.overrides));
      }
    }
    for (const measured of runs) {
      const best = measured.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
      httpRows.push({ ...best, rounds: measured.map((r) => r.requestsPerSecond) });
    }
  } finally {
    for (const server of servers) await server.stop();
  }
  const floor = httpRows[0]!.requestsPerSecond;
  console.log(
    table(
      `HTTP, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per round after a 2 s warm-up (autocannon), ${HTTP_ROUNDS} alternating round(s), best shown; one server process each, tessera serve from the build with the default configuration (SQLite)`,
      httpRows,
      floor,
    ),
  );

  if (LIFECYCLE_STORES.length > 0) {
    console.error(`Life-cycle writes on ${LIFECYCLE_STORES.join(', ')}…`);
    const lifecycle = await lifecycleRows(LIFECYCLE_STORES, CONNECTIONS, DURATION_SECONDS);
    console.log(
      table(
        `Session life-cycle writes: POST /v1/sessions (create) and POST /v1/token (refresh, one rotation each), ${CONNECTIONS} connections, ${DURATION_SECONDS} s each, tessera serve from the build with the default configuration + trust_proxy (a new X-Forwarded-For per request, so the per-IP rate limit is paid for)`,
        lifecycle,
      ),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
