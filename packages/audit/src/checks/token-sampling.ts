import { analyzeTokens, type RandomnessReport } from '../analysis/randomness.js';
import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';

const STRUCTURAL = new Set(['time', 'counter', 'hash-of-known-data']);

function summarize(name: string, r: RandomnessReport): string[] {
  return [
    `${name}: ${r.sampleSize} tokens, ${r.distinct} distinct, ${r.duplicates} duplicate(s), length ${r.lengths.min}–${r.lengths.max}, alphabet ${r.alphabet.name} (${r.alphabet.size} symbols)`,
    `${name}: nominal ${r.nominalBits.toFixed(0)} bits; MCV min-entropy ${r.mcvMinEntropyBits.toFixed(1)} bits; second estimator ${r.otherEstimatorBits.toFixed(1)} bits; effective ${r.effectiveBitsAtAlpha.toFixed(1)} bits`,
    ...r.tests.map(
      (t) =>
        `${name}: ${t.name} ${t.passed ? 'passed' : 'FAILED'}${t.pValue !== null ? ` (p=${t.pValue.toPrecision(3)})` : ''}${t.detail ? ` — ${t.detail}` : ''}`,
    ),
    ...r.patterns.map((p) => `${name}: pattern ${p.kind}: ${p.detail}`),
    ...r.reasons.map((reason) => `${name}: ${reason}`),
  ];
}

/**
 * SH-TOK-01, SH-TOK-02 and SH-TOK-04 over N logins (default 200, up to 20,000), paced by the
 * request rate and each logged out again at once. Only reference tokens are sampled: a JWT's
 * bytes are mostly claims and signature, and its integrity is judged by SH-JWT-01. The random
 * tokens go to `analyzeTokens` (which removes fixed prefixes and signed-cookie signatures), whose
 * verdict rule is quoted in the report: a sample can show that tokens are weak, never prove that
 * they carry 128 bits.
 */
