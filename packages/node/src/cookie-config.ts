import type { SerializeOptions } from 'cookie';

export interface CookieAttributesOptions {
  /**
   * Base name of the three cookies: `__Host-<name>` (the access token, HttpOnly),
   * `__Host-<name>-refresh` (the refresh token, HttpOnly) and `__Host-<name>-csrf` (the CSRF
   * token, readable by the page's script).
   * @default 'tessera'
   */
  name?: string;
  /**
   * `lax` lets a top-level navigation from another site arrive signed in (links in e-mails);
   * `strict` does not send the cookie on any cross-site request. State-changing requests are
   * protected by the CSRF check either way.
   * @default 'lax'
   */
  sameSite?: 'lax' | 'strict';
  /**
   * Local development over plain http on a host other than `localhost` (a phone on the LAN, a
   * web view). Drops the `__Host-` prefix and `Secure`, which browsers otherwise refuse over
   * http. Refused (throws) when `NODE_ENV` is `production`, so it can never weaken a deployed
   * app by accident. Not needed on `http://localhost`: Chromium and Firefox treat it as a secure
   * context and keep `__Host-`/`Secure` cookies there.
   * @default false
   */
  insecureHttpForLocalDev?: boolean;
}

export interface CookieAttributes {
  /** The access token's cookie (HttpOnly). */
  sessionName: string;
  /** The refresh token's cookie (HttpOnly). */
  refreshName: string;
  csrfName: string;
  /** Attributes shared by both cookies; the session cookie adds HttpOnly. */
  base: SerializeOptions;
  insecure: boolean;
}

const NAME = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * The cookie attributes of cookie mode (ASVS 5.0 3.3.1–3.3.4, RFC 6265bis §4.1.3.2):
 * `__Host-` prefix, `Secure`, `Path=/`, no `Domain` (so no sibling subdomain can read or
 * overwrite it), `SameSite`. No `Max-Age`: a browser-session cookie, while the session's idle
 * and absolute timeouts are enforced by the engine, not by the browser (NIST SP 800-63B-4 §5.1.1).
 */
export function resolveCookieAttributes(options: CookieAttributesOptions = {}): CookieAttributes {
  const { name = 'tessera', sameSite = 'lax', insecureHttpForLocalDev = false } = options;
  if (!NAME.test(name)) {
    throw new TypeError(`cookie name "${name}" must be 1–32 characters of A-Z, a-z, 0-9, _ or -`);
  }
  if (sameSite !== 'lax' && sameSite !== 'strict') {
    throw new TypeError(`sameSite must be 'lax' or 'strict' (got ${JSON.stringify(sameSite)})`);
  }
  if (insecureHttpForLocalDev && process.env.NODE_ENV === 'production') {
    throw new TypeError(
      'insecureHttpForLocalDev is refused when NODE_ENV=production: serve the app over https',
    );
  }
  const prefix = insecureHttpForLocalDev ? '' : '__Host-';
  return {
    sessionName: `${prefix}${name}`,
    refreshName: `${prefix}${name}-refresh`,
    csrfName: `${prefix}${name}-csrf`,
    base: { path: '/', sameSite, secure: !insecureHttpForLocalDev },
    insecure: insecureHttpForLocalDev,
  };
}
