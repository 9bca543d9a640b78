import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import type { RefreshOutcome, Session } from '../session-agent.js';

function refreshName(ctx: AuditContext, session: Session): string | undefined {
  return ctx.agent.refreshRules.find((r) => session.values.has(r.name))?.name;
}

/** Replays an old refresh token without touching the session's current values. */
function replay(
  ctx: AuditContext,
  session: Session,
  name: string,
  old: string,
  priority = false,
): Promise<RefreshOutcome> {
  return ctx.agent.refresh(session, { refreshValues: { [name]: old }, apply: false, priority });
}

/**
 * SH-RT-01 and SH-RT-02 (ASVS 10.4.5, RFC 9700 §4.14.2). Refresh RT0 → RT1: RT1 must differ.
 * Then RT0 is replayed once the declared grace window has passed (at grace+1 s, then 5, 35 and
 * 65 s while it keeps returning the same pair, which is grace behaviour, not acceptance). RT0 must
 * be refused (RT-01); after that reuse, the newest RT must be refused too: the family is ended
 * (RT-02).
 */
export async function checkRefreshRotation(ctx: AuditContext): Promise<CheckResult[]> {
  if (!ctx.target.refresh) {
    const reason = 'not configured: add `refresh` and a `kind: refresh` credential to the target';
    return [result('SH-RT-01', 'SKIPPED', reason), result('SH-RT-02', 'SKIPPED', reason)];
  }
  const fresh = await ctx.freshSession('SH-RT-01');
  if (!fresh.ok)
    return [
      result('SH-RT-01', 'INCONCLUSIVE', fresh.reason),
      result('SH-RT-02', 'INCONCLUSIVE', fresh.reason),
    ];
  const { session } = fresh;
  const name = refreshName(ctx, session);
  if (!name) {
    const reason = 'the login answer carried no refresh token';
    return [result('SH-RT-01', 'INCONCLUSIVE', reason), result('SH-RT-02', 'INCONCLUSIVE', reason)];
  }
  const rt0 = session.values.get(name)!;
  const first = await ctx.agent.refresh(session);
  if (first.outcome !== 'ok') {
    const reason = `refreshing a fresh session's token failed (${first.status})`;
    return [result('SH-RT-01', 'INCONCLUSIVE', reason), result('SH-RT-02', 'INCONCLUSIVE', reason)];
  }
  const rotatedAtMs = first.answer.receivedAtMs;
  const rt1 = session.values.get(name)!;
  const evidence = [`${name} ${ctx.fp(rt0)} refreshed → ${ctx.fp(rt1)}`];
  const publicClient = ctx.target.policy.client === 'public';
  if (rt1 === rt0) {
    return [
      result(
        'SH-RT-01',
        publicClient ? 'FAIL' : 'WARN',
        'the refresh token is not rotated: the same value is returned on refresh',
        evidence,
        publicClient ? {} : { severity: 'low' },
      ),
      result('SH-RT-02', 'SKIPPED', 'not applicable: no rotation (see SH-RT-01)', evidence),
    ];
  }
  const grace = ctx.target.policy.refreshGraceSeconds;
  const ages = [grace + 1, 5, 35, 65].filter((a, i) => i === 0 || a > grace + 1);
  let verdict: 'refused' | 'accepted' | 'grace' | 'inconclusive' | 'skipped' = 'skipped';
  let refusedAt = 0;
  for (const a of ages) {
    const allowed = ctx.waitAllowed(a);
    if (!allowed.ok) {
      evidence.push(`replay at ${a} s not run: ${allowed.reason}`);
      break;
    }
    await ctx.scheduler.until(rotatedAtMs + a * 1000, `SH-RT-01 replay at ${a} s`);
    const outcome = await replay(ctx, session, name, rt0, true);
    const returned = outcome.values.get(name);
    evidence.push(
      `old ${name} replayed ${a} s after rotation → ${outcome.status} (${outcome.outcome === 'ok' ? (returned === rt1 ? 'same pair again' : `new ${returned ? ctx.fp(returned) : 'pair'}`) : outcome.outcome})`,
    );
    if (outcome.outcome === 'refused') {
      verdict = 'refused';
      refusedAt = a;
      break;
    }
    if (outcome.outcome === 'inconclusive') {
      verdict = 'inconclusive';
      break;
    }
    if (returned !== undefined && returned !== rt1) {
      verdict = 'accepted';
      // The replay minted a live pair: keep it on the session so cleanup ends it.
      for (const [k, v] of outcome.values) session.values.set(k, v);
      break;
    }
    verdict = 'grace';
  }
  const rt01 =
    verdict === 'refused'
      ? result(
          'SH-RT-01',
          'PASS',
          `rotated, and the previous refresh token was refused ${refusedAt} s after rotation`,
          evidence,
        )
      : verdict === 'accepted'
        ? result(
            'SH-RT-01',
            'FAIL',
            'the previous refresh token still works after rotation (it minted a new pair)',
            evidence,
          )
        : verdict === 'grace'
          ? result(
              'SH-RT-01',
              'WARN',
              'the previous refresh token still returns the same pair long after rotation (grace window longer than declared?)',
              evidence,
              { severity: 'low' },
            )
          : verdict === 'inconclusive'
            ? result(
                'SH-RT-01',
                'INCONCLUSIVE',
                'a replay got an answer that is neither a refusal nor a token',
                evidence,
              )
            : result(
                'SH-RT-01',
                'SKIPPED',
                'the replay after the grace window does not fit --max-wait / --quick',
                evidence,
              );
  if (verdict !== 'refused' && verdict !== 'accepted') {
    return [
      rt01,
      result(
        'SH-RT-02',
        verdict === 'skipped' ? 'SKIPPED' : 'INCONCLUSIVE',
        'no reuse of a rotated token could be observed',
        evidence,
      ),
    ];
  }
  const newest = session.values.get(name)!;
  const after = await ctx.agent.refresh(session, { apply: true });
  const probe = await ctx.agent.probe(session);
  const rtEvidence = [
    ...evidence,
    `newest ${name} ${ctx.fp(newest)} after the reuse → ${after.status} (${after.outcome})`,
    `access credential of the family after the reuse: ${probe.verdict}`,
  ];
  if (after.outcome === 'ok')
    return [
      rt01,
      result(
        'SH-RT-02',
        'FAIL',
        'after a rotated refresh token was reused, the newest one still works: the family was not ended',
        rtEvidence,
      ),
    ];
  if (after.outcome === 'inconclusive')
    return [
      rt01,
      result(
        'SH-RT-02',
        'INCONCLUSIVE',
        'the refresh with the newest token got an unclassifiable answer',
        rtEvidence,
      ),
    ];
  session.ended = probe.verdict !== 'AUTH';
  return [
    rt01,
    result(
      'SH-RT-02',
      'PASS',
      `reuse ended the family: the newest refresh token was refused${probe.verdict === 'AUTH' ? ' (its access credential still works until it expires)' : ', and so was its access credential'}`,
      rtEvidence,
    ),
  ];
}

