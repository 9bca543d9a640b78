import {
  EVENT_TYPES,
  type EventQuery,
  type SessionEvent,
  type SessionEventType,
} from '@tessera/core';
import { COMMON_OPTIONS, expectPositionals, parseCommandArgs, STORE_OPTIONS } from '../args.js';
import { openEngine, storeFlags } from '../engine-context.js';
import { usageError } from '../errors.js';
import { isoOrDash, tsv } from '../format.js';
import type { CliIo } from '../io.js';

export const EVENTS_HELP = `Usage: tessera events [--user U] [--session S] [--type T] [--since ISO] [--limit N] [--json]

Session events, oldest first: created, refreshed, refresh_replayed, refresh_reuse, step_up,
ended (with the reason). Events never carry a token.

Options:
  -u, --user USER_ID       only this user's events
  -s, --session ID         only this session's events
  -t, --type TYPE          only this type: ${EVENT_TYPES.join(', ')}
      --since TIME         only events at or after TIME (ISO 8601, e.g. 2026-01-31T12:00:00Z)
  -n, --limit N            at most N events (1–10000, default 100)
      --json               one JSON array instead of tab-separated lines
  -c, --config FILE        configuration file (JSON); also TESSERA_CONFIG
      --store URL          store URL (default sqlite:./tessera.db); also TESSERA_STORE
      --no-migrate         PostgreSQL: do not apply migrations first
  -h, --help               show this help`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORE_OPTIONS,
  user: { type: 'string', short: 'u' },
  session: { type: 'string', short: 's' },
  type: { type: 'string', short: 't' },
  since: { type: 'string' },
  limit: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
} as const;

/** Largest page asked of the store at once; longer listings are paged with the cursor. */
const PAGE_SIZE = 500;

/** `tessera events`. */
export async function eventsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('events', argv, OPTIONS);
  if (values.help) {
    io.out(EVENTS_HELP);
    return 0;
  }
  expectPositionals('events', positionals, []);
  const limit = parseLimit(values.limit);
  const filter: EventQuery = {};
  if (values.user !== undefined) filter.userId = values.user;
  if (values.session !== undefined) filter.sessionId = values.session;
  if (values.type !== undefined) filter.type = parseType(values.type);
  if (values.since !== undefined) filter.since = parseSince(values.since);

  const engine = await openEngine({ io, configFile: values.config, flags: storeFlags(values) });
  try {
    const events: SessionEvent[] = [];
    let after: string | null = null;
    do {
      const page = await engine.tessera.events({
        ...filter,
        ...(after === null ? {} : { after }),
        limit: Math.min(PAGE_SIZE, limit - events.length),
      });
      events.push(...page.events);
      after = page.nextCursor;
    } while (after !== null && events.length < limit);

    if (values.json) {
      io.out(JSON.stringify(events.slice(0, limit).map(toJson)));
      return 0;
    }
    io.out(tsv(['AT', 'TYPE', 'SESSION', 'USER', 'REASON', 'DEVICE', 'IP', 'DATA']));
    for (const e of events.slice(0, limit)) {
      io.out(
        tsv([
          isoOrDash(e.at),
          e.type,
          e.sessionId,
          e.userId,
          e.reason,
          e.deviceId,
          e.ip,
          JSON.stringify(e.data),
        ]),
      );
    }
    return 0;
  } finally {
    await engine.close();
  }
}

function toJson(event: SessionEvent) {
  return {
    id: event.id,
    type: event.type,
    at: isoOrDash(event.at),
    session_id: event.sessionId,
    user_id: event.userId,
    reason: event.reason,
    device_id: event.deviceId,
    ip: event.ip,
    data: event.data,
  };
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return 100;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > 10_000) {
    throw usageError(
      `tessera events: --limit must be a whole number from 1 to 10000 (got "${text}")`,
    );
  }
  return limit;
}

function parseType(text: string): SessionEventType {
  // `ended` is accepted for `session.ended`: less to type.
  const type = text.startsWith('session.') ? text : `session.${text}`;
  if (!(EVENT_TYPES as readonly string[]).includes(type)) {
    throw usageError(
      `tessera events: --type must be one of ${EVENT_TYPES.join(', ')} (got "${text}")`,
    );
  }
  return type as SessionEventType;
}

function parseSince(text: string): number {
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    throw usageError(
      `tessera events: --since must be an ISO 8601 time such as 2026-01-31T12:00:00Z (got "${text}")`,
    );
  }
  return at;
}
