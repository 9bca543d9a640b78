import type { TranscriptLine } from './demo.js';
import { runBackendDemo } from './demo.js';
import { runPhoneDemo } from './phone.js';

// `npm run example`: starts the Tessera service, the mobile backend and the gateway in this
// process (fresh SQLite files in a temporary directory) and plays the backend's transcript over
// raw HTTP; then, on a fresh stack, plays the phone with @tessera/client (src/phone.ts). Exits 1
// if any step is not as expected. `npm run example -- backend` (or `phone`) plays one of them.
const only = process.argv[2];
const lines: TranscriptLine[] = [];
if (only !== 'phone') {
  console.log('— the backend, over raw HTTP (src/demo.ts)\n');
  lines.push(...(await runBackendDemo()));
}
if (only !== 'backend') {
  console.log('\n— the phone, with @tessera/client (src/phone.ts)\n');
  lines.push(...(await runPhoneDemo()).lines);
}
const failed = lines.filter((l) => !l.ok);
console.log(
  failed.length === 0
    ? `\nall ${lines.length} steps as expected`
    : `\n${failed.length} step(s) not as expected`,
);
process.exit(failed.length === 0 ? 0 : 1);
