import {
  type EndReason,
  type IssuedSession,
  isTesseraError,
  type SessionRecord,
  type Tessera,
  type ValidateFailure,
} from '@tessera/core';
import { AuthorityUnavailableError, type IssuedPair, type SessionAuthority } from './authority.js';
import type { SessionView } from './session-view.js';

/** A session record as middleware sees it. */
export function viewOf(session: SessionRecord): SessionView {
  // `dpopJkt` is absent on unbound sessions (and on stores from before DPoP binding).
  const bound = (session as SessionRecord & { dpopJkt?: string | null }).dpopJkt;
  return {
    sessionId: session.id,
    userId: session.userId,
    policy: session.policy,
    authenticatedAt: session.authenticatedAt,
    expiresAt: Math.min(session.accessExpiresAt, session.idleExpiresAt),
    jkt: typeof bound === 'string' ? bound : null,
  };
}

/**
 * The service's `tessera_reason` rule (packages/server refusal-reason.ts): told only when the
 * token matched a session, so a stranger sending garbage or an unknown token learns nothing.
 */
function holderReason(reason: ValidateFailure, endReason: EndReason | null): string | undefined {
  switch (reason) {
    case 'access_token_expired':
    case 'idle_timeout':
    case 'absolute_timeout':
      return reason;
    case 'ended':
      return endReason ?? undefined;
    default:
      return undefined;
  }
}

function pairOf(issued: IssuedSession): IssuedPair {
  return {
    session: viewOf(issued.session),
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
    expiresIn: issued.expiresIn,
  };
}

/**
 * Store failures surface as "cannot tell", so that no adapter mistakes them for a refusal.
 * Anything else (an unknown policy, a bug) is rethrown as it is.
 */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isTesseraError(error, 'store_unavailable') || isTesseraError(error, 'store_conflict')) {
      throw new AuthorityUnavailableError('the session store did not answer', { cause: error });
    }
    throw error;
  }
}

/**
 * Sessions validated by an engine in this process, over the same store as the Tessera service
 * (`createTessera({ store })`). No network hop; revocations are seen as soon as the store sees
 * them (or within the engine's own cache rules, see `TesseraOptions.cache`).
 *
 * @example
 * const authority = inProcessAuthority(createTessera({ store: createSqliteStore({ path }) }));
 */
export function inProcessAuthority(tessera: Tessera): SessionAuthority {
  return {
    validate: (accessToken, options = {}) =>
      guarded(async () => {
        const result = await tessera.validate(accessToken, {
          fresh: options.fresh === true,
          ...(options.dpopJkt === undefined ? {} : { dpopJkt: options.dpopJkt }),
        });
        if (result.ok) return { ok: true, session: viewOf(result.session) };
        if (result.reason === 'dpop_binding_mismatch') return { ok: false, reason: 'key_mismatch' };
        const why = holderReason(result.reason, result.session?.endReason ?? null);
        return {
          ok: false,
          reason: result.reason === 'access_token_expired' ? 'expired' : 'inactive',
          ...(why === undefined ? {} : { tesseraReason: why }),
        };
      }),
    refresh: (refreshToken) =>
      guarded(async () => {
        const result = await tessera.refresh(refreshToken);
        return result.ok ? pairOf(result) : null;
      }),
    create: (input) => {
      if (input.dpopProof !== undefined) {
        // The engine takes a thumbprint; checking a proof needs a verifier, which the service has.
        return Promise.reject(
          new TypeError(
            'inProcessAuthority: pass dpopJkt (from a proof you verified), not dpopProof',
          ),
        );
      }
      return guarded(async () =>
        pairOf(
          await tessera.create({
            userId: input.userId,
            ...(input.policy === undefined ? {} : { policy: input.policy }),
            ...(input.authMethods === undefined ? {} : { authMethods: input.authMethods }),
            ...(input.dpopJkt === undefined ? {} : { dpopJkt: input.dpopJkt }),
            device: {
              ...input.device,
              ...(input.ip === undefined ? {} : { ip: input.ip }),
              ...(input.userAgent === undefined ? {} : { userAgent: input.userAgent }),
            },
          }),
        ),
      );
    },
    stepUp: (sessionId, authMethods) =>
      guarded(async () => {
        const result = await tessera.stepUp(sessionId, { authMethods });
        return result.ok ? pairOf(result) : null;
      }),
    revoke: (token) =>
      guarded(async () => {
        await tessera.revoke(token);
      }),
    endUserSessions: (userId, reason, options = {}) =>
      guarded(async () => (await tessera.endAllForUser(userId, reason, options)).length),
  };
}
