import {
  createHash,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';

/*
 * Hand-made DPoP proofs (RFC 9449 §4.2) for tests that need to break one rule at a time: a
 * library would refuse to build most of these (alg none, HMAC, a private jwk, a wrong typ).
 * Signing is plain node:crypto, so the server's verifier (jose) is checked against an
 * independent implementation.
 */

const b64u = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export interface ProofKey {
  alg: 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  /** The public JWK as it goes in the proof header. */
  publicJwk: Record<string, string>;
  /** The private JWK (with `d`), for the "private key in the header" defect. */
  privateJwk: Record<string, string>;
  /** RFC 7638 SHA-256 thumbprint, base64url: what `dpop_jkt` carries. */
  jkt: string;
}

/** A fresh P-256 (ES256) or Ed25519 (EdDSA) key. */
export function makeProofKey(alg: ProofKey['alg'] = 'ES256'): ProofKey {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
  const publicJwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const privateJwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
  return { alg, privateKey, publicJwk, privateJwk, jkt: thumbprint(publicJwk) };
}

/** RFC 7638 §3: the required members only, in lexicographic order, no whitespace. */
export function thumbprint(jwk: Record<string, string>): string {
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'];
  const canonical = `{${members.map((m) => `"${m}":${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** RFC 9449 §4.2 `ath`: base64url SHA-256 of the access token's ASCII bytes. */
export const athOf = (accessToken: string) =>
  createHash('sha256').update(accessToken).digest('base64url');

export interface ProofInput {
  htm: string;
  htu: string;
  /** Epoch seconds. */
  iat: number;
  accessToken?: string;
  nonce?: string;
  /** Members to override (undefined deletes one) in the header and the payload. */
  header?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  /** Sign with this key instead of the one whose jwk is in the header. */
  signWith?: ProofKey;
  /** HMAC-SHA256 with this secret (for the `HS256` defect). */
  hmacSecret?: Buffer;
  /** No signature at all (`alg: none`). */
  unsigned?: boolean;
}

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const out: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/** A compact JWS DPoP proof made with `key`, with the defects the input asks for. */
export function makeProof(key: ProofKey, input: ProofInput): string {
  const header = withOverrides({ typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk }, input.header);
  const payload = withOverrides(
    {
      jti: randomBytes(16).toString('base64url'),
      htm: input.htm,
      htu: input.htu,
      iat: input.iat,
      ...(input.accessToken === undefined ? {} : { ath: athOf(input.accessToken) }),
      ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    },
    input.payload,
  );
  const signingInput = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  if (input.unsigned) return `${signingInput}.`;
  if (input.hmacSecret) {
    return `${signingInput}.${createHmac('sha256', input.hmacSecret).update(signingInput).digest('base64url')}`;
  }
  const signer = input.signWith ?? key;
  const signature =
    signer.alg === 'ES256'
      ? sign('sha256', Buffer.from(signingInput), {
          key: signer.privateKey,
          dsaEncoding: 'ieee-p1363',
        })
      : sign(null, Buffer.from(signingInput), signer.privateKey);
  return `${signingInput}.${b64u(signature)}`;
}
