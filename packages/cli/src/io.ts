import { readSecretFromStdin } from './read-secret.js';

/** Where a command writes and what environment it reads; injected so commands can be tested. */
export interface CliIo {
  /** Writes one line (a newline is added) to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Reads a secret (a password): prompted without echo on a terminal, else the first line of
   * standard input. Never from argv. @default none: commands that need one refuse to run
   */
  readSecret?(prompt: string, options?: { confirmPrompt?: string }): Promise<string>;
}

/** The real process streams. Writes to pipes and files are synchronous on Linux, so nothing is lost at exit. */
export const processIo: CliIo = {
  out: (line) => {
    process.stdout.write(`${line}\n`);
  },
  err: (line) => {
    process.stderr.write(`${line}\n`);
  },
  env: process.env,
  readSecret: (prompt, options) => readSecretFromStdin(prompt, options),
};
