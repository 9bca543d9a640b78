#!/usr/bin/env node
// Runs every test file of the monorepo with node:test through tsx.
// Node 20 does not expand globs for --test, so the files are listed here.
// `npm test -- packages/core` runs only the files under the given paths.
//
// Before any suite runs, scripts/ensure-services.sh makes sure Redis, PostgreSQL and (when a
// selected file drives a browser) Chromium are there, starting or installing them where it can;
// otherwise it stops at once with one line saying what is missing and how to fix it.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = ['packages', 'examples']
  .flatMap((dir) => collect(join(root, dir), []))
  .filter((file) => filters.length === 0 || filters.some((f) => file.startsWith(f)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || 'packages/ or examples/'}`);
  process.exit(1);
}
const needsBrowser = files.some((file) =>
  /launchChromium|playwright-core/.test(readFileSync(join(root, file), 'utf8')),
);
const services = spawnSync(
  'bash',
  [join(root, 'scripts/ensure-services.sh'), ...(needsBrowser ? ['--browser'] : [])],
  { cwd: root, stdio: 'inherit' },
);
if (services.status !== 0) process.exit(services.status ?? 1);

const result = spawnSync(
  process.execPath,
  [
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.TESSERA_TEST_CONCURRENCY ?? 2}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
