/**
 * What a protected route learns about the caller's session, the same whether it was validated
 * by an in-process engine or through the service's introspection. Never carries a token.
 * Instants are epoch milliseconds.
 */
export interface SessionView {
  sessionId: string;
  userId: string;
  /** The policy tier the session was created with (`high`, `medium`, `low` or a custom one). */
  policy: string;
  /** Last time the user proved who they are (sign-in or step-up): RFC 9470 `auth_time`. */
  authenticatedAt: number;
  /** The access token stops working at this instant (or earlier, if the session ends). */
  expiresAt: number;
  /**
   * RFC 9449 §6 / RFC 7800: the JWK SHA-256 thumbprint the session is bound to, or null for a
   * bearer session. A bound session's access token is only accepted with a matching DPoP proof.
   */
  jkt: string | null;
}
