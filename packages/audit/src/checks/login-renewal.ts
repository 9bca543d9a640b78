import { randomBytes } from 'node:crypto';
import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import { referenceVariants } from '../token-variants.js';
import { describeProbe, probeWith } from './probe-helpers.js';

/**
 * SH-LIFE-01 (WSTG-SESS-03, ASVS 7.2.4): the session credential must be new after login.
 * (a) the anonymous id a pre-login request set must not survive login; (b) an attacker-chosen
 * id sent at login must not be adopted; (c) logging in again while presenting a live session must
 * yield a new credential (or, when the login request cannot carry it, (d) a second login of the
 * same user must get a new one). Self-contained tokens are minted per login and cannot be chosen by a
 * client, so only reference credentials are tested.
 */
export async function checkLoginRenewal(ctx: AuditContext): Promise<CheckResult[]> {
  const refs = ctx.profiles.filter((p) => p.presented && p.shape === 'reference');
  if (refs.length === 0)
    return [
      result(
        'SH-LIFE-01',
        'SKIPPED',
        'not applicable: the presented credentials are self-contained tokens',
      ),
    ];
  const rules = ctx.agent.presented.filter((r) => refs.some((p) => p.name === r.name));
  const cookieRules = rules.filter((r) => r.from === 'cookie');
  const evidence: string[] = [];
  const adopted: string[] = [];
  let tested = 0;
  let inconclusive = 0;

  // (a) Pre-login anonymous session.
  if (ctx.target.preLogin) {
    const login = await ctx.agent.login();
    if (!login.ok) return [result('SH-LIFE-01', 'INCONCLUSIVE', `login failed: ${login.reason}`)];
    const s = login.session;
    for (const rule of cookieRules) {
      const before = s.preLoginJar.get(rule.key);
      if (before === undefined) {
        evidence.push(`(a) pre-login set no ${rule.key} cookie`);
        continue;
      }
      tested++;
      const after = s.values.get(rule.name);
      const kept = s.carriedOver.has(rule.name) || after === before;
      evidence.push(
        `(a) pre-login ${rule.key} ${ctx.fp(before)}, after login ${after ? ctx.fp(after) : 'none'}${s.carriedOver.has(rule.name) ? ' (login set no new cookie)' : ''}`,
      );
      const probe = await probeWith(ctx, s, rule.name, before);
      evidence.push(describeProbe(`(a) probe with the pre-login ${rule.key}`, probe));
      if (kept || probe.verdict === 'AUTH')
        adopted.push(`the pre-login ${rule.key} is still the session id after login`);
      if (probe.verdict === 'INCONCLUSIVE') inconclusive++;
    }
  }

  // (b) Attacker-chosen cookie value sent with the login request.
  for (const rule of cookieRules) {
    const template = await ctx.freshSession('SH-LIFE-01 format sample');
    if (!template.ok) continue;
    const format = template.session.values.get(rule.name) ?? randomBytes(16).toString('hex');
    const chosen =
      referenceVariants(format).find((v) => v.label.startsWith('never issued'))?.value ??
      randomBytes(16).toString('hex');
    ctx.agent.redactor.register(chosen);
    const login = await ctx.agent.login({ extraCookies: { [rule.key]: chosen }, preLogin: false });
    if (!login.ok) {
      evidence.push(`(b) login with a chosen ${rule.key} failed: ${login.reason}`);
      continue;
    }
    tested++;
    const after = login.session.values.get(rule.name);
    const probe = await probeWith(ctx, login.session, rule.name, chosen);
    evidence.push(
      `(b) chosen ${rule.key} ${ctx.fp(chosen)}, after login ${after ? ctx.fp(after) : 'none'}; ${describeProbe('probe with the chosen value', probe)}`,
    );
    if (after === chosen || probe.verdict === 'AUTH')
      adopted.push(`an attacker-chosen ${rule.key} was adopted at login`);
  }

  // (c) Re-authentication while presenting a live session.
  const first = await ctx.freshSession('SH-LIFE-01 re-login');
  if (first.ok) {
    const loginHeaders = Object.keys(ctx.target.login.headers).map((h) => h.toLowerCase());
    const presentable = new Map(
      [...first.session.values].filter(([name]) => {
        const rule = rules.find((r) => r.name === name);
        // Presenting a header the login template already sets would replace it (e.g. a service key).
        return (
          rule !== undefined &&
          !(rule.present.as === 'header' && loginHeaders.includes(rule.present.name.toLowerCase()))
        );
      }),
    );
    if (presentable.size > 0) {
      const again = await ctx.agent.login({
        jar: first.session.jar,
        credentialsToPresent: presentable,
        preLogin: false,
      });
      if (again.ok) {
        for (const [name, before] of presentable) {
          tested++;
          const after = again.session.values.get(name);
          evidence.push(
            `(c) re-login presenting ${name} ${ctx.fp(before)} → ${after ? ctx.fp(after) : 'none'}`,
          );
          if (after === before)
            adopted.push(`${name} was not renewed when the user logged in again`);
        }
      } else evidence.push(`(c) re-login failed: ${again.reason}`);
    }
    // (d) Credentials that cannot be presented at login (the login request already uses that
    // header, e.g. a service key): a second login of the same user must still get new values.
    const unpresentable = [...first.session.values.keys()].filter(
      (name) => rules.some((r) => r.name === name) && !presentable.has(name),
    );
    if (unpresentable.length > 0) {
      const second = await ctx.agent.login({ identity: first.session.identity, preLogin: false });
      if (second.ok) {
        for (const name of unpresentable) {
          tested++;
          const before = first.session.values.get(name)!;
          const after = second.session.values.get(name);
          evidence.push(
            `(d) second login of the same user: ${name} ${ctx.fp(before)} → ${after ? ctx.fp(after) : 'none'}`,
          );
          if (after === before) adopted.push(`${name} is the same at two logins of the same user`);
        }
      } else evidence.push(`(d) second login failed: ${second.reason}`);
    }
  } else evidence.push(`(c) ${first.reason}`);

  if (adopted.length > 0)
    return [result('SH-LIFE-01', 'FAIL', [...new Set(adopted)].join('; '), evidence)];
  if (tested === 0)
    return [result('SH-LIFE-01', 'INCONCLUSIVE', 'no fixation scenario could be run', evidence)];
  if (inconclusive > 0)
    return [
      result(
        'SH-LIFE-01',
        'INCONCLUSIVE',
        'a probe with the old id got an answer the oracle cannot classify',
        evidence,
      ),
    ];
  return [
    result(
      'SH-LIFE-01',
      'PASS',
      'login always issued a new credential and never adopted a pre-login or chosen one',
      evidence,
    ),
  ];
}
