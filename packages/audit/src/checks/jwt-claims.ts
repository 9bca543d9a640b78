import { inspectClaims } from '../analysis/jwt.js';
import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';

/**
 * SH-JWT-02: each JWT the login issues has an `exp`, a lifetime no longer than the session may
 * live (the declared absolute limit, and never less than one hour so an ordinary short access token
 * is not flagged under a scaled-down test policy), and no personal data in its readable payload.
 */
export async function checkJwtClaims(ctx: AuditContext): Promise<CheckResult[]> {
  const jwts = ctx.profiles.filter((p) => p.jwt);
  if (jwts.length === 0)
    return [result('SH-JWT-02', 'SKIPPED', 'not applicable: no credential is a JWT')];
  const maxLifetimeSeconds = Math.max(ctx.target.policy.absoluteTimeoutSeconds, 3600);
  const evidence: string[] = [];
  const problems: string[] = [];
  // The worst problem sets the severity: no exp is high, a long life or sensitive personal data
  // medium, a mere name low.
  let severity: 'high' | 'medium' | 'low' = 'low';
  const raise = (to: 'high' | 'medium') => {
    if (severity !== 'high') severity = to;
  };
  for (const profile of jwts) {
    const jwt = profile.jwt!;
    const claims = inspectClaims(jwt, {
      nowSeconds: Math.floor(Date.now() / 1000),
      maxLifetimeSeconds,
    });
    evidence.push(
      `${profile.name}: alg ${String(jwt.header['alg'])}, claims ${Object.keys(jwt.payload).join(', ') || '(none)'}, lifetime ${claims.expSecondsFromIat === null ? 'unknown' : `${claims.expSecondsFromIat} s`}`,
    );
    if (claims.missingExp) {
      problems.push(`${profile.name} has no exp: it never expires on its own`);
      raise('high');
    } else if (claims.farFutureExp) {
      raise('medium');
      problems.push(
        `${profile.name} lives ${claims.expSecondsFromIat ?? '?'} s, longer than the session may (${maxLifetimeSeconds} s)`,
      );
    }
    if (claims.personalData.length > 0) {
      if (claims.personalData.some((d) => d.kind !== 'name' && d.kind !== 'other')) raise('medium');
      problems.push(
        `${profile.name} carries personal data in clear: ${claims.personalData.map((d) => `${d.claim} (${d.kind})`).join(', ')}`,
      );
    }
  }
  if (problems.length > 0)
    return [result('SH-JWT-02', 'FAIL', problems.join('; '), evidence, { severity })];
  return [
    result(
      'SH-JWT-02',
      'PASS',
      `every JWT has an exp within ${maxLifetimeSeconds} s and no personal data`,
      evidence,
    ),
  ];
}
