import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SEVERITY_RANK, type Severity } from './check-catalog.js';
import { loadTargetFile } from './load-target.js';
import { renderHtml } from './render-html.js';
import { renderSarif } from './render-sarif.js';
import { renderTerminal } from './render-terminal.js';
import { hasBlockingFailure } from './report.js';
import { AuditSetupError, runAudit } from './run-audit.js';

export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
}

export const USAGE = `Usage: tessera audit TARGET.yaml [options]

Audits a backend's session handling black-box, as described by TARGET (YAML or JSON).

Options:
  --json [FILE]        JSON report to FILE (a name ending in .json, or "-"), or to stdout
  --sarif FILE         SARIF 2.1.0 report
  --html FILE          self-contained HTML report
  --quick              skip checks that wait (idle and absolute timeouts, long grace replays)
  --max-wait SECONDS   longest wait a check may plan; longer ones are SKIPPED
  --fail-on SEVERITY   exit 1 when a check fails at or above it: critical|high|medium|low|info (default high)
  --only IDS           comma-separated check ids, e.g. SH-TERM-01,SH-TOK-05
  --sample N           logins for the randomness sample (default 200, at most 20000)
  --help               this text

Exit codes: 0 no failure at or above --fail-on; 1 at least one; 2 bad target file or unreachable target.
`;

/**
 * `--json` takes the next argument as its file when it is "-", or ends in .json and another
 * argument is left to be the target: `--json target.yaml` and `--json target.json` (alone) both
 * mean "JSON to stdout".
 */
function normaliseJsonFlag(argv: string[]): string[] {
  const valued = new Set(['--sarif', '--html', '--max-wait', '--fail-on', '--only', '--sample']);
  // Positional candidates: not a flag and not the value of a flag that takes one.
  const positional = argv.filter(
    (arg, i) => !arg.startsWith('-') && !valued.has(argv[i - 1] ?? '') && argv[i - 1] !== '--json',
  );
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') {
      const next = argv[i + 1];
      // A following *.json is the output file only if a target file remains besides it.
      const isFile =
        next !== undefined &&
        (next === '-' || (next.toLowerCase().endsWith('.json') && positional.length >= 1));
      if (isFile) {
        out.push(`--json=${next}`);
        i++;
      } else out.push('--json=-');
    } else out.push(arg);
  }
  return out;
}

/**
 * The `tessera audit` command. Returns the exit code instead of exiting, so the main CLI and tests
 * can call it.
 *
 * @example
 * process.exitCode = await runAuditCli(process.argv.slice(2));
 */
export async function runAuditCli(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  function parse(args: string[]) {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'string' },
        sarif: { type: 'string' },
        html: { type: 'string' },
        quick: { type: 'boolean' },
        'max-wait': { type: 'string' },
        'fail-on': { type: 'string' },
        only: { type: 'string' },
        sample: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  }
  try {
    parsed = parse(normaliseJsonFlag(argv));
  } catch (e) {
    io.stderr.write(`tessera audit: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const targetPath = positionals[0];
  if (!targetPath || positionals.length > 1) {
    io.stderr.write(`tessera audit: give exactly one target file\n\n${USAGE}`);
    return 2;
  }
  const failOn = (values['fail-on'] ?? 'high') as Severity;
  if (!(failOn in SEVERITY_RANK)) {
    io.stderr.write(
      `tessera audit: --fail-on must be one of critical, high, medium, low, info (got "${failOn}")\n`,
    );
    return 2;
  }
  const number = (
    flag: string,
    raw: string | undefined,
    max = Number.POSITIVE_INFINITY,
  ): number | undefined | null => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || n > max) {
      io.stderr.write(
        `tessera audit: ${flag} must be a number between 0 and ${max} (got "${raw}")\n`,
      );
      return null;
    }
    return n;
  };
  const maxWait = number('--max-wait', values['max-wait']);
  const sample = number('--sample', values.sample, 20000);
  if (maxWait === null || sample === null) return 2;

  const loaded = loadTargetFile(targetPath, { env: io.env });
  if (!loaded.ok) {
    io.stderr.write(
      `tessera audit: ${targetPath} has ${loaded.errors.length} problem(s):\n${loaded.errors.map((m) => `  - ${m}`).join('\n')}\n`,
    );
    return 2;
  }
  const only = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim().toUpperCase())
        .filter((s) => s !== '')
    : [];
  let report: Awaited<ReturnType<typeof runAudit>>;
  try {
    report = await runAudit(loaded.target, {
      quick: values.quick ?? false,
      ...(maxWait !== undefined ? { maxWaitSeconds: maxWait } : {}),
      ...(sample !== undefined ? { sampleSize: Math.floor(sample) } : {}),
      only,
      failOn,
      env: io.env,
      onProgress: (line) => io.stderr.write(`· ${line}\n`),
      cleanupOnInterrupt: true,
    });
  } catch (e) {
    if (e instanceof AuditSetupError) {
      io.stderr.write(`tessera audit: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const colour = io.stdout.isTTY === true && io.env['NO_COLOR'] === undefined;
  const jsonToStdout = values.json === '-';
  const human = renderTerminal(report, { colour: !jsonToStdout && colour });
  if (jsonToStdout) {
    io.stdout.write(json);
    io.stderr.write(human);
  } else io.stdout.write(human);
  if (values.json && !jsonToStdout) writeFileSync(values.json, json);
  if (values.sarif) writeFileSync(values.sarif, renderSarif(report));
  if (values.html) writeFileSync(values.html, renderHtml(report));
  return hasBlockingFailure(report, failOn) ? 1 : 0;
}
