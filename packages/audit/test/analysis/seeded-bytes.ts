import { createHash } from 'node:crypto';

/**
 * Deterministic pseudo-random bytes (SHA-256 in counter mode), so the statistical tests run on
 * the same "random" samples every time: a false alarm would reproduce instead of flaking.
 */
export function seededBytes(seed: string): (length: number) => Buffer {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (length) => {
    while (pool.length < length) {
      const block = createHash('sha256').update(`${seed}:${counter++}`).digest();
      pool = Buffer.concat([pool, block]);
    }
    const out = pool.subarray(0, length);
    pool = pool.subarray(length);
    return Buffer.from(out);
  };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 32 bytes as a fixed-width 43-character base62 number, as base62 token libraries do. */
export function toBase62(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  for (let i = 0; i < 43; i++) {
    out = BASE62[Number(value % 62n)]! + out;
    value /= 62n;
  }
  return out;
}

/** Uniform base62 characters by rejection sampling (no modulo bias). */
export function randomBase62(next: (length: number) => Buffer, length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of next(length)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}
