import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import type { ProbeOutcome, Session } from '../session-agent.js';
import { refreshShouldFail } from './logout.js';

const age = (s: Session, atMs: number) => ((atMs - s.lastTouchMs) / 1000).toFixed(1);

/**
 * SH-TIME-02 (ASVS 7.3.1, NIST SP 800-63B-4 §5.2, WSTG-SESS-07, MSTG-AUTH-7). Every probe is
 * activity and resets the idle clock, so two sessions are used, each probed once: S1 at
 * idle − tolerance (must still work: the control), S2 at idle + tolerance (must be refused, and
 * its refresh token too). Total wait ≈ idle + tolerance.
 */
export async function checkIdleTimeout(ctx: AuditContext): Promise<CheckResult[]> {
  const { idleTimeoutSeconds: idle, toleranceSeconds: g } = ctx.target.policy;
  const allowed = ctx.waitAllowed(idle + g + 1);
  if (!allowed.ok) return [result('SH-TIME-02', 'SKIPPED', allowed.reason)];
  const s1 = await ctx.freshSession('SH-TIME-02 control');
  const s2 = await ctx.freshSession('SH-TIME-02 idle');
  if (!s1.ok) return [result('SH-TIME-02', 'INCONCLUSIVE', s1.reason)];
  if (!s2.ok) return [result('SH-TIME-02', 'INCONCLUSIVE', s2.reason)];
  const control = s1.session;
  const idleSession = s2.session;
  const earlyAt = control.lastTouchMs + Math.max(0, idle - g) * 1000;
  const lateAt = idleSession.lastTouchMs + (idle + g) * 1000;
  const probeAt = async (
    s: Session,
    at: number,
    label: string,
  ): Promise<[ProbeOutcome, string]> => {
    await ctx.scheduler.until(at, label);
    const before = s.lastTouchMs;
    const outcome = await ctx.agent.probe(s, { priority: true });
    return [
      outcome,
      `session #${s.number} probed after ${((outcome.answer.receivedAtMs - before) / 1000).toFixed(1)} s idle: ${outcome.verdict} (${outcome.reason})`,
    ];
  };
  const [[early, earlyLine], [late, lateLine]] = await Promise.all([
    probeAt(control, earlyAt, 'SH-TIME-02 control probe'),
    probeAt(idleSession, lateAt, 'SH-TIME-02 idle probe'),
  ]);
  const evidence = [
    `declared idle ${idle} s, tolerance ${g} s; measured assuming no client activity`,
    earlyLine,
    lateLine,
  ];
  const rt = await refreshShouldFail(
    ctx,
    idleSession,
    `session #${idleSession.number} after ${age(idleSession, Date.now())} s`,
  );
  if (rt.evidence) evidence.push(rt.evidence);
  if (late.verdict === 'AUTH')
    return [
      result(
        'SH-TIME-02',
        'FAIL',
        `a session idle for ${idle + g} s still works (declared idle timeout ${idle} s)`,
        evidence,
      ),
    ];
  if (rt.alive) {
    const severity = ctx.target.policy.profile === 'low' ? 'low' : 'medium';
    return [
      result(
        'SH-TIME-02',
        severity === 'low' ? 'WARN' : 'FAIL',
        `the access credential idled out, but the refresh token still renews the session after ${idle + g} s idle`,
        evidence,
        { severity },
      ),
    ];
  }
  if (late.verdict === 'INCONCLUSIVE' || early.verdict === 'INCONCLUSIVE')
    return [
      result(
        'SH-TIME-02',
        'INCONCLUSIVE',
        'a timed probe got an answer the oracle cannot classify',
        evidence,
      ),
    ];
  if (early.verdict !== 'AUTH')
    return [
      result(
        'SH-TIME-02',
        'INCONCLUSIVE',
        `the control session was already refused at ${Math.max(0, idle - g)} s: the timeout is stricter than declared, or sessions end for another reason (a concurrent-session limit?)`,
        evidence,
      ),
    ];
  return [
    result(
      'SH-TIME-02',
      'PASS',
      `refused after ${idle + g} s idle, still valid at ${Math.max(0, idle - g)} s`,
      evidence,
    ),
  ];
}

/**
 * SH-TIME-03 (ASVS 7.3.2, 10.4.8): one session kept busy (a probe every third of the idle limit,
 * refreshing when the access credential lapses) must be refused at absolute + tolerance, refresh
 * token included.
 */
export async function checkAbsoluteTimeout(ctx: AuditContext): Promise<CheckResult[]> {
  const {
    idleTimeoutSeconds: idle,
    absoluteTimeoutSeconds: absolute,
    toleranceSeconds: g,
  } = ctx.target.policy;
  const allowed = ctx.waitAllowed(absolute + g + 1);
  if (!allowed.ok) return [result('SH-TIME-03', 'SKIPPED', allowed.reason)];
  const fresh = await ctx.freshSession('SH-TIME-03');
  if (!fresh.ok) return [result('SH-TIME-03', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const startMs = session.createdAtMs;
  const intervalMs = Math.max(250, Math.min((idle / 3) * 1000, 300_000));
  const evidence = [
    `declared absolute ${absolute} s, tolerance ${g} s; kept active every ${(intervalMs / 1000).toFixed(1)} s`,
  ];
  let keepAlives = 0;
  for (let at = startMs + intervalMs; at < startMs + (absolute - g) * 1000; at += intervalMs) {
    await ctx.scheduler.until(at, 'SH-TIME-03 keep-alive');
    const outcome = await ctx.agent.probe(session, { priority: true });
    keepAlives++;
    if (outcome.verdict === 'AUTH') continue;
    if (ctx.target.refresh && ctx.agent.refreshRules.some((r) => session.values.has(r.name))) {
      const refreshed = await ctx.agent.refresh(session, { priority: true });
      if (refreshed.outcome === 'ok') continue;
    }
    evidence.push(
      `after ${((Date.now() - startMs) / 1000).toFixed(1)} s of activity: ${outcome.verdict} (${outcome.reason})`,
    );
    return [
      result(
        'SH-TIME-03',
        'INCONCLUSIVE',
        `the session ended at ${((Date.now() - startMs) / 1000).toFixed(1)} s despite activity, before the absolute limit: stricter than declared, or the probe does not count as activity`,
        evidence,
      ),
    ];
  }
  evidence.push(`${keepAlives} keep-alive probe(s) answered AUTH`);
  await ctx.scheduler.until(startMs + (absolute + g) * 1000, 'SH-TIME-03 absolute probe');
  const last = await ctx.agent.probe(session, { priority: true });
  evidence.push(
    `after ${((last.answer.receivedAtMs - startMs) / 1000).toFixed(1)} s since login: ${last.verdict} (${last.reason})`,
  );
  const rt = await refreshShouldFail(ctx, session, 'refresh after the absolute limit');
  if (rt.evidence) evidence.push(rt.evidence);
  if (last.verdict === 'AUTH' || rt.alive)
    return [
      result(
        'SH-TIME-03',
        'FAIL',
        `an active session still works ${absolute + g} s after login (declared absolute limit ${absolute} s)`,
        evidence,
      ),
    ];
  if (last.verdict === 'INCONCLUSIVE')
    return [
      result(
        'SH-TIME-03',
        'INCONCLUSIVE',
        'the final probe got an answer the oracle cannot classify',
        evidence,
      ),
    ];
  return [
    result('SH-TIME-03', 'PASS', `an active session was refused after ${absolute + g} s`, evidence),
  ];
}
