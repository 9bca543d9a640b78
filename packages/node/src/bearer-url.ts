/**
 * Splits a request target into the path (for DPoP `htu`, which excludes query and fragment:
 * RFC 9449 §4.3) and whether its query names `access_token` (RFC 6750 §2.3, which Tessera
 * refuses: tokens in URLs leak through logs and Referer).
 */
export function splitTarget(target: string): { path: string; tokenInQuery: boolean } {
  const hash = target.indexOf('#');
  const withoutFragment = hash < 0 ? target : target.slice(0, hash);
  const q = withoutFragment.indexOf('?');
  if (q < 0) return { path: withoutFragment, tokenInQuery: false };
  return {
    path: withoutFragment.slice(0, q),
    tokenInQuery: new URLSearchParams(withoutFragment.slice(q + 1)).has('access_token'),
  };
}
