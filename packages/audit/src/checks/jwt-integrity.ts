import { createPublicKey, randomBytes } from 'node:crypto';
import {
  COMMON_JWT_SECRETS,
  decodeJwt,
  findHmacSecret,
  forgeAlgConfusion,
  forgeAlgNone,
  signHs,
} from '../analysis/jwt.js';
import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';
import { describeProbe, probeWith } from './probe-helpers.js';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Public keys for the algorithm-confusion test: the declared PEM, and the keys of the JWKS at the
 * declared path (or, for an asymmetric token, at /.well-known/jwks.json on the same origin).
 */
async function publicKeys(
  ctx: AuditContext,
  asymmetric: boolean,
  evidence: string[],
): Promise<string[]> {
  const pems = ctx.target.jwt.publicKeyPem ? [ctx.target.jwt.publicKeyPem] : [];
  const path = ctx.target.jwt.jwksPath ?? (asymmetric ? '/.well-known/jwks.json' : undefined);
  if (!path) return pems;
  try {
    const answer = await ctx.agent.http.send({ method: 'GET', url: path });
    const keys =
      answer.status === 200 ? ((JSON.parse(answer.body) as { keys?: unknown[] }).keys ?? []) : [];
    for (const jwk of keys) {
      try {
        pems.push(
          createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
            .export({ type: 'spki', format: 'pem' })
            .toString(),
        );
      } catch {
        // A key Node cannot import (e.g. a symmetric one) is not a public key to confuse with.
      }
    }
    evidence.push(`JWKS ${path}: ${answer.status}, ${keys.length} key(s)`);
  } catch (e) {
    evidence.push(`JWKS ${path}: not readable (${(e as Error).message})`);
  }
  return pems;
}

/**
 * SH-JWT-01: forged JWTs must be refused: `alg: none` in its spellings, a changed payload under
 * the original signature, the signature removed, HS256 signed with the declared public key
 * (algorithm confusion), and anything signed with an HMAC key found in the shipped wordlist.
 */
export async function checkJwtIntegrity(ctx: AuditContext): Promise<CheckResult[]> {
  const jwts = ctx.profiles.filter((p) => p.presented && p.jwt);
  if (jwts.length === 0)
    return [result('SH-JWT-01', 'SKIPPED', 'not applicable: no presented credential is a JWT')];
  const fresh = await ctx.freshSession('SH-JWT-01');
  if (!fresh.ok) return [result('SH-JWT-01', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const evidence: string[] = [];
  const accepted: string[] = [];
  const weak: string[] = [];
  let inconclusive = 0;
  let confusionTested = false;
  for (const profile of jwts) {
    const value = session.values.get(profile.name);
    const jwt = value ? decodeJwt(value) : null;
    if (!value || !jwt) continue;
    const marker = `audit-${randomBytes(4).toString('hex')}`;
    const [h, , s] = value.split('.');
    const forged: { label: string; value: string }[] = [
      ...forgeAlgNone(jwt, { tessera_audit: marker }).map((v) => ({
        label: `alg "${decodeJwt(v)?.header['alg'] ?? 'none'}" with no signature`,
        value: v,
      })),
      {
        label: 'payload changed under the original signature',
        value: `${h}.${b64url({ ...jwt.payload, tessera_audit: marker })}.${s}`,
      },
      { label: 'signature removed', value: `${h}.${value.split('.')[1]}.` },
    ];
    const asymmetric = /^(RS|PS|ES|Ed)/.test(String(jwt.header['alg'] ?? ''));
    const pems = await publicKeys(ctx, asymmetric, evidence);
    for (const pem of pems) {
      for (const v of forgeAlgConfusion(jwt, pem))
        forged.push({ label: 'HS256 signed with the public key (algorithm confusion)', value: v });
    }
    if (pems.length > 0) confusionTested = true;
    const alg = String(jwt.header['alg'] ?? '');
    if (/^HS(256|384|512)$/.test(alg)) {
      const secret = findHmacSecret(jwt, COMMON_JWT_SECRETS);
      if (secret !== null) {
        const index = COMMON_JWT_SECRETS.indexOf(secret);
        weak.push(
          `${profile.name}: the ${alg} key is entry #${index + 1} of the shipped list of common secrets (${secret.length} characters)`,
        );
        forged.push({
          label: 'signed by the auditor with the guessed key',
          value: signHs(
            jwt.header,
            { ...jwt.payload, tessera_audit: marker },
            secret,
            alg as 'HS256' | 'HS384' | 'HS512',
          ),
        });
      } else {
        evidence.push(
          `${profile.name}: the ${alg} key is none of the ${COMMON_JWT_SECRETS.length} common secrets`,
        );
      }
    }
    for (const f of forged) {
      ctx.agent.redactor.register(f.value);
      const outcome = await probeWith(ctx, session, profile.name, f.value);
      evidence.push(describeProbe(`${profile.name} ${f.label}`, outcome));
      if (outcome.verdict === 'AUTH') accepted.push(`${profile.name}: ${f.label}`);
      if (outcome.verdict === 'INCONCLUSIVE') inconclusive++;
    }
    const control = await probeWith(ctx, session, profile.name, value);
    evidence.push(describeProbe(`${profile.name} unchanged (control)`, control));
    if (control.verdict !== 'AUTH')
      return [
        result(
          'SH-JWT-01',
          'INCONCLUSIVE',
          `the real ${profile.name} stopped working during the check, so refusals prove nothing`,
          evidence,
        ),
      ];
  }
  if (accepted.length > 0 || weak.length > 0) {
    const parts = [
      ...(accepted.length > 0 ? [`forged tokens accepted: ${accepted.join('; ')}`] : []),
      ...weak,
    ];
    return [result('SH-JWT-01', 'FAIL', parts.join('. '), evidence)];
  }
  if (inconclusive > 0)
    return [
      result(
        'SH-JWT-01',
        'INCONCLUSIVE',
        `${inconclusive} forged token(s) got an answer the oracle cannot classify`,
        evidence,
      ),
    ];
  return [
    result(
      'SH-JWT-01',
      'PASS',
      `every forged JWT was refused and the HMAC key is not a common secret${confusionTested ? '' : ' (algorithm confusion not tested: no public key declared or published)'}`,
      evidence,
    ),
  ];
}
