/**
 * Removes known structure from a token before its randomness is analysed, so that a cookie
 * signature or a fixed brand prefix neither inflates nor hides the size of the random part.
 */
import { decodeJwt } from './jwt.js';

export type RandomPartKind = 'plain' | 'jwt' | 'signed-cookie' | 'uuid' | 'prefixed';

/** What `extractRandomPart` did to a token. */
export interface RandomPart {
  kind: RandomPartKind;
  /** The part to analyse; `''` for a JWT. */
  value: string;
  /** The stripped prefix for `prefixed` (a brand such as `tsa_`, not secret). */
  prefix?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** express-session / cookie-signature: `s:<value>.<base64 HMAC-SHA256 without padding>`. */
const SIGNED_COOKIE = /^s:(.+)\.([A-Za-z0-9+/]{43})$/;
/** A lowercase brand prefix ending in `_` (`tsa_`, `ghp_`, `sk_live_`) before a long body. */
const BRAND_PREFIX = /^((?:[a-z][a-z0-9]{0,11}_)+)(.{16,})$/;

/**
 * Classifies a token and returns the part to analyse.
 *
 * @example describeRandomPart('s:abc123.' + 'A'.repeat(43)) // { kind: 'signed-cookie', value: 'abc123' }
 */
export function describeRandomPart(token: string): RandomPart {
  let text = token.trim();
  if (/%[0-9A-Fa-f]{2}/.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      // Not valid percent-encoding: analyse it as it is.
    }
  }
  text = text.replace(/^(Bearer|DPoP)\s+/i, '');
  if (decodeJwt(text) !== null) return { kind: 'jwt', value: '' };
  const signed = SIGNED_COOKIE.exec(text);
  if (signed !== null) return { kind: 'signed-cookie', value: signed[1]! };
  if (UUID.test(text)) return { kind: 'uuid', value: text.replace(/-/g, '') };
  const branded = BRAND_PREFIX.exec(text);
  if (branded !== null) return { kind: 'prefixed', value: branded[2]!, prefix: branded[1]! };
  return { kind: 'plain', value: text };
}

/**
 * Strips known structure before analysis: URL encoding, a `Bearer`/`DPoP` scheme, the signature
 * of an express-session cookie (`s:<value>.<sig>` keeps `<value>`), the dashes of a UUID, and a
 * lowercase brand prefix such as `tsa_`. Returns `''` for a JWT: there is no random part to
 * analyse, a JWT is judged by the SH-JWT checks (and `analyzeTokens` calls a sample of JWTs
 * INCONCLUSIVE). The result is not always a substring of the input (URL decoding, UUID dashes).
 *
 * Per token, a brand prefix cannot be told from a random body that happens to start with
 * `abc_`; `analyzeTokens` therefore applies this only when every token of the sample has the
 * same structure, and falls back to the raw tokens otherwise.
 *
 * @example extractRandomPart('tsa_9f2c…') // '9f2c…'
 */
export function extractRandomPart(token: string): string {
  return describeRandomPart(token).value;
}
