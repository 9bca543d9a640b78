import type {
  DeviceInfo,
  EndReason,
  Scope,
  ServiceKeyRecord,
  SessionEvent,
  SessionRecord,
} from '@tessera/core';

/** A row of `tessera_sessions`, as better-sqlite3 returns it. */
export interface SessionRow {
  id: string;
  user_id: string;
  policy: string;
  created_at: number;
  last_active_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  authenticated_at: number;
  auth_methods: string;
  device_id: string | null;
  device_name: string | null;
  device_platform: string | null;
  device_app_version: string | null;
  device_ip: string | null;
  device_user_agent: string | null;
  generation: number;
  access_token_hash: string;
  access_expires_at: number;
  refresh_token_hash: string;
  rotated_at: number;
  successor_sealed: string | null;
  ended_at: number | null;
  end_reason: string | null;
  dpop_jkt: string | null;
}

export interface EventRow {
  id: number;
  type: string;
  at: number;
  session_id: string;
  user_id: string;
  reason: string | null;
  device_id: string | null;
  ip: string | null;
  data: string;
}

export interface ServiceKeyRow {
  id: string;
  name: string;
  scopes: string;
  key_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export function sessionToRow(session: SessionRecord): SessionRow {
  const { device } = session;
  return {
    id: session.id,
    user_id: session.userId,
    policy: session.policy,
    created_at: session.createdAt,
    last_active_at: session.lastActiveAt,
    idle_expires_at: session.idleExpiresAt,
    absolute_expires_at: session.absoluteExpiresAt,
    authenticated_at: session.authenticatedAt,
    auth_methods: JSON.stringify(session.authMethods),
    device_id: device.id ?? null,
    device_name: device.name ?? null,
    device_platform: device.platform ?? null,
    device_app_version: device.appVersion ?? null,
    device_ip: device.ip ?? null,
    device_user_agent: device.userAgent ?? null,
    generation: session.generation,
    access_token_hash: session.accessTokenHash,
    access_expires_at: session.accessExpiresAt,
    refresh_token_hash: session.refreshTokenHash,
    rotated_at: session.rotatedAt,
    successor_sealed: session.successorSealed,
    ended_at: session.endedAt,
    end_reason: session.endReason,
    dpop_jkt: session.dpopJkt ?? null,
  };
}

export function rowToSession(row: SessionRow): SessionRecord {
  // Absent device fields are stored as NULL and come back absent, not as `undefined` keys.
  const device: DeviceInfo = {};
  if (row.device_id !== null) device.id = row.device_id;
  if (row.device_name !== null) device.name = row.device_name;
  if (row.device_platform !== null) device.platform = row.device_platform;
  if (row.device_app_version !== null) device.appVersion = row.device_app_version;
  if (row.device_ip !== null) device.ip = row.device_ip;
  if (row.device_user_agent !== null) device.userAgent = row.device_user_agent;
  const session: SessionRecord = {
    id: row.id,
    userId: row.user_id,
    policy: row.policy,
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    authenticatedAt: row.authenticated_at,
    authMethods: JSON.parse(row.auth_methods) as string[],
    device,
    generation: row.generation,
    accessTokenHash: row.access_token_hash,
    accessExpiresAt: row.access_expires_at,
    refreshTokenHash: row.refresh_token_hash,
    rotatedAt: row.rotated_at,
    successorSealed: row.successor_sealed,
    endedAt: row.ended_at,
    endReason: row.end_reason as EndReason | null,
  };
  // Absent, not null, for an unbound session (the contract's shape).
  if (row.dpop_jkt !== null) session.dpopJkt = row.dpop_jkt;
  return session;
}

export function rowToEvent(row: EventRow): SessionEvent {
  return {
    id: String(row.id),
    type: row.type as SessionEvent['type'],
    at: row.at,
    sessionId: row.session_id,
    userId: row.user_id,
    reason: row.reason as EndReason | null,
    deviceId: row.device_id,
    ip: row.ip,
    data: JSON.parse(row.data) as SessionEvent['data'],
  };
}

export function serviceKeyToRow(key: ServiceKeyRecord): ServiceKeyRow {
  return {
    id: key.id,
    name: key.name,
    scopes: JSON.stringify(key.scopes),
    key_hash: key.keyHash,
    created_at: key.createdAt,
    revoked_at: key.revokedAt,
  };
}

export function rowToServiceKey(row: ServiceKeyRow): ServiceKeyRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as Scope[],
    keyHash: row.key_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
