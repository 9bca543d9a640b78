import type { SessionView } from './session-view.js';

/** The pair a sign-in, refresh or step-up hands out, with the session it belongs to. */
export interface IssuedPair {
  session: SessionView;
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
}

/**
 * Why an access token was not accepted. `expired` means the session may still be refreshed;
 * `inactive` covers unknown, ended, idle- or absolutely-expired sessions and garbage, which a
 * remote authority cannot tell apart (RFC 7662 answers only `active: false`). `key_mismatch`:
 * the session is bound to a DPoP key and the request did not prove possession of it.
 * `bad_proof`: the service refused the DPoP proof forwarded to it (`proof` says why).
 */
export type AuthorityRefusal = 'expired' | 'inactive' | 'key_mismatch' | 'bad_proof';

export type AuthorityVerdict =
  | { ok: true; session: SessionView }
  | {
      ok: false;
      reason: AuthorityRefusal;
      /**
       * Why, for the token's holder (the service's `tessera_reason`: `access_token_expired`,
       * `idle_timeout`, `logout`, …), when the token matched a session; absent otherwise.
       */
      tesseraReason?: string;
      /** With `bad_proof`: the RFC 9449 error, and the nonce to send with `use_dpop_nonce`. */
      proof?: {
        error: 'invalid_dpop_proof' | 'use_dpop_nonce';
        description: string;
        nonce?: string;
      };
    };

/** A DPoP proof as received, forwarded for the service to check (RFC 9449 §4.3). */
export interface ForwardedProof {
  proof: string;
  method: string;
  url: string;
}

export interface SignInInput {
  userId: string;
  policy?: string;
  authMethods?: string[];
  device?: { id?: string; name?: string; platform?: string; appVersion?: string };
  /** The end user's address and user agent as the backend saw them. */
  ip?: string;
  userAgent?: string;
  /**
   * RFC 9449 §10: bind the session to this JWK SHA-256 thumbprint (the phone's DPoP key, from
   * the proof the app sent at sign-in). Every use of its tokens then needs a proof by that key.
   */
  dpopJkt?: string;
  /**
   * Or bind it to the key of this DPoP proof, which the phone sent with its sign-in request and
   * the service checks (remote authority only).
   */
  dpopProof?: ForwardedProof;
}

/**
 * Where sessions live, seen from a backend: an in-process engine over the service's store
 * (`inProcessAuthority`) or the service itself over HTTP (`remoteAuthority`). Every method
 * either answers from the source of truth or throws; a throw means "cannot tell", which the
 * middleware turns into 503, never into an accepted request (fail closed).
 */
export interface SessionAuthority {
  /**
   * Validates an access token. `fresh` skips any cache (strict mode). `dpopJkt` is the
   * thumbprint of the key whose proof the caller verified for this request (an in-process
   * engine refuses a bound session without it; a remote authority reports the binding in
   * `session.jkt` and the guard compares). Counts as activity.
   */
  validate(
    accessToken: string,
    options?: { fresh?: boolean; dpopJkt?: string; dpopProof?: ForwardedProof },
  ): Promise<AuthorityVerdict>;
  /**
   * True when `validate` can check a forwarded DPoP proof itself (`dpopProof`: the service's
   * introspection does, with its replay cache). A guard without a local verifier uses it.
   */
  readonly checksDpopProofs?: boolean;
  /** Rotates a refresh token (RFC 6749 §6); null when it is refused for any reason. */
  refresh(refreshToken: string): Promise<IssuedPair | null>;
  /** Creates a session for a user the application has just authenticated. */
  create(input: SignInInput): Promise<IssuedPair>;
  /** Records a fresh authentication and issues a new pair; null when the session is gone. */
  stepUp(sessionId: string, authMethods: string[]): Promise<IssuedPair | null>;
  /** Ends the session the token belongs to (RFC 7009). Unknown tokens are not an error. */
  revoke(token: string): Promise<void>;
  /** Ends every live session of a user, except one when given; answers how many ended. */
  endUserSessions(
    userId: string,
    reason: 'password_changed' | 'logout_all' | 'privilege_changed' | 'account_disabled',
    options?: { exceptSessionId?: string },
  ): Promise<number>;
}

/**
 * Thrown when the authority cannot answer (store down, service unreachable, unexpected answer).
 * Middleware answers 503 for it; it never means "authenticated".
 */
export class AuthorityUnavailableError extends Error {
  override readonly name = 'AuthorityUnavailableError';
}
