import { base64url, base64urlText, sha256 } from './encoding.js';
import { openKeyValueDb } from './idb.js';
import type { Jwk, WebCryptoKeyPair } from './webcrypto.js';

/**
 * A key that signs DPoP proofs (RFC 9449). The private key never has to leave its home: a
 * WebCrypto non-extractable key ({@link webCryptoDpopKey}), or a platform key (iOS Secure
 * Enclave, Android Keystore) behind an adapter that implements this interface.
 */
export interface DpopKeyHandle {
  /** The JWS algorithm: `ES256` (P-256) or `EdDSA` (Ed25519). */
  readonly alg: string;
  /** The public key as a JWK (public members only: `kty`, `crv`, `x`, `y`). */
  readonly publicJwk: Jwk;
  /**
   * Signs the JWS signing input. For ES256 the result is the 64-byte `r || s` JOSE form
   * (RFC 7518 §3.4), which WebCrypto returns as is; platform APIs that return DER (Secure
   * Enclave, Android Keystore) convert with {@link ecdsaDerToJose}.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Where the WebCrypto DPoP key pair is kept between runs. */
export interface DpopKeyStore {
  load(): Promise<WebCryptoKeyPair | null>;
  /** Saves the pair unless one is saved already; returns the pair that is kept. */
  saveIfAbsent(pair: WebCryptoKeyPair): Promise<WebCryptoKeyPair>;
  clear(): Promise<void>;
}

/** A key store for the life of the process (Node, tests): a restart means a new key. */
export function memoryDpopKeyStore(): DpopKeyStore {
  let kept: WebCryptoKeyPair | null = null;
  return {
    load: async () => kept,
    saveIfAbsent: async (pair) => {
      kept ??= pair;
      return kept;
    },
    clear: async () => {
      kept = null;
    },
  };
}

/**
 * Keeps the CryptoKeyPair itself in IndexedDB (browsers, web views). IndexedDB stores a
 * CryptoKey by structured clone, so the private key stays non-extractable: script can sign
 * with it, never read it, and a page reload finds the same key.
 */
export function indexedDbDpopKeyStore(options: { databaseName?: string } = {}): DpopKeyStore {
  const db = openKeyValueDb(options.databaseName ?? 'tessera');
  const KEY = 'dpop.keyPair';
  return {
    load: async () => (await db.get<WebCryptoKeyPair>(KEY)) ?? null,
    async saveIfAbsent(pair) {
      if (await db.add(KEY, pair)) return pair;
      // Another tab generated one first: everybody uses that one.
      return (await db.get<WebCryptoKeyPair>(KEY)) ?? pair;
    },
    clear: () => db.delete(KEY),
  };
}

/** The default key store: IndexedDB where there is one (browsers), memory otherwise. */
export function defaultDpopKeyStore(): DpopKeyStore {
  return (globalThis as { indexedDB?: unknown }).indexedDB === undefined
    ? memoryDpopKeyStore()
    : indexedDbDpopKeyStore();
}

/**
 * The WebCrypto DPoP key: a P-256 (ES256) pair generated once with a non-extractable private
 * key and kept in `store`; later calls (and later runs, with a persistent store) load it.
 */
export async function webCryptoDpopKey(
  store: DpopKeyStore = defaultDpopKeyStore(),
): Promise<DpopKeyHandle> {
  let pair = await store.load();
  if (pair === null) {
    const generated = await crypto.subtle.generateKey(
      { name: 'ECDSA', namedCurve: 'P-256' },
      false, // the private key can sign, never be exported
      ['sign', 'verify'],
    );
    pair = await store.saveIfAbsent(generated as WebCryptoKeyPair);
  }
  const exported = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as Jwk;
  const { kty, crv, x, y } = exported;
  const publicJwk: Jwk = { kty, crv, x, y };
  const privateKey = pair.privateKey;
  return {
    alg: 'ES256',
    publicJwk,
    async sign(data) {
      const signature = await crypto.subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        privateKey,
        data as Uint8Array<ArrayBuffer>,
      );
      return new Uint8Array(signature);
    },
  };
}

/** The public members of a JWK per key type, in the lexicographic order RFC 7638 §3.2 wants. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/** The RFC 7638 SHA-256 thumbprint of a public JWK: the `jkt` a session is bound to. */
export async function jwkThumbprint(jwk: Jwk): Promise<string> {
  const members = jwk.kty === undefined ? undefined : THUMBPRINT_MEMBERS[jwk.kty];
  if (members === undefined) throw new TypeError(`unsupported JWK key type ${jwk.kty}`);
  const record = jwk as Record<string, unknown>;
  const canonical = `{${members
    .map((name) => {
      const value = record[name];
      if (typeof value !== 'string') throw new TypeError(`the JWK has no ${name}`);
      return `${JSON.stringify(name)}:${JSON.stringify(value)}`;
    })
    .join(',')}}`;
  return base64url(await sha256(canonical));
}

export interface DpopProofClaims {
  htm: string;
  /** The request URL; its query and fragment are dropped (RFC 9449 §4.2). */
  htu: string;
  /** The access token the request carries: its SHA-256 goes in `ath`. */
  accessToken?: string;
  nonce?: string;
  /** Seconds since the epoch; the device clock by default (the server allows a window). */
  iat?: number;
}

/** `htu`: the URL without query and fragment (RFC 9449 §4.2). */
export function htuOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** A DPoP proof JWT (RFC 9449 §4.2), signed with `key` as compact JWS. */
export async function createDpopProof(
  key: DpopKeyHandle,
  claims: DpopProofClaims,
): Promise<string> {
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: key.publicJwk };
  const jti = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const payload: Record<string, unknown> = {
    jti,
    htm: claims.htm.toUpperCase(),
    htu: htuOf(claims.htu),
    iat: claims.iat ?? Math.floor(Date.now() / 1000),
  };
  if (claims.accessToken !== undefined) {
    payload['ath'] = base64url(await sha256(claims.accessToken));
  }
  if (claims.nonce !== undefined) payload['nonce'] = claims.nonce;
  const input = `${base64urlText(JSON.stringify(header))}.${base64urlText(JSON.stringify(payload))}`;
  const signature = await key.sign(new TextEncoder().encode(input));
  return `${input}.${base64url(signature)}`;
}

/**
 * An ECDSA signature in DER (what iOS `SecKeyCreateSignature` and Android `Signature` return)
 * as the fixed-width `r || s` that JWS wants (RFC 7518 §3.4); `size` is 32 for P-256.
 */
export function ecdsaDerToJose(der: Uint8Array, size = 32): Uint8Array {
  let offset = 0;
  const expect = (byte: number) => {
    if (der[offset++] !== byte) throw new TypeError('not a DER ECDSA signature');
  };
  const length = () => {
    let value = der[offset++] ?? 0;
    if (value & 0x80) {
      const bytes = value & 0x7f;
      value = 0;
      for (let i = 0; i < bytes; i++) value = (value << 8) | (der[offset++] ?? 0);
    }
    return value;
  };
  expect(0x30);
  length();
  const out = new Uint8Array(size * 2);
  for (const slot of [0, 1]) {
    expect(0x02);
    let n = length();
    let start = offset;
    offset += n;
    while (n > size && der[start] === 0) {
      start++;
      n--;
    }
    if (n > size) throw new TypeError('integer too long for the curve');
    out.set(der.subarray(start, start + n), slot * size + (size - n));
  }
  return out;
}
