import type { EndReason, SessionRecord } from '@tessera/core';
import { TesseraError } from '@tessera/core';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A SHA-256 hex digest as the 32 bytes we store (`bytea` halves the size of every hash column
 * and index against hex text). Strict on purpose: `Buffer.from(x, 'hex')` silently drops what
 * follows a non-hex character, which would let a malformed string collide with a real digest.
 * Returns null for anything that is not a lowercase SHA-256 hex digest.
 */
export function hashBytes(hash: string): Buffer | null {
  return typeof hash === 'string' && SHA256_HEX.test(hash) ? Buffer.from(hash, 'hex') : null;
}

/** `hashBytes` for writes, where a malformed digest is a caller's bug. */
export function requireHashBytes(hash: string, field: string): Buffer {
  const bytes = hashBytes(hash);
  if (!bytes) {
    throw new TesseraError('invalid_argument', `${field} must be a lowercase SHA-256 hex digest`);
  }
  return bytes;
}

/** The select list of a session row, hashes back to hex, for a table aliased `alias`. */
export function sessionColumns(alias: string): string {
  const a = alias;
  return [
    `${a}.id`,
    `${a}.user_id`,
    `${a}.policy`,
    `${a}.created_at`,
    `${a}.last_active_at`,
    `${a}.idle_expires_at`,
    `${a}.absolute_expires_at`,
    `${a}.authenticated_at`,
    `${a}.auth_methods`,
    `${a}.device`,
    `${a}.generation`,
    `encode(${a}.access_token_hash, 'hex') AS access_token_hash`,
    `${a}.access_expires_at`,
    `encode(${a}.refresh_token_hash, 'hex') AS refresh_token_hash`,
    `${a}.rotated_at`,
    `${a}.successor_sealed`,
    `${a}.ended_at`,
    `${a}.end_reason`,
    `${a}.dpop_jkt`,
  ].join(', ');
}

export interface SessionRow {
  id: string;
  user_id: string;
  policy: string;
  created_at: number;
  last_active_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  authenticated_at: number;
  auth_methods: string[];
  device: SessionRecord['device'];
  generation: number;
  access_token_hash: string;
  access_expires_at: number;
  refresh_token_hash: string;
  rotated_at: number;
  successor_sealed: string | null;
  ended_at: number | null;
  end_reason: EndReason | null;
  dpop_jkt: string | null;
}

export function toSession(row: SessionRow): SessionRecord {
  const session: SessionRecord = {
    id: row.id,
    userId: row.user_id,
    policy: row.policy,
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    authenticatedAt: row.authenticated_at,
    authMethods: row.auth_methods,
    device: row.device,
    generation: row.generation,
    accessTokenHash: row.access_token_hash,
    accessExpiresAt: row.access_expires_at,
    refreshTokenHash: row.refresh_token_hash,
    rotatedAt: row.rotated_at,
    successorSealed: row.successor_sealed,
    endedAt: row.ended_at,
    endReason: row.end_reason,
  };
  // Absent, not null, for an unbound session (the contract's shape).
  if (row.dpop_jkt !== null) session.dpopJkt = row.dpop_jkt;
  return session;
}
