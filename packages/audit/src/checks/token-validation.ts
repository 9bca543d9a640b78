import { randomBytes } from 'node:crypto';
import { signHs } from '../analysis/jwt.js';
import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import { flipChar, referenceVariants, type TokenVariant } from '../token-variants.js';
import { describeProbe, probeWith, testedCredentials } from './probe-helpers.js';

function jwtVariants(
  token: string,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): TokenVariant[] {
  const [h = '', p = '', s = ''] = token.split('.');
  const mid = (text: string) => Math.floor(text.length / 2);
  const flip = (text: string, i: number) =>
    text.slice(0, i) + flipChar(text[i] ?? 'a') + text.slice(i + 1);
  return [
    { label: 'signature: one character changed', value: `${h}.${p}.${flip(s, mid(s))}` },
    { label: 'signature truncated by two characters', value: `${h}.${p}.${s.slice(0, -2)}` },
    {
      label: 'never issued (same claims, signed with a random key)',
      value: signHs({ ...header, alg: 'HS256' }, payload, randomBytes(32)),
    },
    { label: 'empty value', value: '' },
  ];
}

/**
 * SH-TOK-05: every presented credential is replayed tampered (one character changed in its random
 * part), truncated, never issued and empty. Each must be refused; a control probe with the real
 * value afterwards proves the session was alive all along, so a refusal means something.
 */
export async function checkTokenValidation(ctx: AuditContext): Promise<CheckResult[]> {
  const fresh = await ctx.freshSession('SH-TOK-05');
  if (!fresh.ok) return [result('SH-TOK-05', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const evidence: string[] = [];
  const accepted: string[] = [];
  let inconclusive = 0;
  for (const profile of testedCredentials(ctx)) {
    const value = session.values.get(profile.name);
    if (value === undefined) continue;
    const variants = profile.jwt
      ? jwtVariants(value, profile.jwt.header, profile.jwt.payload)
      : referenceVariants(value);
    for (const variant of variants) {
      ctx.agent.redactor.register(variant.value);
      const outcome = await probeWith(ctx, session, profile.name, variant.value);
      evidence.push(describeProbe(`${profile.name} ${variant.label}`, outcome));
      if (outcome.verdict === 'AUTH') accepted.push(`${profile.name} ${variant.label}`);
      if (outcome.verdict === 'INCONCLUSIVE') inconclusive++;
    }
    const control = await probeWith(ctx, session, profile.name, value);
    evidence.push(describeProbe(`${profile.name} unchanged (control)`, control));
    if (control.verdict !== 'AUTH') {
      return [
        result(
          'SH-TOK-05',
          'INCONCLUSIVE',
          `the unchanged ${profile.name} was no longer accepted after the variants, so their refusals prove nothing`,
          evidence,
        ),
      ];
    }
  }
  if (accepted.length > 0) {
    return [
      result(
        'SH-TOK-05',
        'FAIL',
        `the server accepted a credential it never issued: ${accepted.join('; ')}`,
        evidence,
      ),
    ];
  }
  if (inconclusive > 0)
    return [
      result(
        'SH-TOK-05',
        'INCONCLUSIVE',
        `${inconclusive} variant(s) got an answer the oracle cannot classify`,
        evidence,
      ),
    ];
  return [
    result(
      'SH-TOK-05',
      'PASS',
      'every tampered, truncated, never-issued and empty credential was refused',
      evidence,
    ),
  ];
}
