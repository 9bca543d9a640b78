/*
 * WebCrypto types, derived from the global `crypto` so that the package compiles with or without
 * the DOM library (browsers, React Native with a WebCrypto polyfill, Node 20).
 */

/** A WebCrypto CryptoKey. */
export type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** A WebCrypto key pair. */
export interface WebCryptoKeyPair {
  publicKey: WebCryptoKey;
  privateKey: WebCryptoKey;
}

/** A JSON Web Key (RFC 7517), public members as this package uses them. */
export interface Jwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  [member: string]: unknown;
}
