import { TesseraError } from './errors.js';

/** Timeouts of one policy tier. All in seconds. */
export interface PolicyTier {
  /** Ends the session after this long without activity (ASVS 5.0 7.3.1). */
  idleTimeoutSeconds: number;
  /** Ends the session this long after creation, whatever the activity (ASVS 5.0 7.3.2). */
  absoluteTimeoutSeconds: number;
  /** Lifetime of one access token; never longer than the idle timeout. */
  accessTokenTtlSeconds: number;
}

/**
 * The built-in tiers (DESIGN.md §3). Idle timeouts follow the OWASP guidance for high (15 min),
 * medium (30 min) and low (60 min) risk applications; NIST SP 800-63B-4 AAL2 allows at most
 * 1 h idle and 24 h absolute.
 */
export const BUILT_IN_POLICIES: Readonly<Record<'high' | 'medium' | 'low', PolicyTier>> = {
  high: {
    idleTimeoutSeconds: 15 * 60,
    absoluteTimeoutSeconds: 12 * 3600,
    accessTokenTtlSeconds: 300,
  },
  medium: {
    idleTimeoutSeconds: 30 * 60,
    absoluteTimeoutSeconds: 24 * 3600,
    accessTokenTtlSeconds: 300,
  },
  low: {
    idleTimeoutSeconds: 60 * 60,
    absoluteTimeoutSeconds: 30 * 24 * 3600,
    accessTokenTtlSeconds: 600,
  },
};

const FIELDS = [
  ['idleTimeoutSeconds', 'idle_timeout_seconds'],
  ['absoluteTimeoutSeconds', 'absolute_timeout_seconds'],
  ['accessTokenTtlSeconds', 'access_token_ttl_seconds'],
] as const;

const POLICY_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * Merges custom tiers over the built-in ones and refuses any tier that would make a session
 * outlive its guarantees. Messages name the configuration field (snake_case, as users write it).
 *
 * @example
 * const policies = resolvePolicies({ kiosk: { idleTimeoutSeconds: 120, absoluteTimeoutSeconds: 3600, accessTokenTtlSeconds: 60 } });
 */
export function resolvePolicies(
  custom: Record<string, Partial<PolicyTier>> = {},
): Map<string, PolicyTier> {
  const policies = new Map<string, PolicyTier>(Object.entries(BUILT_IN_POLICIES));
  for (const [name, tier] of Object.entries(custom)) {
    if (!POLICY_NAME.test(name)) {
      throw new TesseraError(
        'invalid_config',
        `policies.${name}: a policy name is 1–32 characters of a-z, 0-9, _ or -, starting with a letter`,
      );
    }
    for (const [field, configName] of FIELDS) {
      const value = tier[field];
      if (value === undefined || value === null) {
        throw new TesseraError(
          'invalid_config',
          `policies.${name}.${configName} is missing: every policy needs an idle timeout, an absolute timeout and an access token lifetime`,
        );
      }
      if (!Number.isInteger(value) || value <= 0) {
        throw new TesseraError(
          'invalid_config',
          `policies.${name}.${configName} must be a whole number of seconds greater than 0 (got ${JSON.stringify(value)})`,
        );
      }
    }
    const checked = tier as PolicyTier;
    if (checked.idleTimeoutSeconds >= checked.absoluteTimeoutSeconds) {
      throw new TesseraError(
        'invalid_config',
        `policies.${name}.idle_timeout_seconds (${checked.idleTimeoutSeconds}) must be less than absolute_timeout_seconds (${checked.absoluteTimeoutSeconds})`,
      );
    }
    if (checked.accessTokenTtlSeconds > checked.idleTimeoutSeconds) {
      throw new TesseraError(
        'invalid_config',
        `policies.${name}.access_token_ttl_seconds (${checked.accessTokenTtlSeconds}) must not be longer than idle_timeout_seconds (${checked.idleTimeoutSeconds})`,
      );
    }
    policies.set(name, {
      idleTimeoutSeconds: checked.idleTimeoutSeconds,
      absoluteTimeoutSeconds: checked.absoluteTimeoutSeconds,
      accessTokenTtlSeconds: checked.accessTokenTtlSeconds,
    });
  }
  return policies;
}