export async function checkTokenSampling(ctx: AuditContext): Promise<CheckResult[]> {
  const ids = ['SH-TOK-01', 'SH-TOK-02', 'SH-TOK-04'] as const;
  const all = (verdict: 'SKIPPED' | 'INCONCLUSIVE', why: string, evidence: string[] = []) =>
    ids.map((id) => result(id, verdict, why, evidence));
  const names = ctx.profiles
    .filter(
      (p) =>
        p.shape === 'reference' &&
        (p.presented || ctx.agent.refreshRules.some((r) => r.name === p.name)),
    )
    .map((p) => p.name);
  if (names.length === 0)
    return all(
      'SKIPPED',
      'not applicable: every credential is a self-contained token (see SH-JWT-01/02)',
    );
  const n = ctx.options.sampleSize;
  if (n < 2)
    return all('SKIPPED', `sample size ${n} is too small (set limits.sample_size or --sample)`);
  const randomUser = ctx.target.accounts[0]?.username.includes('{{random}}') ?? false;
  const samples = new Map<string, string[]>(names.map((x) => [x, []]));
  const issuedAt: number[] = [];
  const knownInputs: string[][] = [];
  const evidence: string[] = [];
  let failures = 0;
  let stoppedBecause = '';
  const step = Math.max(1, Math.floor(n / 10));
  for (let i = 0; i < n; i++) {
    const identity = randomUser ? ctx.agent.freshIdentity() : ctx.agent.identity();
    const login = await ctx.agent.login({ identity });
    if (!login.ok) {
      failures++;
      // Stop on repeated failures: they are lock-out or rate-limit signals, and a test account
      // must not be locked by the audit (reference §3.5).
      if (failures >= 3) {
        stoppedBecause = `stopped after ${failures} failed logins (${login.reason}): lock-out or rate limit?`;
        break;
      }
      continue;
    }
    const s = login.session;
    issuedAt.push(s.loginAnswer.receivedAtMs);
    knownInputs.push([identity.username, identity.password]);
    for (const name of names) {
      const v = s.values.get(name);
      if (v !== undefined) samples.get(name)!.push(v);
    }
    await ctx.agent.logout(s).catch(() => undefined);
    if ((i + 1) % step === 0) ctx.progress(`sampling tokens: ${i + 1}/${n} logins`);
  }
  if (stoppedBecause) evidence.push(stoppedBecause);
  // The statistics block the event loop for a moment: let the timed probes finish first.
  ctx.progress('sample collected; analysing after the timed checks');
  await ctx.timedChecksDone;
  evidence.push(
    `${issuedAt.length} logins${randomUser ? ' (a new user name each time)' : ` as ${ctx.agent.identity().username}`}, each logged out at once`,
  );
  const out: CheckResult[] = [];
  const tok01: string[] = [];
  const tok02: {
    verdict: RandomnessReport['verdict'];
    rule: string;
    name: string;
    reasons: string[];
  }[] = [];
  const tok04: string[] = [];
  // TOK-01 and TOK-04 show the sample and what they looked for; TOK-02 carries the statistics.
  const shortEvidence: string[] = [];
  const secrets = new Set(ctx.target.secrets);
  for (const name of names) {
    const tokens = samples.get(name)!;
    if (tokens.length < 2) continue;
    const distinct = new Set(tokens).size;
    if (distinct < tokens.length)
      tok01.push(
        `${name}: ${tokens.length - distinct} repeated value(s) in ${tokens.length} logins${distinct === 1 ? ' (always the same token)' : ''}`,
      );
    if (tokens.some((t) => secrets.has(t)))
      tok01.push(`${name} equals a configured secret (a static key)`);
    const report = analyzeTokens(tokens, {
      issuedAt: issuedAt.slice(0, tokens.length),
      knownInputs,
      minimumBits: ctx.target.policy.minimumEntropyBits,
    });
    const lines = summarize(name, report);
    evidence.push(...lines);
    shortEvidence.push(
      lines[0]!,
      ...report.patterns.map((p) => `${name}: pattern ${p.kind}: ${p.detail}`),
    );
    tok02.push({ verdict: report.verdict, rule: report.rule, name, reasons: report.reasons });
    for (const p of report.patterns)
      if (STRUCTURAL.has(p.kind)) tok04.push(`${name}: ${p.kind} pattern (${p.detail})`);
  }
  if (tok02.length === 0)
    return all('INCONCLUSIVE', 'fewer than 2 tokens were collected', evidence);
  const short = [...evidence.slice(0, stoppedBecause ? 2 : 1), ...shortEvidence];
  out.push(
    tok01.length > 0
      ? result('SH-TOK-01', 'FAIL', tok01.join('; '), short)
      : result('SH-TOK-01', 'PASS', `all ${issuedAt.length} logins issued distinct tokens`, short),
  );
  const worst =
    (['FAIL', 'WARN', 'INCONCLUSIVE', 'PASS'] as const).find((v) =>
      tok02.some((t) => t.verdict === v),
    ) ?? 'INCONCLUSIVE';
  const rule = tok02[0]!.rule;
  const why = tok02.map((t) => `${t.name}: ${t.reasons.join('; ')}`).join(' | ');
  // A clean sample that is only too small to be reliable is a note, not a finding.
  const onlySmall =
    worst === 'WARN' &&
    tok02.every((t) => t.verdict !== 'WARN' || t.reasons.every((r) => r.startsWith('only ')));
  out.push(
    result(
      'SH-TOK-02',
      worst,
      worst === 'PASS'
        ? `no defect found in ${issuedAt.length} tokens; a sample cannot prove entropy, only fail to find a weakness`
        : why,
      evidence,
      {
        rule,
        ...(worst === 'WARN'
          ? { severity: onlySmall ? ('info' as const) : ('medium' as const) }
          : {}),
      },
    ),
  );
  out.push(
    tok04.length > 0
      ? result('SH-TOK-04', 'FAIL', tok04.join('; '), short)
      : result('SH-TOK-04', 'PASS', 'no time, counter or hash-of-known-data pattern found', short),
  );
  return out;
}
