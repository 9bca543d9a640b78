/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1) with RFC 6750 §3 / RFC 9449 §7.1 / RFC 9470
 * §3 parameters. Values are quoted strings; quotes and backslashes in them are escaped.
 */
export type ChallengeScheme = 'Bearer' | 'DPoP' | 'Cookie';

export interface ChallengeParams {
  realm?: string;
  error?: string;
  error_description?: string;
  /** RFC 9470 §3: the maximum age of the authentication the resource requires, in seconds. */
  max_age?: number;
  /** RFC 9470 §3: the required authentication context class. */
  acr_values?: string;
  /** RFC 9449 §7.1: the JWS algorithms accepted for DPoP proofs. */
  algs?: string;
}

const quote = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * @example
 * challenge('Bearer', { realm: 'api', error: 'invalid_token' }); // 'Bearer realm="api", error="invalid_token"'
 */
export function challenge(scheme: ChallengeScheme, params: ChallengeParams): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    parts.push(`${key}=${quote(String(value))}`);
  }
  return parts.length === 0 ? scheme : `${scheme} ${parts.join(', ')}`;
}
