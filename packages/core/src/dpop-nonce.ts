import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from './clock.js';
import { TesseraError } from './errors.js';

export interface DpopNonceOptions {
  /**
   * The key of the nonces' MAC, at least 32 bytes. Every node that must accept the nonces of the
   * others holds the same secret; nothing is stored.
   */
  secret: Uint8Array | string;
  /** How long one nonce is handed out; a nonce is accepted for two such slots. @default 300 */
  slotSeconds?: number;
  /** @default systemClock */
  clock?: Clock;
}

/** Server-provided DPoP nonces (RFC 9449 §8, §9). */
export interface DpopNonces {
  /** The nonce to hand out now (the same for a whole slot, so it can be cached by clients). */
  current(): string;
  /** True for a nonce of the current or the previous slot made with this secret. */
  accepts(nonce: unknown): boolean;
}

/**
 * Stateless DPoP nonces: `<slot>.<HMAC-SHA256(secret, slot)>`, base64url. Unpredictable without
 * the secret (RFC 9449 §9: nonces MUST be unpredictable), and checkable by any node holding it,
 * so a nonce issued by one node works on every other without shared state. A nonce bounds how
 * far in advance a proof can be made (§11.2) to two slots, whatever the client's clock says.
 *
 * @example
 * const nonces = createDpopNonces({ secret: process.env.DPOP_NONCE_SECRET! });
 * reply.header('dpop-nonce', nonces.current());
 */
export function createDpopNonces(options: DpopNonceOptions): DpopNonces {
  const { secret, slotSeconds = 300, clock = systemClock } = options;
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (key.length < 32) {
    throw new TesseraError('invalid_config', 'the DPoP nonce secret must be at least 32 bytes');
  }
  if (!Number.isInteger(slotSeconds) || slotSeconds < 10 || slotSeconds > 3600) {
    throw new TesseraError(
      'invalid_config',
      `dpop nonce slot_seconds must be a whole number from 10 to 3600 (got ${slotSeconds})`,
    );
  }
  const slotOf = () => Math.floor(clock.now() / (slotSeconds * 1000));
  const mac = (slot: number) =>
    createHmac('sha256', key).update(`tessera-dpop-nonce:${slot}`).digest().subarray(0, 18);
  const make = (slot: number) => `${slot.toString(36)}.${mac(slot).toString('base64url')}`;

  return {
    current: () => make(slotOf()),
    accepts(nonce) {
      if (typeof nonce !== 'string' || nonce.length > 64) return false;
      const [slotText, macText, extra] = nonce.split('.');
      if (slotText === undefined || macText === undefined || extra !== undefined) return false;
      // Exact shapes: base64url decoding ignores trailing bits, so a loose check would accept
      // more than one spelling of a nonce.
      if (!/^[0-9a-z]{1,12}$/.test(slotText) || !/^[\w-]{24}$/.test(macText)) return false;
      const slot = Number.parseInt(slotText, 36);
      const now = slotOf();
      if (slot !== now && slot !== now - 1) return false;
      const given = Buffer.from(macText, 'base64url');
      const expected = mac(slot);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
