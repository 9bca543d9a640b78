import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import {
  cookieLifetimeSeconds,
  isExpiringCookie,
  parseSetCookie,
  type SetCookie,
} from '../set-cookie.js';

/**
 * SH-COOK-01 (ASVS 3.3.1–3.3.4, WSTG-SESS-02, NIST SP 800-63B-4 §5.1.1), on every Set-Cookie that
 * sets a session credential cookie. FAIL: no HttpOnly; no Secure on https (or with
 * `assume_https`); SameSite=None without Secure; a `__Host-` cookie with Domain, a Path other
 * than "/" or no Secure; no SameSite (severity low). WARN: no Secure on plain http (the run cannot know how
 * production is served); no `__Host-`/`__Secure-` prefix on https; a Domain; a persistent
 * lifetime beyond the absolute limit.
 */
export async function checkCookieAttributes(ctx: AuditContext): Promise<CheckResult[]> {
  const cookieNames = ctx.target.credentials.filter((r) => r.from === 'cookie').map((r) => r.key);
  if (cookieNames.length === 0)
    return [result('SH-COOK-01', 'SKIPPED', 'not applicable: no credential is a cookie')];
  const fresh = await ctx.freshSession('SH-COOK-01');
  if (!fresh.ok) return [result('SH-COOK-01', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const headers = [
    ...(session.preLoginAnswer?.chain.flatMap((h) => h.setCookies) ?? []),
    ...session.loginAnswer.chain.flatMap((h) => h.setCookies),
  ];
  const cookies: SetCookie[] = headers
    .map(parseSetCookie)
    .filter((c) => cookieNames.includes(c.name) && !isExpiringCookie(c));
  if (cookies.length === 0)
    return [
      result(
        'SH-COOK-01',
        'INCONCLUSIVE',
        `no Set-Cookie for ${cookieNames.join(', ')} was seen at login`,
      ),
    ];
  const https = ctx.target.https;
  const fails: string[] = [];
  const lowFails: string[] = [];
  const warns: string[] = [];
  const evidence: string[] = [];
  for (const c of [...new Map(cookies.map((c) => [c.name, c])).values()]) {
    const attrs = [
      c.httpOnly ? 'HttpOnly' : null,
      c.secure ? 'Secure' : null,
      c.sameSite ? `SameSite=${c.sameSite}` : null,
      c.domain ? `Domain=${c.domain}` : null,
      c.path ? `Path=${c.path}` : null,
      cookieLifetimeSeconds(c) !== null
        ? `lifetime ${cookieLifetimeSeconds(c)} s`
        : 'session cookie',
    ].filter((a) => a !== null);
    evidence.push(`${c.name}: ${attrs.join('; ')}`);
    if (!c.httpOnly) fails.push(`${c.name} lacks HttpOnly (scripts can read the session id)`);
    if (!c.secure) {
      if (https) fails.push(`${c.name} lacks Secure (it would travel over plain http)`);
      else
        warns.push(
          `${c.name} lacks Secure (this run is over http; set assume_https if production is https)`,
        );
    }
    const sameSite = c.sameSite?.toLowerCase();
    if (sameSite === undefined) lowFails.push(`${c.name} has no SameSite attribute`);
    else if (sameSite === 'none' && !c.secure)
      fails.push(`${c.name} has SameSite=None without Secure`);
    else if (sameSite === 'none')
      warns.push(`${c.name} has SameSite=None (sent on cross-site requests)`);
    if (c.name.startsWith('__Host-') && (c.domain || (c.path ?? '/') !== '/' || !c.secure))
      fails.push(`${c.name} breaks the __Host- rules (Secure, Path=/, no Domain)`);
    if (https && !c.name.startsWith('__Host-') && !c.name.startsWith('__Secure-'))
      warns.push(`${c.name} has no __Host- prefix`);
    if (c.domain) warns.push(`${c.name} is scoped to Domain=${c.domain} (sent to every subdomain)`);
    const lifetime = cookieLifetimeSeconds(c);
    if (lifetime !== null && lifetime > ctx.target.policy.absoluteTimeoutSeconds)
      warns.push(
        `${c.name} persists ${lifetime} s, beyond the absolute limit (${ctx.target.policy.absoluteTimeoutSeconds} s)`,
      );
  }
  if (fails.length > 0)
    return [result('SH-COOK-01', 'FAIL', [...fails, ...lowFails, ...warns].join('; '), evidence)];
  // No SameSite alone is a low-severity failure: Chromium defaults to Lax, other browsers do not.
  if (lowFails.length > 0)
    return [
      result('SH-COOK-01', 'FAIL', [...lowFails, ...warns].join('; '), evidence, {
        severity: 'low',
      }),
    ];
  if (warns.length > 0)
    return [result('SH-COOK-01', 'WARN', warns.join('; '), evidence, { severity: 'low' })];
  return [
    result(
      'SH-COOK-01',
      'PASS',
      'session cookies are HttpOnly, SameSite, Secure where it applies, narrowly scoped',
      evidence,
    ),
  ];
}
