/** One parsed `Set-Cookie` header. Attribute names are matched case-insensitively (RFC 6265 §5.2). */
export interface SetCookie {
  name: string;
  value: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite?: string;
  domain?: string;
  path?: string;
  maxAgeSeconds?: number;
  expires?: Date;
  raw: string;
}

/**
 * Parses a `Set-Cookie` header value.
 *
 * @example parseSetCookie('sid=abc; Path=/; HttpOnly').httpOnly // true
 */
export function parseSetCookie(header: string): SetCookie {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  const cookie: SetCookie = {
    name: (eq >= 0 ? pair.slice(0, eq) : pair).trim(),
    value:
      eq >= 0
        ? pair
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1')
        : '',
    httpOnly: false,
    secure: false,
    raw: header,
  };
  for (const attribute of attributes) {
    const i = attribute.indexOf('=');
    const key = (i >= 0 ? attribute.slice(0, i) : attribute).trim().toLowerCase();
    const value = i >= 0 ? attribute.slice(i + 1).trim() : '';
    if (key === 'httponly') cookie.httpOnly = true;
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'samesite') cookie.sameSite = value;
    else if (key === 'domain') cookie.domain = value;
    else if (key === 'path') cookie.path = value;
    else if (key === 'max-age' && /^-?\d+$/.test(value)) cookie.maxAgeSeconds = Number(value);
    else if (key === 'expires') {
      const date = new Date(value);
      if (!Number.isNaN(date.getTime())) cookie.expires = date;
    }
  }
  return cookie;
}

/** True when the cookie deletes itself (empty value, Max-Age ≤ 0, or an expiry in the past). */
export function isExpiringCookie(cookie: SetCookie, nowMs = Date.now()): boolean {
  if (cookie.maxAgeSeconds !== undefined) return cookie.maxAgeSeconds <= 0;
  if (cookie.expires !== undefined) return cookie.expires.getTime() <= nowMs;
  return false;
}

/** Seconds the browser keeps the cookie, or `null` for a session cookie. */
export function cookieLifetimeSeconds(cookie: SetCookie, nowMs = Date.now()): number | null {
  if (cookie.maxAgeSeconds !== undefined) return cookie.maxAgeSeconds;
  if (cookie.expires !== undefined) return Math.round((cookie.expires.getTime() - nowMs) / 1000);
  return null;
}
