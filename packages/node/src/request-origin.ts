import type { RequestView } from './http-request.js';

export interface OriginPolicyOptions {
  /**
   * Origins, besides the request's own, allowed to send state-changing requests (for example a
   * front end on a sibling subdomain, `https://app.example.com`). Exact match, scheme
   * included. A sibling subdomain is `same-site` but not `same-origin`: it must be listed.
   */
  allowedOrigins?: string[];
}

/**
 * Defence in depth for state-changing requests, before the CSRF token is even looked at
 * (OWASP CSRF Cheat Sheet: Fetch Metadata and Origin verification). A browser always sends
 * `Sec-Fetch-Site` (all current engines) and `Origin` on a cross-origin POST; a request from
 * another site is refused on either signal. A request with neither header is not a modern
 * browser's: the CSRF token alone decides.
 *
 * Answers null when the request may go on, or the reason it may not.
 */
export function checkRequestOrigin(
  request: RequestView,
  options: OriginPolicyOptions = {},
): string | null {
  const site = request.header('sec-fetch-site');
  const origin = request.header('origin');
  const listed = origin !== undefined && options.allowedOrigins?.includes(origin) === true;
  const sameOrigin = site === undefined || site === 'same-origin' || site === 'none';
  // Anything else (cross-site, same-site, a value we do not know) passes only for an origin
  // the application listed.
  if (!sameOrigin && !listed) {
    return `a request with Sec-Fetch-Site: ${site} may not change state`;
  }
  // `Origin: null` with `Sec-Fetch-Site: same-origin` is the page's own form post under
  // `Referrer-Policy: no-referrer` (browsers then hide the origin of navigations). A sandboxed
  // frame or a `data:` page, the other senders of `null`, are never `same-origin`.
  const hiddenOwnOrigin = origin === 'null' && site === 'same-origin';
  if (origin !== undefined && !listed && !hiddenOwnOrigin && !isOwnOrigin(request, origin)) {
    return `origin ${origin} may not send state-changing requests here`;
  }
  return null;
}

function isOwnOrigin(request: RequestView, origin: string): boolean {
  const host = request.header('host');
  if (origin === 'null' || host === undefined) return false;
  try {
    const from = new URL(origin);
    // Read the Host header under the origin's scheme, so that default ports compare equal
    // (`localhost:80` is `http://localhost`).
    const target = new URL(`${from.protocol}//${host}`);
    // The Host header is the target the browser addressed; a cross-site page controls its own
    // Origin but not the victim's Host, so equal hosts mean the page is this site's.
    return from.host === target.host && from.origin === origin;
  } catch {
    return false;
  }
}
