/**
 * Stable codes of {@link TesseraClientError}; apps switch on these, never on messages.
 *
 * - `not_signed_in`: no session is held (never signed in, or signed out).
 * - `session_ended`: the service ended the session; `reason` says why. Local state is gone and
 *   the sign-out listeners were told.
 * - `step_up_required`: the route needs a more recent sign-in (RFC 9470); `maxAgeSeconds` is the
 *   age the server asked for. Ask the user to re-authenticate, then retry.
 * - `network`: the request did not get an answer (offline, DNS, TLS, aborted).
 * - `unavailable`: the service answered 429 or 5xx; try again later. The session is kept.
 * - `dpop_proof_refused`: a DPoP proof was refused (`invalid_dpop_proof`), e.g. the key is not
 *   the one the session is bound to, or the device clock is far off. The session is kept.
 * - `dpop_unavailable`: DPoP is needed (a DPoP-bound session, `jkt()`) but no key is configured.
 * - `not_found`: `endSession(id)` named no live session of this user.
 * - `origin_not_allowed`: `fetch` was asked to send the token to an origin not in
 *   `resourceOrigins` (the token would leak to a third party).
 * - `storage_unavailable`: the secure storage failed (a Keychain item that is readable only while
 *   the device is unlocked, read while it is locked). Try again later: a rotation it interrupted
 *   is finished then, with the same pair inside the grace window.
 * - `invalid_config`: `createTesseraClient` options are wrong (a URL that is not absolute, or plain
 *   http to a host that is not loopback without `allowInsecureHttp`).
 * - `invalid_response`: the service answered something this client does not understand.
 */
export type TesseraClientErrorCode =
  | 'not_signed_in'
  | 'session_ended'
  | 'step_up_required'
  | 'network'
  | 'unavailable'
  | 'dpop_proof_refused'
  | 'dpop_unavailable'
  | 'not_found'
  | 'origin_not_allowed'
  | 'storage_unavailable'
  | 'invalid_config'
  | 'invalid_response';

export interface TesseraClientErrorOptions {
  cause?: unknown;
  reason?: string;
  maxAgeSeconds?: number;
  status?: number;
}

/** Every failure the client reports; `cause` carries the underlying error or refusal body. */
export class TesseraClientError extends Error {
  readonly code: TesseraClientErrorCode;
  /** For `session_ended`: the sign-out reason (`tessera_reason`, or `revoked`). */
  readonly reason: string | undefined;
  /** For `step_up_required`: the `max_age` of the RFC 9470 challenge, when it carried one. */
  readonly maxAgeSeconds: number | undefined;
  /** The HTTP status of the answer behind the error, when there was one. */
  readonly status: number | undefined;

  constructor(
    code: TesseraClientErrorCode,
    message: string,
    options: TesseraClientErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'TesseraClientError';
    this.code = code;
    this.reason = options.reason;
    this.maxAgeSeconds = options.maxAgeSeconds;
    this.status = options.status;
  }
}
