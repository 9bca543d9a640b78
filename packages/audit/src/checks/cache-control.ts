import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import type { HttpAnswer } from '../http-client.js';

function directives(answer: HttpAnswer): Set<string> {
  return new Set(
    (answer.headers['cache-control'] ?? '')
      .toLowerCase()
      .split(',')
      .map((d) => d.trim().split('=')[0] ?? '')
      .filter((d) => d !== ''),
  );
}

/**
 * SH-TRN-03 (ASVS 14.3.2, RFC 6749 §5.1): an answer that carries a credential in its body or a
 * header must say `Cache-Control: no-store`. One that carries it only in `Set-Cookie` fails when it
 * is cacheable (a GET, or explicit public / max-age), and fails with a low severity when it is a
 * POST without no-store: POST answers are not stored by caches unless told to, but the
 * requirement is no-store on every answer that carries a credential.
 */
export async function checkCacheControl(ctx: AuditContext): Promise<CheckResult[]> {
  const fresh = await ctx.freshSession('SH-TRN-03');
  if (!fresh.ok) return [result('SH-TRN-03', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const answers: [string, string, HttpAnswer][] = [
    ['login', ctx.target.login.method, session.loginAnswer],
  ];
  if (ctx.target.refresh && ctx.agent.refreshRules.some((r) => session.values.has(r.name))) {
    const refreshed = await ctx.agent.refresh(session);
    if (refreshed.outcome === 'ok')
      answers.push(['refresh', ctx.target.refresh.method, refreshed.answer]);
  }
  const evidence: string[] = [];
  const fails: string[] = [];
  const lowFails: string[] = [];
  for (const [label, method, answer] of answers) {
    const found = ctx.agent.extract(answer);
    const inBody = ctx.target.credentials
      .filter((r) => r.from !== 'cookie' && found.has(r.name))
      .map((r) => r.name);
    const inCookie = ctx.target.credentials
      .filter((r) => r.from === 'cookie' && found.has(r.name))
      .map((r) => r.name);
    const d = directives(answer);
    const header = answer.headers['cache-control'] ?? '(none)';
    evidence.push(
      `${label} answer (${method}, ${answer.status}) carries ${[...inBody, ...inCookie].join(', ') || 'no credential'}; Cache-Control: ${header}`,
    );
    if (inBody.length > 0 && !d.has('no-store'))
      fails.push(
        `the ${label} answer returns ${inBody.join(', ')} without Cache-Control: no-store`,
      );
    else if (inBody.length === 0 && inCookie.length > 0 && !d.has('no-store')) {
      const cacheable =
        method === 'GET' ||
        d.has('public') ||
        /max-age=[1-9]/.test(header.toLowerCase()) ||
        answer.headers['expires'] !== undefined;
      if (cacheable) fails.push(`the ${label} answer sets ${inCookie.join(', ')} and is cacheable`);
      else
        lowFails.push(
          `the ${label} answer sets ${inCookie.join(', ')} without Cache-Control: no-store`,
        );
    }
  }
  if (fails.length > 0)
    return [result('SH-TRN-03', 'FAIL', [...fails, ...lowFails].join('; '), evidence)];
  // A POST answer is not stored by caches unless it says so, hence the low severity.
  if (lowFails.length > 0)
    return [result('SH-TRN-03', 'FAIL', lowFails.join('; '), evidence, { severity: 'low' })];
  return [
    result('SH-TRN-03', 'PASS', 'every answer carrying a credential is marked no-store', evidence),
  ];
}
