import { SCOPES, type Scope, type ServiceKeyRecord } from '@tessera/core';
import { COMMON_OPTIONS, expectPositionals, parseCommandArgs, STORE_OPTIONS } from '../args.js';
import { openEngine, storeFlags } from '../engine-context.js';
import { runtimeError, usageError } from '../errors.js';
import { isoOrDash, tsv } from '../format.js';
import type { CliIo } from '../io.js';

export const KEYS_HELP = `Usage: tessera keys <create|list|revoke> [options]

Manage the service keys (tsk_…) that backends use to call Tessera. Only the SHA-256 of a key
is stored: the key itself is printed once, at creation.

  tessera keys create --name NAME --scopes SCOPE[,SCOPE…]   create a key and print it once
  tessera keys list [--json]                                 id, name, scopes, created, revoked
  tessera keys revoke ID                                     revoke a key (immediately refused)

Scopes: ${SCOPES.join(', ')} (admin implies all)

Options:
  -c, --config FILE   configuration file (JSON); also TESSERA_CONFIG
      --store URL     store URL (default sqlite:./tessera.db); also TESSERA_STORE
      --no-migrate    PostgreSQL: do not apply migrations first
      --json          machine-readable output
  -h, --help          show this help`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORE_OPTIONS,
  name: { type: 'string' },
  scopes: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** `tessera keys create|list|revoke`. */
export async function keysCommand(argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h' || action === 'help') {
    io.out(KEYS_HELP);
    return 0;
  }
  if (action === undefined) {
    throw usageError(
      'tessera keys: missing action — use create, list or revoke (see `tessera keys --help`)',
    );
  }
  if (action !== 'create' && action !== 'list' && action !== 'revoke') {
    throw usageError(`tessera keys: unknown action "${action}" — use create, list or revoke`);
  }
  const command = `keys ${action}`;
  const { values, positionals } = parseCommandArgs(command, rest, OPTIONS);
  if (values.help) {
    io.out(KEYS_HELP);
    return 0;
  }

  let create: { name: string; scopes: Scope[] } | undefined;
  let revokeId: string | undefined;
  if (action === 'create') {
    expectPositionals(command, positionals, []);
    create = { name: parseName(values.name), scopes: parseScopes(values.scopes) };
  } else if (action === 'revoke') {
    [revokeId] = expectPositionals(command, positionals, ['id']);
  } else {
    expectPositionals(command, positionals, []);
  }

  const engine = await openEngine({ io, configFile: values.config, flags: storeFlags(values) });
  try {
    if (create) {
      const { key, record } = await engine.tessera.createServiceKey(create);
      if (values.json) {
        io.out(JSON.stringify({ ...toJson(record), key }));
      } else {
        io.out(
          `Created service key ${record.id} "${record.name}" (scopes: ${record.scopes.join(',')}).`,
        );
        io.out('Save this key now, it is shown only once:');
        io.out(key);
      }
      return 0;
    }
    if (revokeId !== undefined) {
      const revoked = await engine.tessera.revokeServiceKey(revokeId);
      if (!revoked) {
        throw runtimeError(
          `no active service key with id ${revokeId} — see \`tessera keys list\` for the ids`,
        );
      }
      io.out(`Revoked service key ${revokeId}.`);
      return 0;
    }
    const keys = await engine.tessera.listServiceKeys();
    if (values.json) {
      io.out(JSON.stringify(keys.map(toJson)));
    } else {
      io.out(tsv(['ID', 'NAME', 'SCOPES', 'CREATED', 'REVOKED']));
      for (const k of keys) {
        io.out(
          tsv([k.id, k.name, k.scopes.join(','), isoOrDash(k.createdAt), isoOrDash(k.revokedAt)]),
        );
      }
    }
    return 0;
  } finally {
    await engine.close();
  }
}

/** The public view of a key: never its hash, which would let anyone test guesses offline. */
function toJson(record: ServiceKeyRecord) {
  return {
    id: record.id,
    name: record.name,
    scopes: record.scopes,
    created_at: isoOrDash(record.createdAt),
    revoked_at: record.revokedAt === null ? null : isoOrDash(record.revokedAt),
  };
}

function parseName(name: string | undefined): string {
  const trimmed = name?.trim() ?? '';
  if (trimmed.length === 0 || trimmed.length > 100) {
    throw usageError(
      'tessera keys create: --name is required (1–100 characters), for example --name billing-backend',
    );
  }
  return trimmed;
}

function parseScopes(list: string | undefined): Scope[] {
  const scopes = (list ?? '')
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope.length > 0);
  if (scopes.length === 0) {
    throw usageError(
      `tessera keys create: --scopes is required, a comma-separated list of ${SCOPES.join(', ')}`,
    );
  }
  for (const scope of scopes) {
    if (!(SCOPES as readonly string[]).includes(scope)) {
      throw usageError(`tessera keys create: unknown scope "${scope}" — use ${SCOPES.join(', ')}`);
    }
  }
  return scopes as Scope[];
}
