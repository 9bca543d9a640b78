import { runBackendDemo } from './demo.js';

// `npm run example`: starts the Tessera service, the mobile backend and the gateway in this
// process (fresh SQLite files in a temporary directory), plays the transcript, stops everything.
const lines = await runBackendDemo();
const failed = lines.filter((l) => !l.ok);
console.log(
  failed.length === 0
    ? `\nall ${lines.length} steps as expected`
    : `\n${failed.length} step(s) not as expected`,
);
process.exit(failed.length === 0 ? 0 : 1);
