import type { Tessera } from './engine.js';
import { TesseraError } from './errors.js';
import {
  DEFAULT_SCRYPT,
  hashOperatorPassword,
  type ScryptParameters,
  verifyOperatorPassword,
} from './operator-password.js';
import { generateId } from './token.js';
import type { OperatorRecord } from './types.js';

/** Operator sessions belong to this user id: `operator:<operator id>`. */
export const OPERATOR_USER_PREFIX = 'operator:';

/** The user id of an operator's console sessions. */
export function operatorUserId(operatorId: string): string {
  return `${OPERATOR_USER_PREFIX}${operatorId}`;
}

export interface OperatorAccountsOptions {
  /** The engine: its store keeps the operators, its clock judges lock-outs. */
  tessera: Tessera;
  /** Cost of new hashes (existing ones keep theirs). @default DEFAULT_SCRYPT */
  scrypt?: ScryptParameters;
  /** Consecutive failed sign-ins allowed before each further attempt must wait. @default 5 */
  freeAttempts?: number;
  /** The first wait after those, doubled at each further failure. @default 30 */
  lockBaseSeconds?: number;
  /** The longest wait. @default 900 (15 min) */
  lockMaxSeconds?: number;
}

export type OperatorSignInFailure = 'unknown' | 'wrong_password' | 'disabled' | 'locked';

export type OperatorSignInResult =
  | { ok: true; operator: OperatorRecord }
  | {
      ok: false;
      reason: OperatorSignInFailure;
      /** The operator the name belongs to, when it belongs to one. */
      operator: OperatorRecord | null;
      /** With `locked` (or a failure that just locked): the next attempt counts from then. */
      retryAt?: number;
    };

/** Operator accounts on the engine's store: what the CLI manages and the console signs in. */
export interface OperatorAccounts {
  create(input: { name: string; password: string }): Promise<OperatorRecord>;
  list(): Promise<OperatorRecord[]>;
  get(id: string): Promise<OperatorRecord | null>;
  findByName(name: string): Promise<OperatorRecord | null>;
  /** Disables the operator and ends its console sessions (`account_disabled`, ASVS 5.0 7.4.2). */
  disable(name: string): Promise<{ operator: OperatorRecord; endedSessions: number }>;
  enable(name: string): Promise<OperatorRecord>;
  /**
   * Sets a new password, lifts a lock-out and ends the operator's console sessions
   * (`password_changed`, ASVS 5.0 7.4.3).
   */
  resetPassword(
    name: string,
    password: string,
  ): Promise<{ operator: OperatorRecord; endedSessions: number }>;
  /**
   * Checks a name and password. Every outcome costs one scrypt computation (a dummy one for an
   * unknown name or a locked account), so the time taken does not tell them apart.
   */
  signIn(name: string, password: string): Promise<OperatorSignInResult>;
  /**
   * An operator changing its own password: the current one is checked like a sign-in (failures
   * count), then the new one is set and every other console session of the operator ends
   * (`password_changed`, ASVS 5.0 7.4.3); `keepSessionId` (the one making the change) stays.
   */
  changePassword(
    operatorId: string,
    input: { current: string; next: string; keepSessionId: string },
  ): Promise<OperatorSignInResult & { endedSessions?: number }>;
  /** Re-checks the password of a signed-in operator (step-up); counts failures like a sign-in. */
  verifyPassword(operatorId: string, password: string): Promise<OperatorSignInResult>;
  /** When the operator may try again, or null when not locked at `now`. */
  lockedUntil(operator: OperatorRecord, now: number): number | null;
}

const NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
/** NIST SP 800-63B-4 §3.1.1.2: at least 15 characters for a password that is the only factor. */
export const OPERATOR_PASSWORD_MIN_LENGTH = 15;
const PASSWORD_MAX_LENGTH = 256;

/** Lower-cased and trimmed; sign-in names compare this way. */
export function normalizeOperatorName(name: string): string {
  return name.trim().toLowerCase();
}

/** Null when acceptable, otherwise why not. */
export function operatorNameProblem(name: string): string | null {
  return NAME.test(normalizeOperatorName(name))
    ? null
    : 'an operator name is 1–64 characters of a-z, 0-9, ".", "_", "@" or "-", starting with a letter or digit';
}

/** Null when acceptable, otherwise why not (length only: NIST SP 800-63B-4 §3.1.1.2). */
export function operatorPasswordProblem(password: string): string | null {
  const length = [...password.normalize('NFKC')].length;
  if (length < OPERATOR_PASSWORD_MIN_LENGTH) {
    return `the password must be at least ${OPERATOR_PASSWORD_MIN_LENGTH} characters (got ${length})`;
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return `the password must be at most ${PASSWORD_MAX_LENGTH} characters`;
  }
  return null;
}

/**
 * Operator accounts: scrypt hashes with per-operator salt and stored parameters, and a lock-out
 * kept in the store (so it holds on every node): after `freeAttempts` consecutive failures,
 * each further attempt waits `lockBaseSeconds`, doubling per failure up to `lockMaxSeconds`
 * (OWASP Authentication Cheat Sheet, "account lockout"; NIST SP 800-63B-4 §3.2.2 rate
 * limiting). A wait rather than a permanent lock: whoever knows a name cannot lock its
 * operator out for good.
 *
 * @example
 * const accounts = createOperatorAccounts({ tessera });
 * await accounts.create({ name: 'ada', password: 'a long pass phrase of words' });
 */