/**
 * SH-RT-04 (RFC 9700 §4.14.2 implementation note): right after a rotation, the previous token is
 * replayed once, as a client whose answer was lost would. Refused (strict) or the same pair
 * (idempotent grace) are fine; a different live pair means a retry forks the family: WARN.
 * This check reports, it does not fail.
 */
export async function checkRefreshGrace(ctx: AuditContext): Promise<CheckResult[]> {
  if (!ctx.target.refresh)
    return [result('SH-RT-04', 'SKIPPED', 'not configured: add `refresh` to the target')];
  const fresh = await ctx.freshSession('SH-RT-04');
  if (!fresh.ok) return [result('SH-RT-04', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const name = refreshName(ctx, session);
  if (!name)
    return [result('SH-RT-04', 'INCONCLUSIVE', 'the login answer carried no refresh token')];
  const rt0 = session.values.get(name)!;
  const first = await ctx.agent.refresh(session);
  if (first.outcome !== 'ok')
    return [result('SH-RT-04', 'INCONCLUSIVE', `refresh failed (${first.status})`)];
  const rt1 = session.values.get(name)!;
  if (rt1 === rt0)
    return [result('SH-RT-04', 'SKIPPED', 'not applicable: no rotation (see SH-RT-01)')];
  const again = await replay(ctx, session, name, rt0);
  const returned = again.values.get(name);
  const evidence = [
    `${name} ${ctx.fp(rt0)} → ${ctx.fp(rt1)}; replayed at once → ${again.status} (${again.outcome === 'ok' ? (returned === rt1 ? 'same pair' : 'a different pair') : again.outcome})`,
  ];
  const declared = ctx.target.policy.refreshGraceSeconds;
  if (declared > 60)
    return [
      result(
        'SH-RT-04',
        'WARN',
        `the declared grace window (${declared} s) is longer than 60 s`,
        evidence,
        { severity: 'low' },
      ),
    ];
  if (again.outcome === 'refused')
    return [
      result(
        'SH-RT-04',
        'PASS',
        'no grace window: an immediate retry with the previous token is refused',
        evidence,
      ),
    ];
  if (again.outcome === 'ok' && returned === rt1)
    return [
      result(
        'SH-RT-04',
        'PASS',
        'idempotent grace: a retry with the previous token returns the same pair',
        evidence,
      ),
    ];
  if (again.outcome === 'ok') {
    for (const [k, v] of again.values) session.values.set(k, v);
    return [
      result(
        'SH-RT-04',
        'WARN',
        'a retry with the previous token returned a different pair: concurrent refreshes fork the family',
        evidence,
        { severity: 'low' },
      ),
    ];
  }
  return [
    result(
      'SH-RT-04',
      'INCONCLUSIVE',
      'the immediate replay got an unclassifiable answer',
      evidence,
    ),
  ];
}
