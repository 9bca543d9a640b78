import { readFileSync } from 'node:fs';
import { auditCommand } from './commands/audit.js';
import { EVENTS_HELP, eventsCommand } from './commands/events.js';
import { KEYS_HELP, keysCommand } from './commands/keys.js';
import { MIGRATE_HELP, migrateCommand } from './commands/migrate.js';
import { OPERATORS_HELP, operatorsCommand } from './commands/operators.js';
import { SERVE_HELP, serveCommand } from './commands/serve.js';
import { SESSIONS_HELP, sessionsCommand } from './commands/sessions.js';
import { WEBHOOKS_HELP, webhooksCommand } from './commands/webhooks.js';
import { toExitLine, usageError } from './errors.js';
import type { CliIo } from './io.js';

export const MAIN_HELP = `Usage: tessera <command> [options]

Tessera: a session authority for mobile and web backends.

Commands:
  serve                       run the HTTP service
  keys create|list|revoke     manage backend service keys
  operators create|list|…     manage the console's operators (see \`tessera operators --help\`)
  sessions list|end           list a user's live sessions, end one
  events                      query session events
  webhooks create|list|…      event delivery by webhooks (see \`tessera webhooks --help\`)
  migrate                     apply PostgreSQL schema migrations
  audit TARGET                audit any backend's session handling (see \`tessera audit --help\`)

Options:
  -h, --help       show help (also \`tessera <command> --help\`)
  -v, --version    print the version
      --debug      print stack traces of errors (also TESSERA_DEBUG=1)

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.`;

const HELP: Record<string, string> = {
  serve: SERVE_HELP,
  keys: KEYS_HELP,
  operators: OPERATORS_HELP,
  sessions: SESSIONS_HELP,
  events: EVENTS_HELP,
  migrate: MIGRATE_HELP,
  webhooks: WEBHOOKS_HELP,
};

/** The version in this package's package.json (same relative place from src/ and dist/). */
export function cliVersion(): string {
  const file = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * Runs one `tessera` command line and resolves with its exit code. Expected failures become
 * one line on stderr (exit 2 for usage and configuration, 1 at run time); stack traces only
 * with `--debug` or `TESSERA_DEBUG=1`.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), processIo);
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  // `tessera --debug serve …` as well as `tessera serve --debug …`.
  const leadingDebug = argv[0] === '--debug';
  const [command, ...rest] = leadingDebug ? argv.slice(1) : argv;
  // `audit` owns its arguments, `--debug` included.
  const debug =
    io.env['TESSERA_DEBUG'] === '1' ||
    leadingDebug ||
    (command !== 'audit' && rest.includes('--debug'));
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest, io);
      case 'keys':
        return await keysCommand(rest, io);
      case 'operators':
        return await operatorsCommand(rest, io);
      case 'sessions':
        return await sessionsCommand(rest, io);
      case 'events':
        return await eventsCommand(rest, io);
      case 'migrate':
        return await migrateCommand(rest, io);
      case 'webhooks':
        return await webhooksCommand(rest, io);
      case 'audit':
        return await auditCommand(rest);
      case 'help':
      case '--help':
      case '-h': {
        const topic = rest[0];
        if (topic === 'audit') return await auditCommand(['--help']);
        io.out((topic !== undefined && HELP[topic]) || MAIN_HELP);
        return 0;
      }
      case '--version':
      case '-v':
      case 'version':
        io.out(cliVersion());
        return 0;
      case undefined:
        throw usageError('missing command — see `tessera --help`');
      default:
        throw usageError(
          `unknown command "${command}" — use serve, keys, operators, sessions, events, migrate or audit (see \`tessera --help\`)`,
        );
    }
  } catch (error) {
    const { exitCode, line } = toExitLine(error);
    io.err(line.startsWith('tessera ') ? line : `tessera: ${line}`);
    if (debug) io.err(stackOf(error));
    return exitCode;
  }
}

function stackOf(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth += 1) {
    lines.push(current instanceof Error ? (current.stack ?? String(current)) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) lines.push('Caused by:');
  }
  return lines.join('\n');
}
