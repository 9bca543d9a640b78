import { END_REASONS, type EndReason } from '@tessera/core';

/**
 * Why the holder of a credential was refused, as the `tessera_reason` member of a refusal body.
 * `access_token_expired`: the session is alive, refresh. Every other value: the session is over,
 * sign in again (the value says why, so the app can tell the user).
 */
export type TesseraReason = 'access_token_expired' | EndReason;

export const TESSERA_REASONS: readonly TesseraReason[] = ['access_token_expired', ...END_REASONS];

/**
 * The `tessera_reason` for an engine refusal (`reason`, plus the session's `endReason` when it
 * ended), or undefined when the presented credential matched no session (`malformed`,
 * `unknown`). The reason is told only when the credential *is* that session's current or former
 * token: a 256-bit secret the caller holds proves it is the session's holder, so a stranger
 * (who can only send malformed or unknown tokens, including access tokens rotated away) learns
 * nothing, and gets one body for every cause.
 */
export function tesseraReason(
  reason: string,
  endReason: EndReason | null | undefined,
): TesseraReason | undefined {
  switch (reason) {
    case 'access_token_expired':
    case 'idle_timeout':
    case 'absolute_timeout':
    case 'refresh_token_reuse':
      return reason;
    case 'ended':
      return endReason ?? undefined;
    default:
      return undefined;
  }
}
