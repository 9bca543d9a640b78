import type { OperatorRecord, SessionStore } from '@tessera/core';
import type { Query } from './query.js';

interface OperatorRow {
  id: string;
  name: string;
  password_hash: string;
  created_at: number;
  password_changed_at: number;
  disabled_at: number | null;
  failed_sign_ins: number;
  last_failed_sign_in_at: number | null;
  last_sign_in_at: number | null;
}

const toOperator = (row: OperatorRow): OperatorRecord => ({
  id: row.id,
  name: row.name,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
  passwordChangedAt: row.password_changed_at,
  disabledAt: row.disabled_at,
  failedSignIns: row.failed_sign_ins,
  lastFailedSignInAt: row.last_failed_sign_in_at,
  lastSignInAt: row.last_sign_in_at,
});

type OperatorVerbs = Pick<
  SessionStore,
  | 'countLiveSessionsByPolicy'
  | 'createOperator'
  | 'getOperator'
  | 'findOperatorByName'
  | 'listOperators'
  | 'setOperatorPassword'
  | 'setOperatorDisabled'
  | 'recordOperatorFailure'
  | 'recordOperatorSignIn'
  | 'consoleSecret'
>;

const COLUMNS = `id, name, password_hash, created_at, password_changed_at, disabled_at,
  failed_sign_ins, last_failed_sign_in_at, last_sign_in_at`;

/**
 * The console's verbs on PostgreSQL (tables of migration 6). One statement each: the failure
 * counter is incremented by the UPDATE itself (row lock), so failures on many nodes at once are
 * all counted, and the secret is `INSERT … ON CONFLICT DO NOTHING` then read (first writer wins).
 */
export function postgresOperatorVerbs(query: Query, s: string): OperatorVerbs {
  async function one(text: string, values: unknown[]): Promise<OperatorRecord | null> {
    const { rows } = await query<OperatorRow>(text, values);
    return rows[0] ? toOperator(rows[0]) : null;
  }
  return {
    async countLiveSessionsByPolicy(now) {
      const { rows } = await query<{ policy: string; count: number }>(
        `SELECT policy, COUNT(*)::int AS count FROM ${s}.sessions
          WHERE ended_at IS NULL AND idle_expires_at > $1 AND absolute_expires_at > $1
          GROUP BY policy`,
        [now],
      );
      return Object.fromEntries(rows.map((row) => [row.policy, row.count]));
    },
    async createOperator(o) {
      await query(
        `INSERT INTO ${s}.operators (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          o.id,
          o.name,
          o.passwordHash,
          o.createdAt,
          o.passwordChangedAt,
          o.disabledAt,
          o.failedSignIns,
          o.lastFailedSignInAt,
          o.lastSignInAt,
        ],
      );
    },
    getOperator: (id) => one(`SELECT ${COLUMNS} FROM ${s}.operators WHERE id = $1`, [id]),
    findOperatorByName: (name) =>
      one(`SELECT ${COLUMNS} FROM ${s}.operators WHERE name = $1`, [name]),
    async listOperators() {
      const { rows } = await query<OperatorRow>(
        `SELECT ${COLUMNS} FROM ${s}.operators ORDER BY created_at, id`,
      );
      return rows.map(toOperator);
    },
    async setOperatorPassword(id, passwordHash, at) {
      const { rowCount } = await query(
        `UPDATE ${s}.operators SET password_hash = $2, password_changed_at = $3,
           failed_sign_ins = 0, last_failed_sign_in_at = NULL WHERE id = $1`,
        [id, passwordHash, at],
      );
      return rowCount === 1;
    },
    async setOperatorDisabled(id, at) {
      const { rowCount } =
        at === null
          ? await query(
              `UPDATE ${s}.operators SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL`,
              [id],
            )
          : await query(
              `UPDATE ${s}.operators SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL`,
              [id, at],
            );
      return rowCount === 1;
    },
    recordOperatorFailure: (id, at) =>
      one(
        `UPDATE ${s}.operators SET failed_sign_ins = failed_sign_ins + 1,
           last_failed_sign_in_at = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, at],
      ),
    async recordOperatorSignIn(id, at) {
      await query(
        `UPDATE ${s}.operators SET failed_sign_ins = 0, last_failed_sign_in_at = NULL,
           last_sign_in_at = $2 WHERE id = $1`,
        [id, at],
      );
    },
    async consoleSecret(candidate) {
      // The insert (if first) and the read in one statement, as far as its snapshot allows.
      const { rows } = await query<{ secret: string }>(
        `WITH put AS (
           INSERT INTO ${s}.console_secret (id, secret) VALUES (1, $1)
           ON CONFLICT (id) DO NOTHING RETURNING secret)
         SELECT secret FROM put UNION ALL SELECT secret FROM ${s}.console_secret WHERE id = 1
         LIMIT 1`,
        [candidate],
      );
      if (rows[0]) return rows[0].secret;
      // A concurrent first insert committed after this statement's snapshot was taken: its
      // row is visible to a new statement.
      const again = await query<{ secret: string }>(
        `SELECT secret FROM ${s}.console_secret WHERE id = 1`,
      );
      if (!again.rows[0]) throw new Error('the console secret is missing after its insert');
      return again.rows[0].secret;
    },
  };
}
