import { randomUUID } from 'node:crypto';
import { openSqliteDatabase } from '@tessera/store-sqlite';
import {
  dummyHash,
  hashPassword,
  OWASP_SCRYPT,
  type ScryptCost,
  verifyPassword,
} from './password-hash.js';

export interface User {
  id: string;
  email: string;
}

/** The app's own user table (SQLite), which Tessera never sees: it only gets the user id. */
export interface UserTable {
  add(email: string, password: string): Promise<User>;
  /** The user when e-mail and password match; null for an unknown e-mail or a wrong password alike. */
  authenticate(email: string, password: string): Promise<User | null>;
  /** Re-checks the password of a signed-in user (password change, step-up). */
  checkPassword(userId: string, password: string): Promise<boolean>;
  setPassword(userId: string, password: string): Promise<void>;
  setEmail(userId: string, email: string): boolean;
  get(userId: string): User | null;
  close(): void;
}

const normalise = (email: string) => email.trim().toLowerCase();

/** Opens (creating) the user table in a SQLite file, or in memory with `:memory:`. */
export function openUserTable(path: string, cost: ScryptCost = OWASP_SCRYPT): UserTable {
  const db = openSqliteDatabase(path);
  const dummy = dummyHash(cost);
  db.exec(`CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
  )`);
  const byEmail = db.prepare<[string], { id: string; email: string; password_hash: string }>(
    'SELECT id, email, password_hash FROM users WHERE email = ?',
  );
  const byId = db.prepare<[string], { id: string; email: string; password_hash: string }>(
    'SELECT id, email, password_hash FROM users WHERE id = ?',
  );
  return {
    async add(email, password) {
      const user = { id: randomUUID(), email: normalise(email) };
      const hash = await hashPassword(password, cost);
      db.prepare('INSERT INTO users (id, email, password_hash) VALUES (?, ?, ?)').run(
        user.id,
        user.email,
        hash,
      );
      return user;
    },
    async authenticate(email, password) {
      const row = byEmail.get(normalise(email));
      // Same work for an unknown e-mail as for a wrong password (WSTG-ATHN-04, ASVS 5.0 6.3.8).
      const ok = await verifyPassword(password, row?.password_hash ?? (await dummy));
      return row && ok ? { id: row.id, email: row.email } : null;
    },
    async checkPassword(userId, password) {
      const row = byId.get(userId);
      return verifyPassword(password, row?.password_hash ?? (await dummy)).then(
        (ok) => ok && row !== undefined,
      );
    },
    async setPassword(userId, password) {
      db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(
        await hashPassword(password, cost),
        userId,
      );
    },
    setEmail(userId, email) {
      try {
        return (
          db.prepare('UPDATE users SET email = ? WHERE id = ?').run(normalise(email), userId)
            .changes === 1
        );
      } catch {
        return false; // taken
      }
    },
    get(userId) {
      const row = byId.get(userId);
      return row ? { id: row.id, email: row.email } : null;
    },
    close() {
      db.close();
    },
  };
}

/** Seeds a user once (idempotent across runs on the same file). */
export async function ensureUser(users: UserTable, email: string, password: string): Promise<User> {
  return (await users.authenticate(email, password)) ?? users.add(email, password);
}
