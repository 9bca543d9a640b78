#!/usr/bin/env node
// Standalone entry: `node --import tsx packages/audit/src/bin.ts target.yaml`.
import { runAuditCli } from './cli.js';

runAuditCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `tessera audit: unexpected error: ${(error as Error).stack ?? String(error)}\n`,
    );
    process.exitCode = 2;
  },
);
