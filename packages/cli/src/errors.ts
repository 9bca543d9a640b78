import { isTesseraError } from '@tessera/core';

/** 2: the command line or the configuration is wrong; 1: it was right but something failed. */
export type ExitCode = 1 | 2;

/**
 * An expected failure of the CLI: its message is the one line the user sees (what is wrong and
 * how to fix it), so it never carries a stack trace unless `--debug` asks for one.
 *
 * @example
 * throw new CliError(2, 'unknown option --prot — see `tessera serve --help`');
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** A usage or configuration mistake (exit code 2). */
export function usageError(message: string, options?: { cause?: unknown }): CliError {
  return new CliError(2, message, options);
}

/** A runtime failure: the store, the network, the file system (exit code 1). */
export function runtimeError(message: string, options?: { cause?: unknown }): CliError {
  return new CliError(1, message, options);
}

/** The errno-style code of a Node error (`ENOENT`, `EADDRINUSE`…), if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code } = error as { code: unknown };
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A short, single-line description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    // Node reports a refused connection to `localhost` as one AggregateError over ::1 and
    // 127.0.0.1 with an empty message: the first inner error says what happened.
    return describeError(error.errors[0]);
  }
  if (error instanceof Error) {
    const code = errorCode(error);
    const message = error.message.split('\n')[0] ?? '';
    if (code && !message.includes(code)) return message ? `${code}: ${message}` : code;
    return message || code || error.name;
  }
  return String(error);
}

/**
 * Turns whatever a command threw into the exit code and the one line to print. Engine errors
 * about the configuration are the user's to fix (2); everything else is a runtime failure (1).
 */
export function toExitLine(error: unknown): { exitCode: ExitCode; line: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, line: error.message };
  if (
    isTesseraError(error, 'invalid_config') ||
    isTesseraError(error, 'invalid_argument') ||
    isTesseraError(error, 'unknown_policy')
  ) {
    return { exitCode: 2, line: `${error.message} — fix the configuration and try again` };
  }
  if (isTesseraError(error, 'store_unavailable')) {
    return {
      exitCode: 1,
      line: `the store is unavailable: ${error.message} — check that it runs and the store URL is right`,
    };
  }
  return {
    exitCode: 1,
    line: `unexpected error: ${describeError(error)} (run again with --debug or TESSERA_DEBUG=1 for details)`,
  };
}
