import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CliIo, runCli } from 'tessera';

/** The repository root: the real CLI runs from its sources, as `npm test` runs it. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE_ARGS = ['--conditions=source', '--import', 'tsx', 'packages/cli/src/main.ts'];

/** Environment for a child: the parent's, minus any TESSERA_* that could change its behaviour. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TESSERA_')) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one `tessera …` command line to completion. */
export function runTessera(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...NODE_ARGS, ...args],
      { cwd: ROOT, env: childEnv(env), timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface RunningServer {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Everything the process wrote so far, stdout and stderr interleaved as received. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `tessera serve …` and resolves once it printed where it listens. Output is captured
 * for the whole life of the process so the test can search it for secrets.
 */
export function startTessera(
  args: string[],
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const child = spawn(process.execPath, [...NODE_ARGS, 'serve', ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let captured = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera serve did not start within 30 s:\n${captured}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      captured += chunk.toString('utf8');
      const match = /Tessera listening on (https?:\/\/\S+) /.exec(captured);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => captured, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`tessera serve exited with ${code} before listening:\n${captured}`));
    });
  });
}

/** Resolves with the first match of `pattern` in the server's output, waiting up to 10 s. */
export async function waitForOutput(
  server: RunningServer,
  pattern: RegExp,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const match = pattern.exec(server.output());
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the output:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Runs one command line in this process, through the same `runCli` as the binary, with
 * captured streams: cheaper than a child where the process boundary is not what is tested.
 */
export async function runInProcess(
  argv: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), env };
  const code = await runCli(argv, io);
  return {
    code,
    stdout: out.length ? `${out.join('\n')}\n` : '',
    stderr: err.length ? `${err.join('\n')}\n` : '',
  };
}
