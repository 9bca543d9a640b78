/**
 * What the bearer guard needs from a DPoP proof verifier: the subset of `@tessera/core`'s
 * `DpopVerifier` (`createDpopVerifier({ store })`) it calls, so any verifier of that shape fits.
 * It must run every check of RFC 9449 §4.3 (`typ`, asymmetric `alg`, public `jwk`, signature,
 * `htm`, `htu`, `iat` window, `ath`) and record `jti` in a replay cache shared by every node.
 * A rejection (throw) means "cannot tell": the guard answers 503.
 */
export interface DpopProofVerifier {
  readonly algorithms: readonly string[];
  verify(request: {
    proof: string | undefined;
    method: string;
    url: string;
    accessToken: string;
  }): Promise<DpopProofVerdict>;
}

export type DpopProofVerdict =
  | { ok: true /** RFC 7638 thumbprint of the proof's key. */; jkt: string }
  | {
      ok: false;
      /** `invalid_dpop_proof`, or `use_dpop_nonce` with the nonce to send in `DPoP-Nonce`. */
      error: 'invalid_dpop_proof' | 'use_dpop_nonce';
      description: string;
      nonce?: string;
    };
