import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when nothing listens on 127.0.0.1:`port` and we may bind it. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` free loopback ports in [from, to), each with `port + busOffset` free too (a cluster node
 * also listens on its bus port, port + 10000). Starts at a random point so parallel runs rarely
 * probe the same ports.
 */
export async function freePorts(
  count: number,
  { from = 17000, to = 18000, busOffset = 0 } = {},
): Promise<number[]> {
  const found: number[] = [];
  const span = to - from;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span && found.length < count; i++) {
    const port = from + ((start + i) % span);
    if (!(await portIsFree(port))) continue;
    if (busOffset && !(await portIsFree(port + busOffset))) continue;
    found.push(port);
  }
  if (found.length < count) throw new Error(`no ${count} free ports in ${from}-${to}`);
  return found;
}

/** Resolves once `redis-cli`-free PING over TCP answers +PONG, or rejects after `timeoutMs`. */
export async function waitForPong(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      let data = '';
      socket.setTimeout(500);
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.on('data', (chunk) => {
        data += chunk.toString();
        if (data.includes('\r\n')) {
          socket.destroy();
          resolve(data.startsWith('+PONG'));
        }
      });
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisServerProcess {
  port: number;
  url: string;
  dir: string;
  /** The running child, or null while stopped. */
  readonly child: ChildProcess | null;
  /** SIGKILL, as a crash or a pulled plug would; resolves when the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory; resolves when it answers PING. */
  restart(): Promise<void>;
  /** Kills it (if running) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a private `redis-server` on a free loopback port, in a temp directory, with the extra
 * arguments given (for example `['--appendonly', 'yes', '--appendfsync', 'always']`). Only the
 * process it started is ever signalled.
 */
export async function startRedisServer(
  extraArgs: string[] = [],
  { port: fixedPort, dir: fixedDir }: { port?: number; dir?: string } = {},
): Promise<RedisServerProcess> {
  const [port] = fixedPort ? [fixedPort] : await freePorts(1);
  if (port === undefined) throw new Error('no port');
  const dir = fixedDir ?? mkdtempSync(join(tmpdir(), 'tessera-redis-'));
  let child: ChildProcess | null = null;

  async function launch() {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--daemonize',
      'no',
      '--dir',
      dir,
      ...extraArgs,
    ];
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    started.once('exit', () => {
      if (child === started) child = null;
    });
    await waitForPong(port as number);
  }

  async function kill() {
    const running = child;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  }

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get child() {
      return child;
    },
    kill,
    restart: launch,
    async stop() {
      await kill();
      if (!fixedDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