export function createOperatorAccounts(options: OperatorAccountsOptions): OperatorAccounts {
  const {
    tessera,
    scrypt = DEFAULT_SCRYPT,
    freeAttempts = 5,
    lockBaseSeconds = 30,
    lockMaxSeconds = 900,
  } = options;
  const { store, clock } = tessera;
  let dummy: Promise<string> | undefined;
  const dummyHash = () => {
    dummy ??= hashOperatorPassword('tessera-dummy-password-for-timing', scrypt);
    return dummy;
  };

  function lockedUntil(operator: OperatorRecord, now: number): number | null {
    const over = operator.failedSignIns - freeAttempts;
    if (over < 0 || operator.lastFailedSignInAt === null) return null;
    const waitSeconds = Math.min(lockMaxSeconds, lockBaseSeconds * 2 ** Math.min(over, 30));
    const until = operator.lastFailedSignInAt + waitSeconds * 1000;
    return now < until ? until : null;
  }

  async function byName(name: string): Promise<OperatorRecord> {
    const operator = await store.findOperatorByName(normalizeOperatorName(name));
    if (!operator) throw new TesseraError('invalid_argument', `no operator named "${name}"`);
    return operator;
  }

  async function check(
    operator: OperatorRecord | null,
    password: string,
  ): Promise<OperatorSignInResult> {
    const now = clock.now();
    const until = operator ? lockedUntil(operator, now) : null;
    if (operator === null || until !== null) {
      // Same cost as a real check, so that timing does not reveal which names exist or are locked.
      await verifyOperatorPassword(password, await dummyHash());
      return operator === null
        ? { ok: false, reason: 'unknown', operator: null }
        : { ok: false, reason: 'locked', operator, retryAt: until as number };
    }
    const matches = await verifyOperatorPassword(password, operator.passwordHash);
    if (operator.disabledAt !== null) return { ok: false, reason: 'disabled', operator };
    if (!matches) {
      const counted = (await store.recordOperatorFailure(operator.id, now)) ?? operator;
      const retryAt = lockedUntil(counted, now);
      return {
        ok: false,
        reason: 'wrong_password',
        operator: counted,
        ...(retryAt === null ? {} : { retryAt }),
      };
    }
    await store.recordOperatorSignIn(operator.id, now);
    return {
      ok: true,
      operator: { ...operator, failedSignIns: 0, lastFailedSignInAt: null, lastSignInAt: now },
    };
  }

  return {
    async create({ name, password }) {
      const problem = operatorNameProblem(name) ?? operatorPasswordProblem(password);
      if (problem !== null) throw new TesseraError('invalid_argument', problem);
      const now = clock.now();
      const operator: OperatorRecord = {
        id: generateId(),
        name: normalizeOperatorName(name),
        passwordHash: await hashOperatorPassword(password, scrypt),
        createdAt: now,
        passwordChangedAt: now,
        disabledAt: null,
        failedSignIns: 0,
        lastFailedSignInAt: null,
        lastSignInAt: null,
      };
      await store.createOperator(operator);
      return operator;
    },

    list: () => store.listOperators(),
    get: (id) => store.getOperator(id),
    findByName: (name) => store.findOperatorByName(normalizeOperatorName(name)),

    async disable(name) {
      const operator = await byName(name);
      const now = clock.now();
      await store.setOperatorDisabled(operator.id, now);
      const ended = await tessera.endAllForUser(operatorUserId(operator.id), 'account_disabled');
      return {
        operator: { ...operator, disabledAt: operator.disabledAt ?? now },
        endedSessions: ended.length,
      };
    },

    async enable(name) {
      const operator = await byName(name);
      await store.setOperatorDisabled(operator.id, null);
      return { ...operator, disabledAt: null };
    },

    async resetPassword(name, password) {
      const problem = operatorPasswordProblem(password);
      if (problem !== null) throw new TesseraError('invalid_argument', problem);
      const operator = await byName(name);
      const now = clock.now();
      const passwordHash = await hashOperatorPassword(password, scrypt);
      await store.setOperatorPassword(operator.id, passwordHash, now);
      const ended = await tessera.endAllForUser(operatorUserId(operator.id), 'password_changed');
      return {
        operator: {
          ...operator,
          passwordHash,
          passwordChangedAt: now,
          failedSignIns: 0,
          lastFailedSignInAt: null,
        },
        endedSessions: ended.length,
      };
    },

    async signIn(name, password) {
      const normalized = normalizeOperatorName(name);
      const operator = NAME.test(normalized) ? await store.findOperatorByName(normalized) : null;
      return check(operator, password);
    },

    async changePassword(operatorId, { current, next, keepSessionId }) {
      const problem = operatorPasswordProblem(next);
      if (problem !== null) throw new TesseraError('invalid_argument', problem);
      const checked = await check(await store.getOperator(operatorId), current);
      if (!checked.ok) return checked;
      const now = clock.now();
      const passwordHash = await hashOperatorPassword(next, scrypt);
      await store.setOperatorPassword(operatorId, passwordHash, now);
      const ended = await tessera.endAllForUser(operatorUserId(operatorId), 'password_changed', {
        exceptSessionId: keepSessionId,
      });
      return {
        ok: true,
        operator: { ...checked.operator, passwordHash, passwordChangedAt: now },
        endedSessions: ended.length,
      };
    },

    async verifyPassword(operatorId, password) {
      return check(await store.getOperator(operatorId), password);
    },

    lockedUntil,
  };
}
