/**
 * Why a session ended. Codes are API: they appear in events, metrics and HTTP answers.
 * DESIGN.md §4 lists them; `session_limit` is the per-user cap on live sessions.
 */
export type EndReason =
  | 'logout'
  | 'logout_all'
  | 'password_changed'
  | 'privilege_changed'
  | 'account_disabled'
  | 'device_lost'
  | 'admin'
  | 'refresh_token_reuse'
  | 'idle_timeout'
  | 'absolute_timeout'
  | 'session_limit';

export const END_REASONS: readonly EndReason[] = [
  'logout',
  'logout_all',
  'password_changed',
  'privilege_changed',
  'account_disabled',
  'device_lost',
  'admin',
  'refresh_token_reuse',
  'idle_timeout',
  'absolute_timeout',
  'session_limit',
];

/** What the application tells us about the device a session lives on. Never a credential. */
export interface DeviceInfo {
  id?: string;
  name?: string;
  platform?: string;
  appVersion?: string;
  ip?: string;
  userAgent?: string;
}

/**
 * One sign-in of one user on one device, as the store keeps it.
 * All instants are epoch milliseconds. Token fields hold SHA-256 hex digests, never tokens.
 */
export interface SessionRecord {
  /** Public id: 128 random bits, base62. Safe to log; never a credential. */
  id: string;
  userId: string;
  policy: string;
  createdAt: number;
  lastActiveAt: number;
  /** The session is idle-expired when `now >= idleExpiresAt`. Never after `absoluteExpiresAt`. */
  idleExpiresAt: number;
  /** The session is absolutely expired when `now >= absoluteExpiresAt`. Never moves. */
  absoluteExpiresAt: number;
  /** Last time the user proved who they are (create or step-up). */
  authenticatedAt: number;
  authMethods: string[];
  device: DeviceInfo;
  /**
   * RFC 7638 JWK SHA-256 thumbprint (base64url) of the key the session is bound to (RFC 9449
   * DPoP `cnf.jkt`), set once at creation and never changed. Absent for an unbound session:
   * stores omit the property rather than answer null.
   */
  dpopJkt?: string;
  /** Refresh rotation counter: the current refresh token was issued at this generation. */
  generation: number;
  /** SHA-256 hex of the one live access token. */
  accessTokenHash: string;
  /** The access token is expired when `now >= accessExpiresAt`. */
  accessExpiresAt: number;
  /** SHA-256 hex of the one live refresh token (issued at `generation`). */
  refreshTokenHash: string;
  /** When the current generation was issued (create, refresh or step-up). */
  rotatedAt: number;
  /**
   * The current token pair, AES-256-GCM sealed under a key derived from the *parent* refresh
   * token (generation - 1), so that a parent presented again within the grace window gets the
   * same pair back. Null when the current generation has no parent that may replay (create,
   * step-up). The store alone can never open it.
   */
  successorSealed: string | null;
  endedAt: number | null;
  endReason: EndReason | null;
}

/** A recorded transition. Never carries a token. */
export interface SessionEvent {
  /** Monotonic per store; also the paging cursor. */
  id: string;
  type: SessionEventType;
  at: number;
  sessionId: string;
  userId: string;
  reason: EndReason | null;
  deviceId: string | null;
  ip: string | null;
  /**
   * Small, non-secret details with snake_case keys, as the HTTP API shows them (for example
   * `policy`, `generation`, `auth_methods`, `presented_generation`).
   */
  data: Record<string, string | number | boolean | string[] | null>;
}

export type SessionEventType =
  | 'session.created'
  | 'session.refreshed'
  | 'session.refresh_replayed'
  | 'session.refresh_reuse'
  | 'session.step_up'
  | 'session.ended'
  | 'operator.action';

export const EVENT_TYPES: readonly SessionEventType[] = [
  'session.created',
  'session.refreshed',
  'session.refresh_replayed',
  'session.refresh_reuse',
  'session.step_up',
  'session.ended',
  // An operator's act in the console (sign-in, ending sessions, service keys): `data.action`
  // says which, `data.operator_id` who. See packages/server/src/console/operator-events.ts.
  'operator.action',
];

export type NewSessionEvent = Omit<SessionEvent, 'id'>;

export interface EventQuery {
  userId?: string;
  sessionId?: string;
  type?: SessionEventType;
  /** Only events with `at >= since` (epoch ms). */
  since?: number;
  /** Only events with `at < until` (epoch ms). */
  until?: number;
  /** Opaque cursor from a previous page: only events after it. */
  after?: string;
  /** @default 100 */
  limit?: number;
}

export interface EventPage {
  events: SessionEvent[];
  /** Pass as `after` to get the next page; null when this page is the last. */
  nextCursor: string | null;
}

/** Scopes a backend service key can carry. `admin` implies all. */
export type Scope = 'sessions:write' | 'sessions:read' | 'introspect' | 'admin' | 'webhooks:admin';
export const SCOPES: readonly Scope[] = [
  'sessions:write',
  'sessions:read',
  'introspect',
  'admin',
  // Webhook subscriptions (packages/server/src/routes/webhooks.ts).
  'webhooks:admin',
];

/** A backend credential (`tsk_…`) as the store keeps it: only its SHA-256. */
export interface ServiceKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  keyHash: string;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * An operator of the console (`tessera operators create`), as the store keeps it. The password
 * is kept only as a scrypt hash string with its own salt and parameters (`operator-password.ts`).
 */
export interface OperatorRecord {
  /** 128 random bits, base62; operator sessions belong to the user id `operator:<id>`. */
  id: string;
  /** The sign-in name: lower case, unique. */
  name: string;
  passwordHash: string;
  createdAt: number;
  passwordChangedAt: number;
  /** Disabled operators cannot sign in; null while enabled. */
  disabledAt: number | null;
  /** Consecutive failed sign-ins since the last success or password reset. */
  failedSignIns: number;
  lastFailedSignInAt: number | null;
  lastSignInAt: number | null;
}
