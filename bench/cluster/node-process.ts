import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: nodes run the CLI from its sources, as `npm test` does. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_ARGS = ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts', 'serve'];
/** What `npm start` runs: the built CLI, no TypeScript loader (run `tsc -b` first). */
const DIST_ARGS = ['packages/cli/dist/main.js', 'serve'];
/** Longest a node may take to stop on SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 12_000;

export interface NodeCrash {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what the node printed, to see why. */
  output: string;
}

export interface TesseraNode {
  name: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Everything the node printed (stdout and stderr), capped to the last 64 KiB. */
  output(): string;
  /** The first match of `pattern` in the output, waiting for it up to `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends a signal: SIGSTOP freezes the node, SIGCONT thaws it (no crash either way). */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** SIGTERM (after SIGCONT, in case it is frozen), then SIGKILL if it does not stop in time. */
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  name: string;
  store: string;
  configFile: string;
  /** Extra variables, for example `{ TESSERA_CACHE_ENABLED: 'false' }`. */
  env?: Record<string, string>;
  /** Called when the node exits without being asked to. */
  onCrash: (crash: NodeCrash) => void;
  /** Run the built CLI (`packages/cli/dist`), as `npm start` does, not the sources. */
  fromDist?: boolean;
}

/** Every node still running, so that an interrupted benchmark can stop them all. */
const running = new Set<TesseraNode>();

/**
 * Starts `tessera serve --port 0` as a real process and resolves once it printed where it
 * listens. The parent's `TESSERA_*` variables are not passed on: only what the benchmark sets.
 *
 * @example
 * const node = await startNode({ name: 'node 1', store: 'redis://127.0.0.1:6379', configFile, onCrash });
 */
export function startNode(options: StartNodeOptions): Promise<TesseraNode> {
  const { name, store, configFile, env = {}, onCrash, fromDist = false } = options;
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('TESSERA_')) childEnv[key] = value;
  }
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(fromDist ? DIST_ARGS : NODE_ARGS),
      '--config',
      configFile,
      '--store',
      store,
      '--port',
      '0',
    ],
    { cwd: ROOT, env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let captured = '';
  let stopping = false;
  let killedByUs = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const capture = (chunk: Buffer) => {
    captured = (captured + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);

  return new Promise((resolve, reject) => {
    let node: TesseraNode | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 60 s:\n${captured}`));
    }, 60_000);
    const onData = () => {
      const match = /Tessera listening on (http:\/\/\S+) /.exec(captured);
      if (!match?.[1] || node) return;
      clearTimeout(timer);
      const started: TesseraNode = {
        name,
        url: match[1],
        output: () => captured,
        async waitForOutput(pattern, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const found = pattern.exec(captured);
            if (found) return found;
            if (Date.now() > deadline) throw new Error(`${name}: no ${pattern} in:\n${captured}`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
        signal(signal) {
          child.kill(signal);
        },
        async stop() {
          stopping = true;
          running.delete(started);
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGCONT');
          const killer = setTimeout(() => {
            killedByUs = true;
            child.kill('SIGKILL');
          }, STOP_TIMEOUT_MS);
          child.kill('SIGTERM');
          await exited;
          clearTimeout(killer);
        },
      };
      node = started;
      running.add(started);
      resolve(started);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (node) running.delete(node);
      // A node asked to stop exits with 0 (or is killed after the timeout). Anything else is a
      // crash, even while stopping: a node that died first makes requests fail, and the
      // benchmark may start stopping everything before the exit itself is reported.
      if (stopping && (code === 0 || killedByUs)) return;
      if (!node) {
        reject(new Error(`${name} exited with ${code ?? signal} before listening:\n${captured}`));
        return;
      }
      onCrash({ name, code, signal, output: captured.slice(-4000) });
    });
  });
}

/** Stops every node that is still running (on errors and Ctrl-C). */
export async function stopAllNodes(): Promise<void> {
  await Promise.all([...running].map((node) => node.stop()));
}

/** The admin key a node prints on its first start on an empty store. */
export async function adminKeyOf(node: TesseraNode): Promise<string> {
  const [, key] = await node.waitForOutput(/shown only once: (tsk_\w+)/);
  if (!key) throw new Error(`${node.name} printed no admin key`);
  return key;
}
