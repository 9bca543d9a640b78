/** The credential of an `Authorization` header, as RFC 6750 §2.1 and RFC 9449 §7.1 send it. */
export type PresentedCredential =
  | { kind: 'token'; scheme: 'Bearer' | 'DPoP'; token: string }
  | { kind: 'absent' }
  | { kind: 'malformed'; description: string };

// token68 (RFC 9110 §11.2); Tessera tokens are a subset.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Reads `Authorization: Bearer <token>` or `Authorization: DPoP <token>`. The scheme is
 * case-insensitive (RFC 9110 §11.1). Another scheme counts as no credential (answered with a
 * bare challenge); two credentials or a broken token are malformed (400 `invalid_request`).
 */
export function readAuthorization(header: string | undefined): PresentedCredential {
  if (header === undefined || header.trim() === '') return { kind: 'absent' };
  // Node joins repeated headers with ", ": a request with two credentials is ambiguous.
  if (header.includes(',')) {
    return { kind: 'malformed', description: 'send exactly one Authorization credential' };
  }
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'dpop') return { kind: 'absent' };
  const token = space < 0 ? '' : header.slice(space + 1).trim();
  if (!TOKEN68.test(token)) {
    return {
      kind: 'malformed',
      description: `the ${scheme === 'dpop' ? 'DPoP' : 'Bearer'} credential is not a token`,
    };
  }
  return { kind: 'token', scheme: scheme === 'dpop' ? 'DPoP' : 'Bearer', token };
}
