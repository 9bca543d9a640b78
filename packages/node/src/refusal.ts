/**
 * A request the middleware does not let through, as adapters send it: the status, a JSON body
 * `{ error, error_description }` (RFC 6750 §3 error codes where they apply) and the headers.
 */
export interface Refusal {
  status: 400 | 401 | 403 | 503;
  /** Stable code: `invalid_request`, `invalid_token`, `insufficient_scope`,
   * `insufficient_user_authentication` (RFC 9470), `invalid_dpop_proof`, `use_dpop_nonce`,
   * `csrf_failed` or `temporarily_unavailable`. */
  error: string;
  description: string;
  headers: Record<string, string>;
  /** Set-Cookie values to send with the refusal (clearing a dead session's cookies). */
  setCookies: string[];
  /**
   * The service's `tessera_reason` (`access_token_expired`, `idle_timeout`, `logout`, …), told
   * only to the holder of a token that matched a session; absent for strangers.
   */
  tesseraReason?: string;
}

/** The JSON body of a refusal. */
export function refusalBody(refusal: Refusal): {
  error: string;
  error_description: string;
  tessera_reason?: string;
} {
  return {
    error: refusal.error,
    error_description: refusal.description,
    ...(refusal.tesseraReason === undefined ? {} : { tessera_reason: refusal.tesseraReason }),
  };
}

/** 503 for "cannot tell": the authority (store or service) did not answer. Never a pass. */
export function unavailable(setCookies: string[] = []): Refusal {
  return {
    status: 503,
    error: 'temporarily_unavailable',
    description: 'sessions cannot be checked right now; try again shortly',
    headers: { 'retry-after': '1', 'cache-control': 'no-store' },
    setCookies,
  };
}
