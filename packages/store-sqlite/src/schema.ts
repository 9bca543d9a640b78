import { WEBHOOK_MIGRATION } from './webhook-outbox.js';

/** One step of the schema, applied once, in order, inside a transaction. */
export interface Migration {
  /** Strictly increasing, starting at 1. Never renumber or edit a released migration. */
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema of the store, as an ordered list of migrations. Append only: a released migration
 * is never edited, because databases in the field already ran it.
 *
 * Every table is prefixed `tessera_` so the store can live in a database the application also
 * uses for its own tables (a `sessions` table of its own is common). Tables are STRICT, so a
 * wrongly typed value is refused by SQLite instead of being stored and misread later.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE tessera_sessions (
  id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL,
  policy TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_active_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  authenticated_at INTEGER NOT NULL,
  auth_methods TEXT NOT NULL, -- JSON array of strings
  device_id TEXT,
  device_name TEXT,
  device_platform TEXT,
  device_app_version TEXT,
  device_ip TEXT,
  device_user_agent TEXT,
  generation INTEGER NOT NULL,
  access_token_hash TEXT NOT NULL, -- SHA-256 hex; never the token
  access_expires_at INTEGER NOT NULL,
  refresh_token_hash TEXT NOT NULL, -- SHA-256 hex of the current refresh token
  rotated_at INTEGER NOT NULL,
  successor_sealed TEXT,
  ended_at INTEGER,
  end_reason TEXT
) STRICT;
-- validate: one lookup per request, and a clash of access hashes must be refused.
CREATE UNIQUE INDEX tessera_sessions_access_token_hash ON tessera_sessions (access_token_hash);
-- listSessionsForUser (oldest first) and endSessionsForUser.
CREATE INDEX tessera_sessions_user_created ON tessera_sessions (user_id, created_at, id);
-- endSessionsForUser with a device.
CREATE INDEX tessera_sessions_user_device ON tessera_sessions (user_id, device_id);
-- purge: ended sessions, and live sessions whose idle deadline passed. Partial indexes keep
-- each one to the rows its purge query can match.
CREATE INDEX tessera_sessions_ended_at ON tessera_sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX tessera_sessions_live_idle ON tessera_sessions (idle_expires_at) WHERE ended_at IS NULL;

-- Every refresh token a session ever had, with the generation it was issued at, so that a
-- rotated token stays findable: the engine tells a replay within the grace window from a reuse.
CREATE TABLE tessera_refresh_tokens (
  hash TEXT PRIMARY KEY NOT NULL,
  session_id TEXT NOT NULL REFERENCES tessera_sessions (id) ON DELETE CASCADE,
  generation INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX tessera_refresh_tokens_session ON tessera_refresh_tokens (session_id);

CREATE TABLE tessera_service_keys (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  scopes TEXT NOT NULL, -- JSON array of scopes
  key_hash TEXT NOT NULL, -- SHA-256 hex; never the key
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) STRICT;
CREATE UNIQUE INDEX tessera_service_keys_key_hash ON tessera_service_keys (key_hash);

-- AUTOINCREMENT, not a plain rowid: ids are the paging cursor, and a plain rowid would be
-- reused after the newest events are purged, so a client's cursor could skip new events.
CREATE TABLE tessera_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  session_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  reason TEXT,
  device_id TEXT,
  ip TEXT,
  data TEXT NOT NULL -- JSON object, never a token
) STRICT;
CREATE INDEX tessera_events_user ON tessera_events (user_id, id);
CREATE INDEX tessera_events_session ON tessera_events (session_id, id);
CREATE INDEX tessera_events_type ON tessera_events (type, id);
CREATE INDEX tessera_events_at ON tessera_events (at);
`,
  },
  {
    version: 3,
    name: 'DPoP: key binding of a session, replay cache of proofs',
    sql: `
-- RFC 7638 thumbprint (base64url) of the key a session is bound to (RFC 9449 cnf.jkt); NULL
-- for an unbound session. Set at creation, never changed.
ALTER TABLE tessera_sessions ADD COLUMN dpop_jkt TEXT;

-- Proofs seen (RFC 9449 §11.1): SHA-256 hex of "<jkt>:<jti>", until the proof's iat leaves
-- the acceptance window. The primary key makes "first one wins" atomic across processes.
CREATE TABLE tessera_dpop_jtis (
  digest TEXT PRIMARY KEY NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX tessera_dpop_jtis_expires_at ON tessera_dpop_jtis (expires_at);
`,
  },
  WEBHOOK_MIGRATION,
  {
    version: 6,
    name: 'console: operators and the console secret',
    sql: `
-- Operators of the console. The password only as a scrypt hash string with its own salt and
-- parameters; the failure counter is kept here so a lock-out holds for every process.
CREATE TABLE tessera_operators (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  password_changed_at INTEGER NOT NULL,
  disabled_at INTEGER,
  failed_sign_ins INTEGER NOT NULL,
  last_failed_sign_in_at INTEGER,
  last_sign_in_at INTEGER
) STRICT;

-- One row: the key of the console's CSRF tokens, shared by every process on the file.
CREATE TABLE tessera_console_secret (
  id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
  secret TEXT NOT NULL
) STRICT;
`,
  },
];
