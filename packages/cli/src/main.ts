#!/usr/bin/env node
import { runCli } from './cli.js';
import { processIo } from './io.js';

// Exit explicitly: a store driver's reconnect timer must not keep a finished command alive.
// Writes to pipes and files are synchronous on Linux, so no output is lost.
process.exit(await runCli(process.argv.slice(2), processIo));
