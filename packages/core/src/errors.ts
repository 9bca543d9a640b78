/**
 * Codes are API: the server maps each to an HTTP status in one table, the CLI to an exit code.
 * Messages may change between releases; codes may not.
 */
export type TesseraErrorCode =
  | 'invalid_config'
  | 'invalid_argument'
  | 'unknown_policy'
  | 'store_unavailable'
  | 'store_conflict';

/**
 * The one error class of Tessera. Expected outcomes (an expired session, a reused refresh
 * token) are return values, not errors: this is for bugs, bad configuration and infrastructure.
 *
 * @example
 * throw new TesseraError('invalid_config', 'policies.high.idle_timeout_seconds must be > 0');
 */
export class TesseraError extends Error {
  override readonly name = 'TesseraError';
  readonly code: TesseraErrorCode;

  constructor(code: TesseraErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isTesseraError(value: unknown, code?: TesseraErrorCode): value is TesseraError {
  return value instanceof TesseraError && (code === undefined || value.code === code);
}
