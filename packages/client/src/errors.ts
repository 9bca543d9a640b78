/** Stable codes of {@link TesseraClientError}; apps switch on these, never on messages. */
export type TesseraClientErrorCode =
  | 'not_signed_in'
  | 'session_ended'
  | 'network'
  | 'step_up_required'
  | 'invalid_response';

/** Every failure the client reports; `cause` carries the underlying error or refusal body. */
export class TesseraClientError extends Error {
  readonly code: TesseraClientErrorCode;
  /** For `session_ended`: the sign-out reason (`tessera_reason`, or `revoked`). */
  readonly reason: string | undefined;

  constructor(
    code: TesseraClientErrorCode,
    message: string,
    options: { cause?: unknown; reason?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'TesseraClientError';
    this.code = code;
    this.reason = options.reason;
  }
}
