import type { OperatorRecord, SessionStore } from '@tessera/core';
import type BetterSqlite3 from 'better-sqlite3';

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

/**
 * The console's verbs on SQLite (tables of migration 6). Each is one statement, hence atomic
 * against every other process on the file: the failure counter is incremented in SQL, never
 * read-modified-written, so concurrent failed sign-ins are all counted.
 */
export function sqliteOperatorVerbs(
  database: BetterSqlite3.Database,
  guard: <T>(work: () => T) => T,
): OperatorVerbs {
  const sql = {
    liveByPolicy: database.prepare<[number, number], { policy: string; count: number }>(
      `SELECT policy, COUNT(*) AS count FROM tessera_sessions
        WHERE ended_at IS NULL AND idle_expires_at > ? AND absolute_expires_at > ?
        GROUP BY policy`,
    ),
    insert: database.prepare<[OperatorRow]>(
      `INSERT INTO tessera_operators (id, name, password_hash, created_at, password_changed_at,
         disabled_at, failed_sign_ins, last_failed_sign_in_at, last_sign_in_at)
       VALUES (@id, @name, @password_hash, @created_at, @password_changed_at, @disabled_at,
         @failed_sign_ins, @last_failed_sign_in_at, @last_sign_in_at)`,
    ),
    byId: database.prepare<[string], OperatorRow>('SELECT * FROM tessera_operators WHERE id = ?'),
    byName: database.prepare<[string], OperatorRow>(
      'SELECT * FROM tessera_operators WHERE name = ?',
    ),
    all: database.prepare<[], OperatorRow>(
      'SELECT * FROM tessera_operators ORDER BY created_at, id',
    ),
    setPassword: database.prepare<[string, number, string]>(
      `UPDATE tessera_operators SET password_hash = ?, password_changed_at = ?,
         failed_sign_ins = 0, last_failed_sign_in_at = NULL WHERE id = ?`,
    ),
    disable: database.prepare<[number, string]>(
      'UPDATE tessera_operators SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL',
    ),
    enable: database.prepare<[string]>(
      'UPDATE tessera_operators SET disabled_at = NULL WHERE id = ? AND disabled_at IS NOT NULL',
    ),
    failure: database.prepare<[number, string], OperatorRow>(
      `UPDATE tessera_operators SET failed_sign_ins = failed_sign_ins + 1,
         last_failed_sign_in_at = ? WHERE id = ? RETURNING *`,
    ),
    signIn: database.prepare<[number, string]>(
      `UPDATE tessera_operators SET failed_sign_ins = 0, last_failed_sign_in_at = NULL,
         last_sign_in_at = ? WHERE id = ?`,
    ),
    putSecret: database.prepare<[string]>(
      `INSERT INTO tessera_console_secret (id, secret) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    secret: database.prepare<[], { secret: string }>(
      'SELECT secret FROM tessera_console_secret WHERE id = 1',
    ),
  };

  return {
    async countLiveSessionsByPolicy(now) {
      const counts: Record<string, number> = {};
      for (const row of guard(() => sql.liveByPolicy.all(now, now))) counts[row.policy] = row.count;
      return counts;
    },
    async createOperator(operator) {
      guard(() =>
        sql.insert.run({
          id: operator.id,
          name: operator.name,
          password_hash: operator.passwordHash,
          created_at: operator.createdAt,
          password_changed_at: operator.passwordChangedAt,
          disabled_at: operator.disabledAt,
          failed_sign_ins: operator.failedSignIns,
          last_failed_sign_in_at: operator.lastFailedSignInAt,
          last_sign_in_at: operator.lastSignInAt,
        }),
      );
    },
    async getOperator(id) {
      const row = guard(() => sql.byId.get(id));
      return row ? toOperator(row) : null;
    },
    async findOperatorByName(name) {
      const row = guard(() => sql.byName.get(name));
      return row ? toOperator(row) : null;
    },
    async listOperators() {
      return guard(() => sql.all.all()).map(toOperator);
    },
    async setOperatorPassword(id, passwordHash, at) {
      return guard(() => sql.setPassword.run(passwordHash, at, id)).changes === 1;
    },
    async setOperatorDisabled(id, at) {
      const { changes } = guard(() => (at === null ? sql.enable.run(id) : sql.disable.run(at, id)));
      return changes === 1;
    },
    async recordOperatorFailure(id, at) {
      const row = guard(() => sql.failure.get(at, id));
      return row ? toOperator(row) : null;
    },
    async recordOperatorSignIn(id, at) {
      guard(() => sql.signIn.run(at, id));
    },
    async consoleSecret(candidate) {
      return guard(() => {
        sql.putSecret.run(candidate);
        return sql.secret.get()?.secret ?? candidate;
      });
    },
  };
}
