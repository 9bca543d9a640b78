import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost parameters, stored with each hash so that they can be raised later. */
export interface ScryptParameters {
  /** log2 of the CPU/memory cost N. @default 15 */
  logN: number;
  /** Block size. @default 8 */
  r: number;
  /** Parallelisation. @default 3 */
  p: number;
}

/**
 * OWASP Password Storage Cheat Sheet, scrypt: N=2^15, r=8, p=3 is one of its equivalent
 * minimum settings (32 MiB per hash), chosen over N=2^17, p=1 (128 MiB) so that a few
 * concurrent sign-ins cannot exhaust a small node's memory.
 */
export const DEFAULT_SCRYPT: ScryptParameters = { logN: 15, r: 8, p: 3 };

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const FORMAT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

function derive(password: string, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    // scrypt needs about 128·N·r bytes; Node refuses above 32 MiB unless told.
    maxmem: 256 * N * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

/**
 * Hashes an operator's password with scrypt, a fresh 128-bit salt and the given parameters, as
 * one PHC-style string: `$scrypt$ln=15,r=8,p=3$<salt>$<key>` (base64 without padding). Runs on
 * libuv's thread pool, never blocking the event loop. Passwords are NFKC-normalised first
 * (NIST SP 800-63B-4 §3.1.1.2), so the same password typed on two keyboards verifies.
 *
 * @example
 * const stored = await hashOperatorPassword('correct horse battery staple');
 */
export async function hashOperatorPassword(
  password: string,
  params: ScryptParameters = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/**
 * True when `password` matches a hash from `hashOperatorPassword`, compared in constant time.
 * A malformed stored hash is never a match.
 *
 * @example
 * if (await verifyOperatorPassword(typed, record.passwordHash)) { … }
 */
export async function verifyOperatorPassword(password: string, stored: string): Promise<boolean> {
  const match = FORMAT.exec(stored);
  if (!match) return false;
  const [, logN, r, p, salt, key] = match;
  const params = { logN: Number(logN), r: Number(r), p: Number(p) };
  if (params.logN < 10 || params.logN > 22 || params.r < 1 || params.p < 1) return false;
  const expected = Buffer.from(key as string, 'base64');
  const actual = await derive(password, Buffer.from(salt as string, 'base64'), params);
  // Constant time: how much of a guess matched must not show in the answer's timing.
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
