import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { DpopKeyHandle } from '@tessera/client';

/**
 * The Node phone's DPoP key (RFC 9449), played by a P-256 key in a file: what the Android
 * Keystore or the iOS Secure Enclave is on a real phone, a key that outlives the app's process,
 * behind the SDK's `DpopKeyHandle` (the platform-adapter seam). It has to outlive the process
 * here because the example kills the phone in the middle of a refresh and a new process must go
 * on with the same key: a session bound to a key refreshes only with proofs from that key.
 *
 * A file is acceptable only because the "phone" is a test process in a private temporary
 * directory (mode 0600); on a device the private key never exists outside the secure hardware.
 *
 * @example
 * const client = createTesseraClient({ baseUrl, storage, dpop: fileDpopKey('/tmp/x/phone.key') });
 */
export function fileDpopKey(path: string): DpopKeyHandle {
  const pem = readOrCreate(path);
  const privateKey = createPrivateKey(pem);
  const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: 'jwk' });
  return {
    alg: 'ES256',
    // Public members only (RFC 9449 §4.2: the proof's `jwk` must not hold the private key).
    publicJwk: { kty, crv, x, y },
    // JWS wants r || s (RFC 7518 §3.4), not DER: ieee-p1363.
    sign: async (data) =>
      new Uint8Array(sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  };
}

function readOrCreate(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  // Written whole and fsynced under a temporary name, then linked into place: link fails if a
  // key is there already (another process made one first), so every process ends up with the
  // one key that is on disk, never a torn file, never two keys.
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(path, 'utf8');
}
