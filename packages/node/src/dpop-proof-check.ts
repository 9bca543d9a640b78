/** What a DPoP proof must be checked against on one resource request (RFC 9449 §4.3, §7.1). */
export interface DpopProofCheck {
  /** The `DPoP` request header, if any. */
  proof: string | undefined;
  /** The request method, for `htm`. */
  method: string;
  /** The request URL without query and fragment, for `htu`. */
  url: string;
  /** The access token presented, for `ath`. */
  accessToken: string;
  /** The thumbprint the session is bound to: the proof's key must have it. */
  jkt: string;
}

export type DpopProofVerdict =
  | { ok: true }
  | {
      ok: false;
      /** `invalid_dpop_proof`, or `use_dpop_nonce` with the nonce to send in `DPoP-Nonce`. */
      error: 'invalid_dpop_proof' | 'use_dpop_nonce';
      description: string;
      nonce?: string;
    };

/**
 * Checks the proof of a request that carries a DPoP-bound access token. It must check `typ`,
 * `alg` (asymmetric only), the public `jwk`, `htm`, `htu`, `iat`, `ath`, the thumbprint, and that
 * `jti` was never seen (a replay cache shared by every node). Throwing means "cannot tell" (503).
 */
export type DpopProofVerifier = (check: DpopProofCheck) => Promise<DpopProofVerdict>;
