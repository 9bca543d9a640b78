import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, type RedisServerProcess, startRedisServer } from './redis-server-harness.js';

export interface TestCluster {
  ports: number[];
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`, for `connectRedis`. */
  url: string;
  nodes: RedisServerProcess[];
  /** Stops the nodes this harness started (and only those) and removes their directories. */
  stop(): Promise<void>;
}

function redisCli(port: number, ...args: string[]): string {
  const result = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

/**
 * Starts a real Redis Cluster of `masters` masters without replicas on free loopback ports
 * (each node's bus port, port + 10000, free too), creates it with `redis-cli --cluster create`,
 * and resolves when every node reports `cluster_state:ok`. For tests and benchmarks.
 *
 * @example
 * const cluster = await startTestCluster();
 * const client = await connectRedis(cluster.url);
 * // …
 * await client.close();
 * await cluster.stop();
 */
export async function startTestCluster({
  masters = 3,
  timeoutMs = 30_000,
} = {}): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
  const ports = await freePorts(masters, { busOffset: 10_000 });
  const nodes: RedisServerProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const dir = join(root, String(port));
      spawnSync('mkdir', ['-p', dir]);
      nodes.push(
        await startRedisServer(
          [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--appendonly',
            'no',
          ],
          { port, dir },
        ),
      );
    }
    const create = spawn(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    create.stdout.on('data', (chunk) => {
      output += chunk;
    });
    create.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => create.once('exit', resolve));
    if (code !== 0) throw new Error(`redis-cli --cluster create failed:\n${output}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = ports.map((port) => redisCli(port, 'cluster', 'info'));
      if (states.every((info) => info.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      ports,
      url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
      nodes,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
