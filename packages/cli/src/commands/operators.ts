import {
  createOperatorAccounts,
  isTesseraError,
  OPERATOR_PASSWORD_MIN_LENGTH,
  type OperatorAccounts,
  type OperatorRecord,
  operatorNameProblem,
  operatorPasswordProblem,
} from '@tessera/core';
import { COMMON_OPTIONS, expectPositionals, parseCommandArgs, STORE_OPTIONS } from '../args.js';
import { openEngine, storeFlags } from '../engine-context.js';
import { runtimeError, usageError } from '../errors.js';
import { isoOrDash, tsv } from '../format.js';
import type { CliIo } from '../io.js';

export const OPERATORS_HELP = `Usage: tessera operators <create|list|disable|enable|reset-password> [options]

Manage the operators who sign in to the console at /console. Passwords are stored only as
scrypt hashes (own salt and parameters per operator). A password is never a command-line
argument: on a terminal it is asked twice without echo, otherwise the first line of standard
input is read. At least ${OPERATOR_PASSWORD_MIN_LENGTH} characters (NIST SP 800-63B-4).

  tessera operators create NAME           create an operator (password from stdin or prompt)
  tessera operators list [--json]         name, id, status, last sign-in, failed attempts
  tessera operators disable NAME          refuse its sign-ins and end its console sessions
  tessera operators enable NAME           allow it to sign in again
  tessera operators reset-password NAME   new password (stdin or prompt); lifts a lock-out and
                                          ends its console sessions

Five failed sign-ins in a row make each further attempt wait 30 s, doubling up to 15 min; the
count is kept in the store, so it holds on every node.

  printf '%s\\n' "$PASSWORD" | tessera operators create ada

Options:
  -c, --config FILE   configuration file (JSON); also TESSERA_CONFIG
      --store URL     store URL (default sqlite:./tessera.db); also TESSERA_STORE
      --no-migrate    PostgreSQL: do not apply migrations first
      --json          machine-readable output
  -h, --help          show this help`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORE_OPTIONS,
  json: { type: 'boolean' },
} as const;

const ACTIONS = ['create', 'list', 'disable', 'enable', 'reset-password'] as const;
type Action = (typeof ACTIONS)[number];

/** `tessera operators create|list|disable|enable|reset-password`. */
export async function operatorsCommand(argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h' || action === 'help') {
    io.out(OPERATORS_HELP);
    return 0;
  }
  if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) {
    throw usageError(
      `tessera operators: ${action === undefined ? 'missing action' : `unknown action "${action}"`} — use ${ACTIONS.join(', ')} (see \`tessera operators --help\`)`,
    );
  }
  const command = `operators ${action}`;
  const { values, positionals } = parseCommandArgs(command, rest, OPTIONS);
  if (values.help) {
    io.out(OPERATORS_HELP);
    return 0;
  }
  let name: string | undefined;
  if (action === 'list') {
    expectPositionals(command, positionals, []);
  } else {
    [name] = expectPositionals(command, positionals, ['name']);
    const problem = operatorNameProblem(name as string);
    if (problem !== null) throw usageError(`tessera ${command}: ${problem}`);
  }
  // Read before the store opens: a bad password is a usage error, with nothing opened or written.
  const password =
    action === 'create' || action === 'reset-password'
      ? await readNewPassword(io, command)
      : undefined;

  const engine = await openEngine({ io, configFile: values.config, flags: storeFlags(values) });
  try {
    const accounts = createOperatorAccounts({ tessera: engine.tessera });
    return await run(accounts, action as Action, {
      name,
      password,
      json: values.json === true,
      io,
      now: engine.tessera.clock.now(),
    });
  } catch (error) {
    if (isTesseraError(error, 'invalid_argument'))
      throw runtimeError(`tessera ${command}: ${error.message}`);
    if (isTesseraError(error, 'store_conflict')) {
      throw runtimeError(
        `tessera ${command}: an operator named "${name}" already exists — see \`tessera operators list\``,
      );
    }
    throw error;
  } finally {
    await engine.close();
  }
}

async function run(
  accounts: OperatorAccounts,
  action: Action,
  context: {
    name: string | undefined;
    password: string | undefined;
    json: boolean;
    io: CliIo;
    now: number;
  },
): Promise<number> {
  const { name = '', password = '', json, io, now } = context;
  switch (action) {
    case 'create': {
      const operator = await accounts.create({ name, password });
      io.out(
        json
          ? JSON.stringify(toJson(operator, accounts, now))
          : `Created operator ${operator.name} (id ${operator.id}). It can sign in at /console.`,
      );
      return 0;
    }
    case 'disable': {
      const { operator, endedSessions } = await accounts.disable(name);
      io.out(
        json
          ? JSON.stringify({ ...toJson(operator, accounts, now), ended_sessions: endedSessions })
          : `Disabled operator ${operator.name}; ended ${endedSessions} console session(s).`,
      );
      return 0;
    }
    case 'enable': {
      const operator = await accounts.enable(name);
      io.out(
        json
          ? JSON.stringify(toJson(operator, accounts, now))
          : `Enabled operator ${operator.name}.`,
      );
      return 0;
    }
    case 'reset-password': {
      const { operator, endedSessions } = await accounts.resetPassword(name, password);
      io.out(
        json
          ? JSON.stringify({ ...toJson(operator, accounts, now), ended_sessions: endedSessions })
          : `New password set for ${operator.name}; ended ${endedSessions} console session(s).`,
      );
      return 0;
    }
    case 'list': {
      const operators = await accounts.list();
      if (json) {
        io.out(JSON.stringify(operators.map((o) => toJson(o, accounts, now))));
        return 0;
      }
      io.out(tsv(['NAME', 'ID', 'STATUS', 'CREATED', 'LAST SIGN-IN', 'FAILED']));
      for (const o of operators) {
        const view = toJson(o, accounts, now);
        io.out(
          tsv([o.name, o.id, view.status, view.created_at, view.last_sign_in_at, o.failedSignIns]),
        );
      }
      return 0;
    }
  }
}

/** The public view of an operator: never its password hash. */
function toJson(o: OperatorRecord, accounts: OperatorAccounts, now: number) {
  const lockedUntil = accounts.lockedUntil(o, now);
  return {
    id: o.id,
    name: o.name,
    status:
      o.disabledAt !== null
        ? 'disabled'
        : lockedUntil !== null
          ? `locked until ${isoOrDash(lockedUntil)}`
          : 'enabled',
    created_at: isoOrDash(o.createdAt),
    password_changed_at: isoOrDash(o.passwordChangedAt),
    disabled_at: o.disabledAt === null ? null : isoOrDash(o.disabledAt),
    last_sign_in_at: o.lastSignInAt === null ? null : isoOrDash(o.lastSignInAt),
    failed_sign_ins: o.failedSignIns,
  };
}

async function readNewPassword(io: CliIo, command: string): Promise<string> {
  if (io.readSecret === undefined) {
    throw usageError(
      `tessera ${command}: no way to read a password here (standard input is needed)`,
    );
  }
  let password: string;
  try {
    password = await io.readSecret('New password: ', { confirmPrompt: 'Repeat it: ' });
  } catch (error) {
    throw usageError(
      `tessera ${command}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (password === '') {
    throw usageError(
      `tessera ${command}: no password given — type it at the prompt, or pipe it on standard input`,
    );
  }
  const problem = operatorPasswordProblem(password);
  if (problem !== null) throw usageError(`tessera ${command}: ${problem}`);
  return password;
}
