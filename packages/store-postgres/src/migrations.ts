import { WEBHOOK_MIGRATION } from './webhook-outbox.js';

/**
 * The schema, as ordered migrations. Never edit a released migration: add the next one.
 * `s` is the quoted schema name. Notes on the choices:
 * - Instants are epoch milliseconds in `bigint`, as in the contract (no time-zone conversions).
 * - Token hashes are 32-byte `bytea`, half the size of hex text in the row and in each index.
 * - Fixed-width columns come first so the row has no alignment padding between them.
 * - Ids use the "C" collation: byte comparison is faster and no locale is involved.
 */
export interface Migration {
  version: number;
  name: string;
  sql(s: string): string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, refresh tokens, service keys, events',
    sql: (s) => `
CREATE TABLE ${s}.sessions (
  created_at          bigint  NOT NULL,
  last_active_at      bigint  NOT NULL,
  idle_expires_at     bigint  NOT NULL,
  absolute_expires_at bigint  NOT NULL,
  authenticated_at    bigint  NOT NULL,
  access_expires_at   bigint  NOT NULL,
  rotated_at          bigint  NOT NULL,
  ended_at            bigint,
  generation          integer NOT NULL,
  id                  text COLLATE "C" PRIMARY KEY,
  user_id             text COLLATE "C" NOT NULL,
  policy              text    NOT NULL,
  access_token_hash   bytea   NOT NULL,
  refresh_token_hash  bytea   NOT NULL,
  auth_methods        text[]  NOT NULL,
  device              jsonb   NOT NULL,
  successor_sealed    text,
  end_reason          text
);
-- validate(): one probe per request.
CREATE UNIQUE INDEX sessions_access_token_hash ON ${s}.sessions (access_token_hash);
-- listSessionsForUser (ordered), endSessionsForUser.
CREATE INDEX sessions_user_created ON ${s}.sessions (user_id, created_at);
-- endSessionsForUser with a device: only live sessions can be ended, so only they are indexed.
CREATE INDEX sessions_user_device_live ON ${s}.sessions (user_id, (device->>'id'))
  WHERE ended_at IS NULL;
-- purge(): exactly the purge predicate, so each batch is an index range scan.
CREATE INDEX sessions_purge ON ${s}.sessions ((COALESCE(ended_at, idle_expires_at)));

-- Every refresh token a session was issued, so that a rotated one is still recognised (grace
-- replay or reuse detection). Deleted with its session.
CREATE TABLE ${s}.refresh_tokens (
  generation integer NOT NULL,
  hash       bytea   PRIMARY KEY,
  session_id text COLLATE "C" NOT NULL REFERENCES ${s}.sessions (id) ON DELETE CASCADE
);
-- Makes the ON DELETE CASCADE of a purge an index lookup instead of a scan per session.
CREATE INDEX refresh_tokens_session ON ${s}.refresh_tokens (session_id);

CREATE TABLE ${s}.service_keys (
  created_at bigint NOT NULL,
  revoked_at bigint,
  id         text COLLATE "C" PRIMARY KEY,
  name       text   NOT NULL,
  scopes     text[] NOT NULL,
  key_hash   bytea  NOT NULL UNIQUE
);

-- The id is the paging cursor.
CREATE TABLE ${s}.events (
  id         bigserial PRIMARY KEY,
  at         bigint NOT NULL,
  type       text   NOT NULL,
  session_id text COLLATE "C" NOT NULL,
  user_id    text COLLATE "C" NOT NULL,
  reason     text,
  device_id  text,
  ip         text,
  data       jsonb  NOT NULL
);
CREATE INDEX events_user ON ${s}.events (user_id, id);
CREATE INDEX events_session ON ${s}.events (session_id, id);
CREATE INDEX events_type ON ${s}.events (type, id);
-- Retention purge and time-window queries.
CREATE INDEX events_at ON ${s}.events (at);
`,
  },
  {
    version: 3,
    name: 'DPoP: key binding of a session, replay cache of proofs',
    sql: (s) => `
-- RFC 7638 thumbprint (base64url) of the key a session is bound to (RFC 9449 cnf.jkt); NULL
-- for an unbound session. Set at creation, never changed. No default: a metadata-only change.
ALTER TABLE ${s}.sessions ADD COLUMN dpop_jkt text;

-- Proofs seen (RFC 9449 §11.1): SHA-256 of "<jkt>:<jti>", until the proof's iat leaves the
-- acceptance window. The primary key makes "first one wins" atomic across nodes.
CREATE TABLE ${s}.dpop_jtis (
  expires_at bigint NOT NULL,
  digest     bytea  PRIMARY KEY
);
CREATE INDEX dpop_jtis_expires_at ON ${s}.dpop_jtis (expires_at);
`,
  },
  {
    version: 4,
    name: 'node leases: exact node-local caches',
    sql: (s) => `
-- One row per node that caches (issue 9): its lease, in epoch ms on the database's clock
-- (statement_timestamp()), never a node's, so clock skew between nodes cannot stretch it.
-- UNLOGGED, both tables: nothing in them must survive a crash, and without WAL their writes
-- commit without an fsync (they are on the path of every end). After a crash or a failover
-- they are empty: every node's channel dropped meanwhile, so each starts a new lease with an
-- empty cache, and no ender waits for a lease that no longer exists.
CREATE UNLOGGED TABLE ${s}.node_leases (
  expires_at bigint NOT NULL,
  node_id    text COLLATE "C" PRIMARY KEY
);

-- Invalidations delivered to a node and not yet acknowledged. A renewal returns them, so a
-- node cannot extend its lease without having dropped these sessions.
CREATE UNLOGGED TABLE ${s}.node_invalidations (
  node_id     text COLLATE "C" NOT NULL REFERENCES ${s}.node_leases (node_id) ON DELETE CASCADE,
  id          text COLLATE "C" NOT NULL,
  from_node   text   NOT NULL,
  session_ids text[] NOT NULL,
  PRIMARY KEY (node_id, id)
);
`,
  },
  WEBHOOK_MIGRATION,
  {
    version: 6,
    name: 'console: operators and the console secret',
    sql: (s) => `
-- Operators of the console: the password only as a scrypt hash string (own salt and
-- parameters); the failure counter lives here so that a lock-out holds on every node.
CREATE TABLE ${s}.operators (
  created_at             bigint  NOT NULL,
  password_changed_at    bigint  NOT NULL,
  disabled_at            bigint,
  last_failed_sign_in_at bigint,
  last_sign_in_at        bigint,
  failed_sign_ins        integer NOT NULL,
  id                     text COLLATE "C" PRIMARY KEY,
  name                   text COLLATE "C" NOT NULL UNIQUE,
  password_hash          text NOT NULL
);

-- One row: the key of the console's CSRF tokens, the same for every node.
CREATE TABLE ${s}.console_secret (
  id     integer PRIMARY KEY CHECK (id = 1),
  secret text NOT NULL
);
`,
  },
];
