import { randomBytes } from 'node:crypto';
import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import type { Session } from '../session-agent.js';
import { refreshShouldFail } from './logout.js';
import { replayDead, testedCredentials } from './probe-helpers.js';

/** Probes every credential of `other` (which should be dead) and its refresh token. */
async function otherIsDead(
  ctx: AuditContext,
  other: Session,
  evidence: string[],
): Promise<'dead' | 'alive' | 'inconclusive'> {
  let state: 'dead' | 'alive' | 'inconclusive' = 'dead';
  for (const profile of testedCredentials(ctx)) {
    const value = other.values.get(profile.name);
    if (value === undefined) continue;
    const replay = await replayDead(ctx, other, profile.name, value);
    evidence.push(`other session #${other.number}: ${replay.evidence}`);
    if (replay.outcome === 'alive') state = 'alive';
    else if (replay.outcome === 'inconclusive' && state === 'dead') state = 'inconclusive';
  }
  const rt = await refreshShouldFail(ctx, other, `other session #${other.number}`);
  if (rt.evidence) evidence.push(rt.evidence);
  if (rt.alive) state = 'alive';
  return state;
}

async function twoSessions(
  ctx: AuditContext,
  label: string,
): Promise<{ ok: true; a: Session; b: Session } | { ok: false; reason: string }> {
  const a = await ctx.freshSession(label);
  if (!a.ok) return a;
  const b = await ctx.freshSession(label);
  if (!b.ok) return b;
  const shared = [...b.session.values]
    .filter(([k, v]) => a.session.values.get(k) === v)
    .map(([k]) => k);
  // Two logins that got the same credential cannot be told apart: ending "the other" session
  // means nothing then (SH-TOK-01 / SH-LIFE-01 report the cause).
  if (shared.length > 0)
    return {
      ok: false,
      reason: `the two sessions share the same ${shared.join(', ')}, so the other session cannot be told apart`,
    };
  return { ok: true, a: a.session, b: b.session };
}

/**
 * SH-TERM-04 (ASVS 7.4.3, 7.5.2): from session A, "log out everywhere"; session B of the same user
 * must then be refused, refresh token included. Runs after every other check, because it ends the
 * user's sessions.
 */
export async function checkLogoutEverywhere(ctx: AuditContext): Promise<CheckResult[]> {
  const template = ctx.target.logoutAll;
  if (!template)
    return [result('SH-TERM-04', 'SKIPPED', 'not configured: add `logout_all` to the target')];
  const pair = await twoSessions(ctx, 'SH-TERM-04');
  if (!pair.ok) return [result('SH-TERM-04', 'INCONCLUSIVE', pair.reason)];
  const answer = await ctx.agent.send(template, pair.a);
  const evidence = [`logout everywhere from session #${pair.a.number} answered ${answer.status}`];
  if (answer.status >= 400)
    return [
      result(
        'SH-TERM-04',
        'INCONCLUSIVE',
        `the logout-everywhere request failed with ${answer.status}`,
        evidence,
      ),
    ];
  const state = await otherIsDead(ctx, pair.b, evidence);
  if (state === 'alive')
    return [
      result(
        'SH-TERM-04',
        'FAIL',
        `session #${pair.b.number} still works after "log out everywhere"`,
        evidence,
      ),
    ];
  if (state === 'inconclusive')
    return [
      result(
        'SH-TERM-04',
        'INCONCLUSIVE',
        'the other session got an answer the oracle cannot classify',
        evidence,
      ),
    ];
  return [
    result(
      'SH-TERM-04',
      'PASS',
      'the other session was refused after "log out everywhere"',
      evidence,
    ),
  ];
}

/**
 * SH-TERM-06 (ASVS 7.4.3, RFC 9700 §4.14.2): change the password from session A; session B must
 * then be refused. The password is always changed back (from A if it survived, else from a new
 * login with the new password); a failed revert is reported loudly in the evidence.
 */
export async function checkPasswordChange(ctx: AuditContext): Promise<CheckResult[]> {
  const config = ctx.target.passwordChange;
  if (!config)
    return [result('SH-TERM-06', 'SKIPPED', 'not configured: add `password_change` to the target')];
  const pair = await twoSessions(ctx, 'SH-TERM-06');
  if (!pair.ok) return [result('SH-TERM-06', 'INCONCLUSIVE', pair.reason)];
  const { a, b } = pair;
  const oldPassword = a.identity.password;
  const newPassword = config.newPassword ?? `Audit-${randomBytes(12).toString('base64url')}!1`;
  ctx.agent.redactor.register(newPassword);
  const answer = await ctx.agent.send(config.request, a, { new_password: newPassword });
  const evidence = [`password change from session #${a.number} answered ${answer.status}`];
  if (answer.status >= 400)
    return [
      result(
        'SH-TERM-06',
        'INCONCLUSIVE',
        `the password change failed with ${answer.status}`,
        evidence,
      ),
    ];
  const state = await otherIsDead(ctx, b, evidence);

  // Revert: with the swapped passwords, from A if it is still alive, else from a new login.
  const revert = config.revert ?? config.request;
  const swapped = { password: newPassword, new_password: oldPassword };
  let reverted = false;
  const fromA = await ctx.agent.probe(a);
  if (fromA.verdict === 'AUTH') {
    const r = await ctx.agent.send(
      revert,
      { ...a, identity: { ...a.identity, password: newPassword } },
      swapped,
    );
    reverted = r.status < 400;
    evidence.push(`revert from session #${a.number} answered ${r.status}`);
  }
  if (!reverted) {
    const login = await ctx.agent.login({ identity: { ...a.identity, password: newPassword } });
    if (login.ok) {
      const r = await ctx.agent.send(revert, login.session, swapped);
      reverted = r.status < 400;
      evidence.push(`revert from a new login answered ${r.status}`);
    }
  }
  if (!reverted)
    evidence.push(
      `WARNING: the password of ${a.identity.username} could not be changed back; it is now ${ctx.fp(newPassword)} (fingerprint)`,
    );

  if (state === 'alive')
    return [
      result(
        'SH-TERM-06',
        'FAIL',
        `session #${b.number} still works after the password change`,
        evidence,
      ),
    ];
  if (state === 'inconclusive')
    return [
      result(
        'SH-TERM-06',
        'INCONCLUSIVE',
        'the other session got an answer the oracle cannot classify',
        evidence,
      ),
    ];
  return [
    result(
      'SH-TERM-06',
      'PASS',
      'the other session was refused after the password change',
      evidence,
    ),
  ];
}
