import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import type { Session } from '../session-agent.js';
import { replayDead, testedCredentials } from './probe-helpers.js';

/** Tries a refresh token that should be dead; a success is logged out again so nothing leaks. */
export async function refreshShouldFail(
  ctx: AuditContext,
  session: Session,
  label: string,
): Promise<{ alive: boolean; inconclusive: boolean; evidence: string }> {
  const rt = ctx.agent.refreshRules.find((r) => session.values.has(r.name));
  if (!ctx.target.refresh || !rt) return { alive: false, inconclusive: false, evidence: '' };
  const outcome = await ctx.agent.refresh(session, { apply: false });
  const evidence = `${label}: refresh with ${rt.name} ${ctx.fp(session.values.get(rt.name)!)} → ${outcome.status} (${outcome.outcome === 'ok' ? 'new tokens issued' : outcome.outcome})`;
  if (outcome.outcome === 'ok') {
    // The refresh created live tokens: end them too (cleanup covers every session it knows).
    const successor: Session = {
      ...session,
      values: new Map([...session.values, ...outcome.values]),
      ended: false,
    };
    await ctx.agent.logout(successor).catch(() => undefined);
  }
  return {
    alive: outcome.outcome === 'ok',
    inconclusive: outcome.outcome === 'inconclusive',
    evidence,
  };
}

/**
 * SH-TERM-01 and SH-TERM-02 (ASVS 7.4.1, WSTG-SESS-06, MSTG-AUTH-4): after logout, each credential
 * the session had (as it was before logout: a cookie the logout answer cleared is restored, as an
 * attacker would) is replayed alone, and the refresh token is tried at the refresh endpoint.
 * Reference credentials and the refresh token are judged by SH-TERM-01, JWTs by SH-TERM-02.
 */
export async function checkLogout(ctx: AuditContext): Promise<CheckResult[]> {
  const fresh = await ctx.freshSession('SH-TERM-01');
  if (!fresh.ok)
    return [
      result('SH-TERM-01', 'INCONCLUSIVE', fresh.reason),
      result('SH-TERM-02', 'INCONCLUSIVE', fresh.reason),
    ];
  const { session } = fresh;
  const answer = await ctx.agent.logout(session);
  const logoutLine = `logout answered ${answer.status}`;
  const ref = {
    evidence: [logoutLine],
    alive: [] as string[],
    delayed: [] as string[],
    inconclusive: 0,
    tested: 0,
  };
  const jwt = {
    evidence: [logoutLine],
    alive: [] as string[],
    delayed: [] as string[],
    inconclusive: 0,
    tested: 0,
  };
  for (const profile of testedCredentials(ctx)) {
    const value = session.values.get(profile.name);
    if (value === undefined) continue;
    const bucket = profile.jwt ? jwt : ref;
    bucket.tested++;
    const replay = await replayDead(ctx, session, profile.name, value);
    bucket.evidence.push(replay.evidence);
    if (replay.outcome === 'alive') bucket.alive.push(profile.name);
    if (replay.outcome === 'delayed') bucket.delayed.push(profile.name);
    if (replay.outcome === 'inconclusive') bucket.inconclusive++;
  }
  const rt = await refreshShouldFail(ctx, session, 'after logout');
  if (rt.evidence) {
    ref.tested++;
    ref.evidence.push(rt.evidence);
    if (rt.alive) ref.alive.push('the refresh token (it still refreshes)');
    if (rt.inconclusive) ref.inconclusive++;
  }
  const judge = (id: 'SH-TERM-01' | 'SH-TERM-02', b: typeof ref, none: string): CheckResult => {
    if (b.tested === 0) return result(id, 'SKIPPED', none, b.evidence);
    if (b.alive.length > 0)
      return result(id, 'FAIL', `still accepted after logout: ${b.alive.join(', ')}`, b.evidence);
    if (b.inconclusive > 0)
      return result(
        id,
        'INCONCLUSIVE',
        'a replay after logout got an answer the oracle cannot classify',
        b.evidence,
      );
    if (b.delayed.length > 0)
      return result(
        id,
        'WARN',
        `accepted right after logout, refused a moment later: ${b.delayed.join(', ')}`,
        b.evidence,
      );
    return result(id, 'PASS', 'every credential was refused right after logout', b.evidence);
  };
  return [
    judge(
      'SH-TERM-01',
      ref,
      'not applicable: no reference credential or refresh token (see SH-TERM-02)',
    ),
    judge('SH-TERM-02', jwt, 'not applicable: no presented credential is a JWT'),
  ];
}
