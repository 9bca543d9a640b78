import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** The token pair that a rotation issued, as kept for an idempotent replay of its parent. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

const INFO = Buffer.from('tessera/refresh-successor/v1');

/*
 * The successor pair is kept so that a parent refresh token presented again within the grace
 * window gets the *same* pair back (a lost answer, or racing refreshes). Keeping it in clear
 * would let anyone who reads the store take over the session, so it is sealed with AES-256-GCM
 * under a key derived (HKDF-SHA256) from the parent token itself, which the store never holds:
 * only whoever presents the parent can open it. The AAD binds it to the session and generation.
 */
function keyFor(parentRefreshToken: string, sessionId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', parentRefreshToken, sessionId, INFO, 32));
}

export function sealSuccessor(
  parentRefreshToken: string,
  sessionId: string,
  generation: number,
  pair: TokenPair,
): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(parentRefreshToken, sessionId), iv);
  cipher.setAAD(Buffer.from(`${sessionId}:${generation}`));
  const body = Buffer.concat([
    cipher.update(`${pair.accessToken}.${pair.refreshToken}`, 'utf8'),
    cipher.final(),
  ]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The sealed pair, or null when the token is not the parent or the box was tampered with. */
export function openSuccessor(
  parentRefreshToken: string,
  sessionId: string,
  generation: number,
  sealed: string,
): TokenPair | null {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv(
      'aes-256-gcm',
      keyFor(parentRefreshToken, sessionId),
      raw.subarray(0, 12),
    );
    decipher.setAAD(Buffer.from(`${sessionId}:${generation}`));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString(
      'utf8',
    );
    const [accessToken, refreshToken] = text.split('.');
    return accessToken && refreshToken ? { accessToken, refreshToken } : null;
  } catch {
    return null;
  }
}
