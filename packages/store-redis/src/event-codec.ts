import type { EndReason, NewSessionEvent, SessionEvent, SessionEventType } from '@tessera/core';

/**
 * Stream entry fields of one event: `t` type, `at`, `s` session id, `u` user id, and the
 * nullable `r` reason, `dv` device id, `ip`, plus `x`, the JSON of `data`. Absent means null.
 */
export function eventToFields(event: NewSessionEvent): string[] {
  const fields = [
    't',
    event.type,
    'at',
    String(event.at),
    's',
    event.sessionId,
    'u',
    event.userId,
    'x',
    JSON.stringify(event.data),
  ];
  if (event.reason !== null) fields.push('r', event.reason);
  if (event.deviceId !== null) fields.push('dv', event.deviceId);
  if (event.ip !== null) fields.push('ip', event.ip);
  return fields;
}

export function eventFromFields(id: string, f: Record<string, string>): SessionEvent {
  return {
    id,
    type: f['t'] as SessionEventType,
    at: Number(f['at']),
    sessionId: f['s'] ?? '',
    userId: f['u'] ?? '',
    reason: (f['r'] ?? null) as EndReason | null,
    deviceId: f['dv'] ?? null,
    ip: f['ip'] ?? null,
    data: JSON.parse(f['x'] ?? '{}') as SessionEvent['data'],
  };
}

const STREAM_ID = /^(\d+)-(\d+)$/;

/** True for a stream entry id (`<ms>-<seq>`), the only cursor shape this store hands out. */
export function isStreamId(value: string): boolean {
  return STREAM_ID.test(value);
}

/** Orders two stream ids as Redis does: by milliseconds, then by sequence. */
export function compareStreamIds(a: string, b: string): number {
  const [, am = '0', as = '0'] = STREAM_ID.exec(a) ?? [];
  const [, bm = '0', bs = '0'] = STREAM_ID.exec(b) ?? [];
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** The smallest id greater than `id` (for an exclusive trim bound). */
export function nextStreamId(id: string): string {
  const [, ms = '0', seq = '0'] = STREAM_ID.exec(id) ?? [];
  return `${ms}-${BigInt(seq) + 1n}`;
}

/** Stream entries as `[id, fields]`, whatever reply shape the client produced. */
export function toStreamEntries(reply: unknown): Array<[string, unknown]> {
  if (!Array.isArray(reply)) return [];
  const out: Array<[string, unknown]> = [];
  for (const entry of reply) {
    if (Array.isArray(entry)) out.push([String(entry[0]), entry[1]]);
    else if (entry !== null && typeof entry === 'object' && 'id' in entry) {
      const { id, message } = entry as { id: unknown; message: unknown };
      out.push([String(id), message]);
    }
  }
  return out;
}
