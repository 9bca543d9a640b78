import type { EndReason, ServiceKeyRecord, SessionRecord } from '@tessera/core';

/**
 * How a `SessionRecord` is laid out in its Redis hash. Field names are short because a million
 * sessions repeat them a million times; the Lua scripts (`scripts.ts`) use the same names.
 *
 * | field | record field | | field | record field |
 * |---|---|---|---|---|
 * | `u` | userId | | `g` | generation |
 * | `p` | policy | | `ah` | accessTokenHash |
 * | `c` | createdAt | | `ax` | accessExpiresAt |
 * | `la` | lastActiveAt | | `rh` | refreshTokenHash |
 * | `ie` | idleExpiresAt | | `ra` | rotatedAt |
 * | `ae` | absoluteExpiresAt | | `ss` | successorSealed (absent: null) |
 * | `aa` | authenticatedAt | | `ea` | endedAt (absent: null) |
 * | `am` | authMethods (JSON) | | `er` | endReason (absent: null) |
 * | `d` | device (JSON) | | `dk` | dpopJkt (absent: unbound) |
 *
 * Numbers are decimal strings. A missing optional field means null, so "not ended" is simply the
 * absence of `ea`, which the scripts test with one HEXISTS/HMGET.
 */
export function sessionToFields(session: SessionRecord): string[] {
  const fields = [
    'u',
    session.userId,
    'p',
    session.policy,
    'c',
    String(session.createdAt),
    'la',
    String(session.lastActiveAt),
    'ie',
    String(session.idleExpiresAt),
    'ae',
    String(session.absoluteExpiresAt),
    'aa',
    String(session.authenticatedAt),
    'am',
    JSON.stringify(session.authMethods),
    'd',
    JSON.stringify(session.device),
    'g',
    String(session.generation),
    'ah',
    session.accessTokenHash,
    'ax',
    String(session.accessExpiresAt),
    'rh',
    session.refreshTokenHash,
    'ra',
    String(session.rotatedAt),
  ];
  if (session.successorSealed !== null) fields.push('ss', session.successorSealed);
  if (session.endedAt !== null) fields.push('ea', String(session.endedAt));
  if (session.endReason !== null) fields.push('er', session.endReason);
  if (session.dpopJkt !== undefined) fields.push('dk', session.dpopJkt);
  return fields;
}

/** Turns any shape a hash reply can take (flat array, object, Map) into a plain record. */
export function toFieldMap(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  } else if (reply instanceof Map) {
    for (const [k, v] of reply) out[String(k)] = String(v);
  } else if (reply !== null && typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply)) out[k] = String(v);
  }
  return out;
}

/** The record in a session hash, or null when the hash is missing (unknown or expired). */
export function sessionFromFields(id: string, f: Record<string, string>): SessionRecord | null {
  if (f['u'] === undefined || f['g'] === undefined) return null;
  const num = (name: string) => Number(f[name]);
  const session: SessionRecord = {
    id,
    userId: f['u'],
    policy: f['p'] ?? '',
    createdAt: num('c'),
    lastActiveAt: num('la'),
    idleExpiresAt: num('ie'),
    absoluteExpiresAt: num('ae'),
    authenticatedAt: num('aa'),
    authMethods: JSON.parse(f['am'] ?? '[]') as string[],
    device: JSON.parse(f['d'] ?? '{}') as SessionRecord['device'],
    generation: num('g'),
    accessTokenHash: f['ah'] ?? '',
    accessExpiresAt: num('ax'),
    refreshTokenHash: f['rh'] ?? '',
    rotatedAt: num('ra'),
    successorSealed: f['ss'] ?? null,
    endedAt: f['ea'] === undefined ? null : num('ea'),
    endReason: (f['er'] ?? null) as EndReason | null,
  };
  if (f['dk'] !== undefined) session.dpopJkt = f['dk'];
  return session;
}

export function serviceKeyToFields(key: ServiceKeyRecord): string[] {
  const fields = [
    'n',
    key.name,
    'sc',
    JSON.stringify(key.scopes),
    'h',
    key.keyHash,
    'c',
    String(key.createdAt),
  ];
  if (key.revokedAt !== null) fields.push('rv', String(key.revokedAt));
  return fields;
}

export function serviceKeyFromFields(
  id: string,
  f: Record<string, string>,
): ServiceKeyRecord | null {
  if (f['h'] === undefined) return null;
  return {
    id,
    name: f['n'] ?? '',
    scopes: JSON.parse(f['sc'] ?? '[]') as ServiceKeyRecord['scopes'],
    keyHash: f['h'],
    createdAt: Number(f['c']),
    revokedAt: f['rv'] === undefined ? null : Number(f['rv']),
  };
}
