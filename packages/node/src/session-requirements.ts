import type { Refusal } from './refusal.js';
import type { SessionView } from './session-view.js';
import { type ChallengeScheme, challenge } from './www-authenticate.js';

/** What a route asks of the session beyond being live. */
export interface SessionRequirements {
  /**
   * The policy tiers a session must have been created with (one name or several). A session of
   * another tier is refused with 403 `insufficient_scope` (RFC 6750 §3.1): signing in again at
   * the right tier is the way out, not a step-up.
   */
  policy?: string | readonly string[];
  /**
   * Refuse when the last authentication is older than this, with the RFC 9470 §3 challenge
   * (`error="insufficient_user_authentication"`, `max_age`), so the client can step up.
   */
  maxAuthAgeSeconds?: number;
}

export function checkRequirementsOptions(requirements: SessionRequirements): void {
  const { maxAuthAgeSeconds } = requirements;
  if (
    maxAuthAgeSeconds !== undefined &&
    (!Number.isInteger(maxAuthAgeSeconds) || maxAuthAgeSeconds < 0)
  ) {
    throw new TypeError(
      `maxAuthAgeSeconds must be a whole number of seconds ≥ 0 (got ${JSON.stringify(maxAuthAgeSeconds)})`,
    );
  }
}

/** Null when the session meets the requirements, else the refusal to send. */
export function checkRequirements(
  session: SessionView,
  requirements: SessionRequirements,
  context: { now: number; scheme: ChallengeScheme; realm: string },
): Refusal | null {
  const { policy, maxAuthAgeSeconds } = requirements;
  const tiers = policy === undefined ? null : typeof policy === 'string' ? [policy] : policy;
  if (tiers !== null && !tiers.includes(session.policy)) {
    const description = `this route needs a session of policy ${tiers.join(' or ')}`;
    return {
      status: 403,
      error: 'insufficient_scope',
      description,
      headers: {
        'www-authenticate': challenge(context.scheme, {
          realm: context.realm,
          error: 'insufficient_scope',
          error_description: description,
        }),
      },
      setCookies: [],
    };
  }
  if (
    maxAuthAgeSeconds !== undefined &&
    context.now - session.authenticatedAt > maxAuthAgeSeconds * 1000
  ) {
    const description = `authentication must be at most ${maxAuthAgeSeconds} s old: step up`;
    return {
      status: 401,
      error: 'insufficient_user_authentication',
      description,
      headers: {
        'www-authenticate': challenge(context.scheme, {
          realm: context.realm,
          error: 'insufficient_user_authentication',
          error_description: description,
          max_age: maxAuthAgeSeconds,
        }),
      },
      setCookies: [],
    };
  }
  return null;
}
