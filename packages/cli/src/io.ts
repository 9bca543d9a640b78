/** Where a command writes and what environment it reads; injected so commands can be tested. */
export interface CliIo {
  /** Writes one line (a newline is added) to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
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
};
