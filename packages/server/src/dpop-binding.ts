import type { DpopVerifier } from '@tessera/core';

/** The DPoP members of a create request (`POST /v1/sessions`). */
export interface DpopBindingInput {
  dpop_jkt?: string | undefined;
  dpop_proof?: string | undefined;
  dpop_htm?: string | undefined;
  dpop_htu?: string | undefined;
}

export type DpopBinding =
  | { ok: true; jkt: string | undefined }
  | {
      ok: false;
      error: 'invalid_request' | 'invalid_dpop_proof' | 'use_dpop_nonce';
      description: string;
      nonce?: string | undefined;
    };

/**
 * The key a new session is bound to (RFC 9449), from what the backend sent: a thumbprint it
 * computed itself (`dpop_jkt`), or the proof the app sent to the backend's own sign-in request,
 * forwarded with that request's method and URL (`dpop_proof`, `dpop_htm`, `dpop_htu`). A
 * forwarded proof is checked in full (signature, typ, alg, public jwk, htm, htu, iat, jti
 * replay), so the session is bound only to a key the app showed it holds. Both may be sent:
 * they must then name the same key.
 */
export async function dpopBindingOf(
  input: DpopBindingInput,
  verifier: DpopVerifier,
): Promise<DpopBinding> {
  const { dpop_jkt, dpop_proof, dpop_htm, dpop_htu } = input;
  if (dpop_proof === undefined) {
    if (dpop_htm !== undefined || dpop_htu !== undefined) {
      return {
        ok: false,
        error: 'invalid_request',
        description: 'body/dpop_htm and body/dpop_htu go with body/dpop_proof',
      };
    }
    return { ok: true, jkt: dpop_jkt };
  }
  if (dpop_htm === undefined || dpop_htu === undefined) {
    return {
      ok: false,
      error: 'invalid_request',
      description: 'body/dpop_proof needs body/dpop_htm and body/dpop_htu',
    };
  }
  const proof = await verifier.verify({ proof: dpop_proof, method: dpop_htm, url: dpop_htu });
  if (!proof.ok) return proof;
  if (dpop_jkt !== undefined && dpop_jkt !== proof.jkt) {
    return {
      ok: false,
      error: 'invalid_request',
      description: 'body/dpop_jkt is not the thumbprint of the key of body/dpop_proof',
    };
  }
  return { ok: true, jkt: proof.jkt };
}
