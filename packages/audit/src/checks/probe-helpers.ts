import type { AuditContext, CredentialProfile } from '../audit-context.js';
import type { ProbeOutcome, Session } from '../session-agent.js';

/**
 * The presented credentials a check should test one at a time: those that authenticate alone.
 * When none does (the app needs several together), every presented credential is tested with the
 * others left intact, so a refusal can only come from the one that was changed.
 */
export function testedCredentials(ctx: AuditContext): CredentialProfile[] {
  const presented = ctx.profiles.filter((p) => p.presented);
  const sufficient = presented.filter((p) => p.sufficient);
  return sufficient.length > 0 ? sufficient : presented;
}

/** Probes with one credential replaced by `value` (alone if it is sufficient alone). */
export function probeWith(
  ctx: AuditContext,
  session: Session,
  name: string,
  value: string,
  priority = false,
): Promise<ProbeOutcome> {
  const profile = ctx.profiles.find((p) => p.name === name);
  return ctx.agent.probe(session, {
    ...(profile?.sufficient ? { only: [name] } : {}),
    override: { [name]: value },
    priority,
  });
}

/** One line of evidence for a probe, without any credential. */
export function describeProbe(what: string, outcome: ProbeOutcome): string {
  return `${what}: ${outcome.verdict} (${outcome.reason})`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Replays a credential that should be dead. A server whose revocation propagates through a cache
 * may accept it for a moment, so an AUTH is re-checked after `settleSeconds`: dead by then is a
 * WARN (delayed), still alive is a FAIL.
 */
export async function replayDead(
  ctx: AuditContext,
  session: Session,
  name: string,
  value: string,
  // Short enough that the idle timeout cannot be what kills the credential meanwhile.
  settleSeconds = Math.min(2, ctx.target.policy.idleTimeoutSeconds / 4),
): Promise<{ outcome: 'dead' | 'delayed' | 'alive' | 'inconclusive'; evidence: string }> {
  const first = await probeWith(ctx, session, name, value);
  if (first.verdict === 'UNAUTH')
    return { outcome: 'dead', evidence: describeProbe(`${name} ${ctx.fp(value)} replayed`, first) };
  if (first.verdict === 'INCONCLUSIVE')
    return {
      outcome: 'inconclusive',
      evidence: describeProbe(`${name} ${ctx.fp(value)} replayed`, first),
    };
  await sleep(settleSeconds * 1000);
  const second = await probeWith(ctx, session, name, value);
  const evidence = `${describeProbe(`${name} ${ctx.fp(value)} replayed`, first)}; again after ${settleSeconds} s: ${second.verdict} (${second.reason})`;
  if (second.verdict === 'UNAUTH') return { outcome: 'delayed', evidence };
  if (second.verdict === 'AUTH') return { outcome: 'alive', evidence };
  return { outcome: 'inconclusive', evidence };
}
