// A child process that writes to a file storage as fast as it can, until it is killed.
import { fileStorage } from '../src/file-storage.js';

const storage = fileStorage(process.argv[2]!);
let n = 0;
process.stdout.write('ready\n');
for (;;) {
  n++;
  await storage.set('refresh_token', `tsr_${n}`.padEnd(53, 'x'));
  await storage.set('counter', String(n));
}
