// Where the microseconds of one request go: `tessera serve` from the build with the default
// configuration (SQLite), run under `node --cpu-prof`, loaded on one path at a time, then the
// profile's samples grouped by what they belong to and divided by the requests answered.
//
//   npx tsc -b && node --conditions=source --import tsx bench/profile.ts [session|introspect|refresh…]
//
// A profiled server is slower than an unprofiled one and the profile counts wall time on the
// main thread (a busy machine inflates the kernel's share): compare causes within one run, and
// use the peer harness's CPU µs/req for totals.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_DURATION_SECONDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const KINDS = process.argv.slice(2).length ? process.argv.slice(2) : ['session', 'introspect'];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const START_UP = new Set(['compileSourceTextModule', 'Module._load', 'getModuleJobForImport']);
const FASTIFY = /node_modules\/(fastify|find-my-way|fast-querystring|ajv|@fastify\/)/;

/** Self time (µs) per cause. A frame's cause is its own code, or the nearest caller's. */
function causes(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const callers = (id: number) => {
    const out: ProfileNode[] = [];
    for (let q: number | undefined = id; q !== undefined; q = parent.get(q)) out.push(byId.get(q)!);
    return out;
  };
  const causeOf = (id: number): string | null => {
    const { functionName: fn, url } = byId.get(id)!.callFrame;
    if (fn === '(idle)') return null;
    const stack = callers(id);
    if (stack.some((n) => START_UP.has(n.callFrame.functionName))) return null;
    if (fn === '(garbage collector)') return 'GC';
    if (fn === 'writev' || (fn.startsWith('write') && !url))
      return 'kernel: writing the answer (writev)';
    if (
      stack.some(
        (n) => n.callFrame.functionName === 'connected' && /sqlite-store/.test(n.callFrame.url),
      )
    )
      return 'SQLite data_version (exact cache)';
    if (/better-sqlite3|store-sqlite/.test(url)) return 'SQLite reads and writes';
    if (/node_modules\/pino|request-logger/.test(url)) return 'logger';
    if (/request-metrics|server\/(src|dist)\/metrics|prom-client/.test(url)) return 'metrics';
    const native = !url || url.startsWith('node:');
    if (
      /packages\/core\//.test(url) ||
      (native && stack.some((n) => /packages\/core\//.test(n.callFrame.url)))
    )
      return 'engine (hashes, checksum, cache, rotation)';
    if (/packages\/server\//.test(url)) return 'Tessera routes, auth, hardening';
    if (/fast-json-stringify/.test(url)) return 'serialization';
    if (FASTIFY.test(url)) return 'Fastify (routing, hooks, schemas, reply)';
    return 'Node core (HTTP parser and writer, streams, promises)';
  };
  const totals = new Map<string, number>();
  for (const [id, us] of self) {
    const cause = causeOf(id);
    if (cause !== null) totals.set(cause, (totals.get(cause) ?? 0) + us);
  }
  return totals;
}

function send(
  agent: Agent,
  url: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, method, path, headers },
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

/** `tessera serve` from the build under --cpu-prof; resolves once it listens. */
function startProfiled(dir: string, configFile: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TESSERA_')) env[name] = value;
  }
  const child = spawn(
    process.execPath,
    [
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      'packages/cli/dist/main.js',
      'serve',
      '--config',
      configFile,
      '--store',
      `sqlite:${join(dir, 'tessera.db')}`,
      '--port',
      '0',
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<{ url: string; adminKey: string; stop(): Promise<void> }>(
    (resolve, reject) => {
      const early = (code: number | null) =>
        reject(new Error(`tessera serve exited (${code}):\n${output}`));
      child.once('exit', early);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const url = /Tessera listening on (http:\/\/\S+) /.exec(output)?.[1];
        const adminKey = /shown only once: (tsk_\w+)/.exec(output)?.[1];
        if (!url || !adminKey) return;
        child.stdout.off('data', onData);
        resolve({
          url,
          adminKey,
          async stop() {
            child.off('exit', early);
            child.kill('SIGTERM'); // a clean exit writes the profile
            await exited;
          },
        });
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
    },
  );
}

async function profileOne(kind: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-profile-'));
  try {
    const configFile = join(dir, 'config.json');
    // Refresh goes through the per-IP rate limit: a new client address per request, as behind a
    // load balancer, so that the limit is paid for without being hit.
    writeFileSync(configFile, kind === 'refresh' ? '{"trust_proxy": true}' : '{}');
    // Its own process, not startNode's: --cpu-prof is refused in NODE_OPTIONS.
    const node = await startProfiled(dir, configFile);
    const url = new URL(node.url);
    const key = node.adminKey;
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const create = async () => {
      const answer = await send(
        agent,
        url,
        'POST',
        '/v1/sessions',
        {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
        },
        JSON.stringify({ user_id: 'bench-user', policy: 'low' }),
      );
      if (answer.status !== 201) throw new Error(`create: ${answer.status} ${answer.body}`);
      return JSON.parse(answer.body) as { access_token: string; refresh_token: string };
    };
    const pairs = await Promise.all(Array.from({ length: CONNECTIONS }, create));
    let client = 0;
    const step = async (worker: number) => {
      const pair = pairs[worker]!;
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const answer =
        kind === 'session'
          ? await send(agent, url, 'GET', '/v1/session', {
              authorization: `Bearer ${pair.access_token}`,
            })
          : kind === 'introspect'
            ? await send(
                agent,
                url,
                'POST',
                '/v1/introspect',
                { ...form, authorization: `Bearer ${key}` },
                `token=${pair.access_token}`,
              )
            : await send(
                agent,
                url,
                'POST',
                '/v1/token',
                {
                  ...form,
                  'x-forwarded-for': `10.${(client >> 16) & 255}.${(client >> 8) & 255}.${client++ & 255}`,
                },
                `grant_type=refresh_token&refresh_token=${pair.refresh_token}`,
              );
      if (answer.status !== 200) throw new Error(`${kind}: ${answer.status} ${answer.body}`);
      if (kind === 'refresh')
        pair.refresh_token = (JSON.parse(answer.body) as { refresh_token: string }).refresh_token;
    };
    let answered = 0;
    let stop = false;
    const started = performance.now();
    await Promise.all(
      pairs.map(async (_, worker) => {
        while (!stop) {
          await step(worker);
          answered += 1;
          if (performance.now() - started > SECONDS * 1000) stop = true;
        }
      }),
    );
    agent.destroy();
    await node.stop();
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no .cpuprofile written');
    const totals = causes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile);
    const all = [...totals.values()].reduce((a, b) => a + b, 0);
    const rows = [...totals].sort((a, b) => b[1] - a[1]);
    const perSecond = answered / SECONDS;
    return [
      `\n${kind}: ${answered.toLocaleString('en-US')} answers in ${SECONDS} s (${Math.round(perSecond).toLocaleString('en-US')}/s, profiled), ${CONNECTIONS} connections`,
      '| cause | µs/req | share |',
      '|---|---:|---:|',
      ...rows.map(
        ([c, us]) => `| ${c} | ${(us / answered).toFixed(2)} | ${Math.round((100 * us) / all)} % |`,
      ),
      `| **all (start-up excluded)** | **${(all / answered).toFixed(2)}** | |`,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const kind of KINDS) {
  if (!['session', 'introspect', 'refresh'].includes(kind)) throw new Error(`unknown path ${kind}`);
  console.log(await profileOne(kind));
}
