import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import { cookieLifetimeSeconds, parseSetCookie } from '../set-cookie.js';

/**
 * SH-TIME-01 (ASVS 7.1.1, 7.3.2): what the login answer declares (persistent cookie lifetime,
 * `expires_in` of a self-contained token, JWT `exp − iat`) must not exceed the absolute limit.
 * Declared values are not enforcement (NIST: cookie expiry "SHALL NOT be relied upon"), so this
 * check only WARNs; SH-TIME-02/03 measure what the server does. `expires_in` of a reference token
 * is not judged: the server checks the session on every use anyway.
 */
export async function checkDeclaredLifetimes(ctx: AuditContext): Promise<CheckResult[]> {
  const fresh = await ctx.freshSession('SH-TIME-01');
  if (!fresh.ok) return [result('SH-TIME-01', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const limit = ctx.target.policy.absoluteTimeoutSeconds;
  const declared: string[] = [];
  const over: string[] = [];
  const cookieNames = ctx.target.credentials.filter((r) => r.from === 'cookie').map((r) => r.key);
  for (const header of session.loginAnswer.chain.flatMap((h) => h.setCookies)) {
    const c = parseSetCookie(header);
    const life = cookieLifetimeSeconds(c);
    if (!cookieNames.includes(c.name) || life === null) continue;
    declared.push(`cookie ${c.name} persists ${life} s`);
    if (life > limit) over.push(`cookie ${c.name} persists ${life} s`);
  }
  let body: unknown;
  try {
    body = JSON.parse(session.loginAnswer.body);
  } catch {
    body = undefined;
  }
  const expiresIn = (body as { expires_in?: unknown } | undefined)?.expires_in;
  const selfContained = ctx.profiles.some((p) => p.presented && p.shape === 'jwt');
  if (typeof expiresIn === 'number') {
    declared.push(`expires_in ${expiresIn} s`);
    if (selfContained && expiresIn > limit)
      over.push(`expires_in of a self-contained token is ${expiresIn} s`);
  }
  for (const p of ctx.profiles.filter((x) => x.jwt)) {
    const { exp, iat } = p.jwt!.payload as { exp?: unknown; iat?: unknown };
    if (typeof exp === 'number' && typeof iat === 'number') {
      declared.push(`${p.name} exp − iat = ${exp - iat} s`);
      if (exp - iat > limit) over.push(`${p.name} is valid for ${exp - iat} s`);
    }
  }
  const evidence = [
    `absolute limit ${limit} s, idle limit ${ctx.target.policy.idleTimeoutSeconds} s (declared policy)`,
    ...declared,
  ];
  if (declared.length === 0)
    return [
      result(
        'SH-TIME-01',
        'SKIPPED',
        'nothing declared (session cookie, no expires_in, no JWT): see SH-TIME-02/03 for measured behaviour',
        evidence,
      ),
    ];
  if (over.length > 0)
    return [
      result(
        'SH-TIME-01',
        'WARN',
        `declared beyond the absolute limit of ${limit} s: ${over.join('; ')}`,
        evidence,
        { severity: 'low' },
      ),
    ];
  return [
    result(
      'SH-TIME-01',
      'PASS',
      `every declared lifetime is within the absolute limit of ${limit} s`,
      evidence,
    ),
  ];
}
