import type { EndReason, SessionRecord } from '@tessera/core';
import { COMMON_OPTIONS, expectPositionals, parseCommandArgs, STORE_OPTIONS } from '../args.js';
import { openEngine, storeFlags } from '../engine-context.js';
import { runtimeError, usageError } from '../errors.js';
import { isoOrDash, tsv } from '../format.js';
import type { CliIo } from '../io.js';

/**
 * Reasons an operator may give. The others (`idle_timeout`, `absolute_timeout`,
 * `refresh_token_reuse`, `session_limit`) are facts the engine records; an operator claiming
 * one would make the audit trail lie.
 */
export const OPERATOR_END_REASONS: readonly EndReason[] = [
  'admin',
  'logout',
  'logout_all',
  'password_changed',
  'privilege_changed',
  'account_disabled',
  'device_lost',
];

export const SESSIONS_HELP = `Usage: tessera sessions <list|end> [options]

  tessera sessions list --user USER_ID [--json]   live sessions of a user, oldest first
  tessera sessions end SESSION_ID [--reason R]    end one session now (default reason: admin)

Reasons: ${OPERATOR_END_REASONS.join(', ')}

Options:
  -c, --config FILE   configuration file (JSON); also TESSERA_CONFIG
      --store URL     store URL (default sqlite:./tessera.db); also TESSERA_STORE
      --no-migrate    PostgreSQL: do not apply migrations first
      --json          machine-readable output
  -h, --help          show this help`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORE_OPTIONS,
  user: { type: 'string', short: 'u' },
  reason: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** `tessera sessions list|end`. */
export async function sessionsCommand(argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h' || action === 'help') {
    io.out(SESSIONS_HELP);
    return 0;
  }
  if (action !== 'list' && action !== 'end') {
    throw usageError(
      `tessera sessions: ${action === undefined ? 'missing action' : `unknown action "${action}"`} — use list or end (see \`tessera sessions --help\`)`,
    );
  }
  const command = `sessions ${action}`;
  const { values, positionals } = parseCommandArgs(command, rest, OPTIONS);
  if (values.help) {
    io.out(SESSIONS_HELP);
    return 0;
  }
  let endId: string | undefined;
  let reason: EndReason = 'admin';
  if (action === 'list') {
    expectPositionals(command, positionals, []);
    if (!values.user) {
      throw usageError('tessera sessions list: --user USER_ID is required');
    }
  } else {
    [endId] = expectPositionals(command, positionals, ['session_id']);
    if (values.reason !== undefined) {
      if (!OPERATOR_END_REASONS.includes(values.reason as EndReason)) {
        throw usageError(
          `tessera sessions end: --reason must be one of ${OPERATOR_END_REASONS.join(', ')} (got "${values.reason}")`,
        );
      }
      reason = values.reason as EndReason;
    }
  }

  const engine = await openEngine({ io, configFile: values.config, flags: storeFlags(values) });
  try {
    if (endId !== undefined) {
      // Ending is durable before `end` resolves: every node refuses the tokens from now on.
      const ended = await engine.tessera.end(endId, reason);
      if (!ended) {
        throw runtimeError(
          `no live session with id ${endId} (unknown, or already ended) — see \`tessera sessions list --user USER_ID\``,
        );
      }
      io.out(`Ended session ${ended.id} of user ${ended.userId} (reason: ${reason}).`);
      return 0;
    }
    const sessions = await engine.tessera.listForUser(values.user as string);
    if (values.json) {
      io.out(JSON.stringify(sessions.map(toJson)));
      return 0;
    }
    io.out(
      tsv([
        'ID',
        'POLICY',
        'CREATED',
        'LAST_ACTIVE',
        'IDLE_EXPIRES',
        'ABSOLUTE_EXPIRES',
        'DEVICE',
        'PLATFORM',
        'IP',
      ]),
    );
    for (const s of sessions) {
      io.out(
        tsv([
          s.id,
          s.policy,
          isoOrDash(s.createdAt),
          isoOrDash(s.lastActiveAt),
          isoOrDash(s.idleExpiresAt),
          isoOrDash(s.absoluteExpiresAt),
          s.device.name ?? s.device.id,
          s.device.platform,
          s.device.ip,
        ]),
      );
    }
    return 0;
  } finally {
    await engine.close();
  }
}

/** The public view of a session: token hashes and the sealed successor never leave the store. */
function toJson(session: SessionRecord) {
  return {
    id: session.id,
    user_id: session.userId,
    policy: session.policy,
    created_at: isoOrDash(session.createdAt),
    last_active_at: isoOrDash(session.lastActiveAt),
    idle_expires_at: isoOrDash(session.idleExpiresAt),
    absolute_expires_at: isoOrDash(session.absoluteExpiresAt),
    authenticated_at: isoOrDash(session.authenticatedAt),
    auth_methods: session.authMethods,
    device: {
      id: session.device.id ?? null,
      name: session.device.name ?? null,
      platform: session.device.platform ?? null,
      app_version: session.device.appVersion ?? null,
      ip: session.device.ip ?? null,
      user_agent: session.device.userAgent ?? null,
    },
  };
}
