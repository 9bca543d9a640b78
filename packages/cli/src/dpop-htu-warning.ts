import { isIP } from 'node:net';
import type { TesseraConfig } from './config.js';

/** True for an address only this machine can reach. */
function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * The warning `tessera serve` prints when DPoP's `htu` check (RFC 9449 §4.3 check 9) would rest
 * on the `Host` header: without `public_url` the server rebuilds its own URL from each request,
 * and `Host` is chosen by the caller, so a proof made for another server with the same path can
 * be replayed here with that server's name. Server nonces close the gap as well (a client never
 * sends Tessera's nonce to another origin), and a loopback-only listener has no strangers.
 * Null when there is nothing to warn about.
 *
 * @example
 * const warning = dpopHtuWarning(config);
 * if (warning) io.err(warning);
 */
export function dpopHtuWarning(
  config: Pick<TesseraConfig, 'host' | 'publicUrl' | 'dpop'>,
): string | null {
  if (config.publicUrl !== undefined || config.dpop.nonceSecret !== undefined) return null;
  if (isLoopback(config.host)) return null;
  return `tessera: warning: public_url is not set, so DPoP proofs are checked against the Host header of each request, which the caller chooses; set public_url (TESSERA_PUBLIC_URL) to the URL clients reach the service at, or turn on server nonces (dpop.nonce_secret)`;
}
