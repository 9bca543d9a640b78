import { sha256Js } from './sha256.js';

/** base64url without padding (RFC 4648 §5), as JOSE uses it. */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function base64urlText(text: string): string {
  return base64url(new TextEncoder().encode(text));
}

/** Standard base64 of bytes, and back: how encrypted values are kept as text. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** SHA-256 of the UTF-8 text: WebCrypto where there is one, plain JavaScript otherwise. */
export async function sha256(text: string): Promise<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const subtle = (globalThis as { crypto?: { subtle?: typeof crypto.subtle } }).crypto?.subtle;
  if (subtle === undefined) return sha256Js(bytes);
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}
