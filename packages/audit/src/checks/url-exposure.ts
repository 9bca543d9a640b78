import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import type { HttpAnswer } from '../http-client.js';
import { describeProbe, testedCredentials } from './probe-helpers.js';

/** Query parameter names apps commonly read tokens from (RFC 6750 §2.3 and framework habits). */
const QUERY_NAMES = [
  'access_token',
  'token',
  'session',
  'sessionid',
  'session_id',
  'sid',
  'jwt',
  'auth',
];

/** True when `value` occurs in `text` inside something shaped like a URL or a query string. */
export function appearsInUrl(text: string, value: string): boolean {
  let from = 0;
  for (;;) {
    const i = text.indexOf(value, from);
    if (i < 0) return false;
    from = i + 1;
    const before = text.slice(Math.max(0, i - 300), i);
    const start = Math.max(
      before.lastIndexOf(' '),
      before.lastIndexOf('"'),
      before.lastIndexOf("'"),
      before.lastIndexOf('<'),
      before.lastIndexOf('>'),
      before.lastIndexOf('('),
      before.lastIndexOf('\n'),
    );
    const prefix = before.slice(start + 1);
    if (
      /[?&#;][\w.%-]*=$/.test(prefix) ||
      /^(https?:)?\/\//.test(prefix) ||
      /^\/[^\s]*\/$/.test(prefix)
    )
      return true;
  }
}

/**
 * SH-TRN-01 (ASVS 14.2.1, WSTG-SESS-04): (a) no credential in a Location header or in a URL inside
 * an answer body; (b) each credential moved into the query string (with no header or cookie) must
 * be refused, and a target that declares query presentation fails outright.
 */
export async function checkUrlExposure(ctx: AuditContext): Promise<CheckResult[]> {
  const fresh = await ctx.freshSession('SH-TRN-01');
  if (!fresh.ok) return [result('SH-TRN-01', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const evidence: string[] = [];
  const problems: string[] = [];
  let inconclusive = 0;
  const baseline = await ctx.agent.probe(session);
  const answers: [string, HttpAnswer][] = [
    ['login answer', session.loginAnswer],
    ['probe answer', baseline.answer],
    ...(session.preLoginAnswer
      ? ([['pre-login answer', session.preLoginAnswer]] as [string, HttpAnswer][])
      : []),
  ];
  for (const [label, answer] of answers) {
    for (const [name, value] of session.values) {
      for (const hop of answer.chain) {
        if (hop.location?.includes(value))
          problems.push(`${name} ${ctx.fp(value)} is in the Location header of the ${label}`);
      }
      if (appearsInUrl(answer.body, value))
        problems.push(`${name} ${ctx.fp(value)} is inside a URL in the body of the ${label}`);
    }
  }
  for (const rule of ctx.agent.presented) {
    if (rule.present.as === 'query')
      problems.push(
        `the target presents ${rule.name} in the query parameter "${rule.present.name}"`,
      );
  }
  for (const profile of testedCredentials(ctx)) {
    const value = session.values.get(profile.name);
    if (value === undefined) continue;
    const rule = ctx.agent.presented.find((r) => r.name === profile.name);
    const names = [
      ...new Set([
        ...QUERY_NAMES,
        profile.name,
        ...(rule && rule.present.as !== 'none' ? [rule.present.name] : []),
        ...(rule?.from === 'cookie' ? [rule.key] : []),
      ]),
    ].filter((n) => n.toLowerCase() !== 'authorization');
    for (const name of names) {
      const outcome = await ctx.agent.probe(session, { queryInstead: { [name]: value } });
      if (outcome.verdict === 'AUTH') {
        problems.push(`${profile.name} is accepted from the query parameter "${name}"`);
        evidence.push(describeProbe(`${profile.name} sent as ?${name}=`, outcome));
      } else if (outcome.verdict === 'INCONCLUSIVE') {
        inconclusive++;
        evidence.push(describeProbe(`${profile.name} sent as ?${name}=`, outcome));
      }
    }
    evidence.push(
      `${profile.name} moved to each of ?${names.join('=, ?')}= with no header or cookie`,
    );
  }
  if (problems.length > 0)
    return [result('SH-TRN-01', 'FAIL', [...new Set(problems)].join('; '), evidence)];
  if (inconclusive > 0)
    return [
      result(
        'SH-TRN-01',
        'INCONCLUSIVE',
        `${inconclusive} query-string probe(s) got an answer the oracle cannot classify`,
        evidence,
      ),
    ];
  return [
    result(
      'SH-TRN-01',
      'PASS',
      'no credential appears in a URL, and none is accepted from the query string',
      evidence,
    ),
  ];
}
