import { type ParseArgsConfig, parseArgs } from 'node:util';
import { errorCode, usageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
} as const satisfies Options;

/** Options of the commands that open the store. */
export const STORE_OPTIONS = {
  config: { type: 'string', short: 'c' },
  store: { type: 'string' },
  'no-migrate': { type: 'boolean' },
} as const satisfies Options;

/** What `parseArgs` answers for these options (named, so that declarations can be emitted). */
export type ParsedCommand<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; args: string[]; allowPositionals: true; strict: true }>
>;

/**
 * `parseArgs` in strict mode (positionals allowed, then checked by `expectPositionals`), with its errors turned into one-line usage errors (exit code 2)
 * that point at the command's help.
 *
 * @example
 * const { values, positionals } = parseCommandArgs('keys revoke', argv, COMMON_OPTIONS);
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
): ParsedCommand<O> {
  const seeHelp = `see \`tessera ${command} --help\``;
  try {
    return parseArgs({ options, args: argv, allowPositionals: true, strict: true });
  } catch (error) {
    const quoted = error instanceof Error ? /'([^']+)'/.exec(error.message)?.[1] : undefined;
    switch (errorCode(error)) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw usageError(`tessera ${command}: unknown option ${quoted ?? ''} — ${seeHelp}`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        throw usageError(
          `tessera ${command}: option ${/--[\w-]+/.exec(quoted ?? '')?.[0] ?? quoted} needs a value — ${seeHelp}`,
        );
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw usageError(`tessera ${command}: unexpected argument ${quoted ?? ''} — ${seeHelp}`);
      default:
        throw error;
    }
  }
}

/** Refuses extra or missing positional arguments. */
export function expectPositionals(
  command: string,
  positionals: string[],
  names: string[],
): string[] {
  if (positionals.length !== names.length) {
    const wanted =
      names.length === 0 ? 'no arguments' : names.map((n) => n.toUpperCase()).join(' ');
    throw usageError(
      `tessera ${command}: expected ${wanted}, got ${positionals.length === 0 ? 'none' : positionals.join(' ')} — see \`tessera ${command} --help\``,
    );
  }
  return positionals;
}
