import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Derives and checks the CSRF token of one session: HMAC-SHA256 under a server secret over the
 * session id and its last authentication time (OWASP CSRF Cheat Sheet, "signed double-submit
 * cookie"; ASVS 5.0 3.5.1).
 *
 * Why this design: the token is stateless (no store write per session), cannot be made without
 * the secret, and cannot be carried over to another session, so a cookie planted by a sibling
 * subdomain or a man-in-the-middle on http is useless. It changes at step-up (new
 * authentication time), and stays stable across the transparent refreshes in between, so pages
 * that already hold it keep working.
 */
export interface CsrfTokens {
  tokenFor(session: { sessionId: string; authenticatedAt: number }): string;
  verify(
    session: { sessionId: string; authenticatedAt: number },
    presented: string | undefined,
  ): boolean;
}

export function createCsrfTokens(secret: string | Uint8Array): CsrfTokens {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (key.length < 32) {
    throw new TypeError('csrfSecret must be at least 32 bytes (256 bits) of random data');
  }
  const tokenFor = (session: { sessionId: string; authenticatedAt: number }) =>
    createHmac('sha256', key)
      // Whole seconds: the service reports `auth_time` in seconds (RFC 7662) and milliseconds
      // elsewhere; both must give the same token.
      .update(
        `tessera-csrf/v1\0${session.sessionId}\0${Math.floor(session.authenticatedAt / 1000)}`,
      )
      .digest('base64url');
  return {
    tokenFor,
    verify(session, presented) {
      if (typeof presented !== 'string' || presented.length === 0) return false;
      const expected = Buffer.from(tokenFor(session));
      const given = Buffer.from(presented);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
