import type { Policy, PolicyProfile } from './target.js';

/**
 * The 15/30/60-minute idle profiles of OWASP Mobile Top 10 2014 M9, with the NIST SP 800-63B-4
 * overall limits of AAL3/AAL2/AAL1 (12 h, 24 h, 30 days) as absolute lifetimes.
 */
export const POLICY_PROFILES: Record<
  PolicyProfile,
  { idleSeconds: number; absoluteSeconds: number }
> = {
  high: { idleSeconds: 15 * 60, absoluteSeconds: 12 * 3600 },
  medium: { idleSeconds: 30 * 60, absoluteSeconds: 24 * 3600 },
  low: { idleSeconds: 60 * 60, absoluteSeconds: 30 * 24 * 3600 },
};

export interface PolicyInput {
  profile?: PolicyProfile;
  idle_timeout_seconds?: number;
  absolute_timeout_seconds?: number;
  tolerance_seconds?: number;
  refresh_grace_seconds?: number;
  client?: 'public' | 'confidential';
  minimum_entropy_bits?: number;
}

/**
 * Resolves the declared policy. The default tolerance is 10 % of the idle limit, at least 1 s and
 * at most 60 s: wide enough for clock skew and scheduling, narrow enough that the probe at
 * `limit + tolerance` still says something about the limit.
 *
 * @example resolvePolicy('high').idleTimeoutSeconds // 900
 */
export function resolvePolicy(input: PolicyProfile | PolicyInput | undefined): Policy {
  const given: PolicyInput = typeof input === 'string' ? { profile: input } : (input ?? {});
  const explicit =
    given.idle_timeout_seconds !== undefined || given.absolute_timeout_seconds !== undefined;
  const base = POLICY_PROFILES[given.profile ?? 'medium'];
  const idleTimeoutSeconds = given.idle_timeout_seconds ?? base.idleSeconds;
  const absoluteTimeoutSeconds = given.absolute_timeout_seconds ?? base.absoluteSeconds;
  const toleranceSeconds =
    given.tolerance_seconds ?? Math.min(60, Math.max(1, idleTimeoutSeconds * 0.1));
  return {
    profile: explicit ? 'custom' : (given.profile ?? 'medium'),
    idleTimeoutSeconds,
    absoluteTimeoutSeconds,
    toleranceSeconds,
    refreshGraceSeconds: given.refresh_grace_seconds ?? 0,
    client: given.client ?? 'public',
    minimumEntropyBits: given.minimum_entropy_bits ?? 128,
  };
}
