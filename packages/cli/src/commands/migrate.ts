import { COMMON_OPTIONS, expectPositionals, parseCommandArgs } from '../args.js';
import { loadConfig } from '../config.js';
import type { CliIo } from '../io.js';
import { openStore } from '../open-store.js';
import { redactStoreUrl } from '../store-url.js';

export const MIGRATE_HELP = `Usage: tessera migrate [--store URL] [--config FILE]

Applies the PostgreSQL schema migrations (safe to run again, and from several nodes at once).
SQLite applies its migrations itself whenever a store opens; Redis needs none.

Options:
  -c, --config FILE   configuration file (JSON); also TESSERA_CONFIG
      --store URL     store URL, e.g. postgres://user@host:5432/db?schema=tessera; also TESSERA_STORE
  -h, --help          show this help`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  config: { type: 'string', short: 'c' },
  store: { type: 'string' },
} as const;

/** `tessera migrate`. */
export async function migrateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('migrate', argv, OPTIONS);
  if (values.help) {
    io.out(MIGRATE_HELP);
    return 0;
  }
  expectPositionals('migrate', positionals, []);
  const config = loadConfig({
    configFile: values.config,
    env: io.env,
    flags: { store: values.store },
  });
  const where = redactStoreUrl(config.storeUrl);
  if (config.store.kind === 'redis' || config.store.kind === 'redis-cluster') {
    io.out(`Redis needs no migrations (${where}): nothing to do.`);
    return 0;
  }
  // Opening the store applies the migrations: PostgreSQL because we ask, SQLite always.
  const opened = await openStore(config.store, { migrate: true });
  await opened.close();
  if (config.store.kind === 'sqlite') {
    io.out(
      `SQLite migrates itself whenever a store opens (every tessera command does): ${config.store.path} is up to date.`,
    );
  } else {
    const {
      schema = config.store.schema ?? 'tessera',
      from = 0,
      to = 0,
      applied = [],
    } = opened.migrated ?? {};
    io.out(
      applied.length === 0
        ? `PostgreSQL schema "${schema}" at ${where} is up to date (version ${to}).`
        : `PostgreSQL schema "${schema}" at ${where} migrated from version ${from} to ${to}.`,
    );
  }
  return 0;
}
