import { randomBytes } from 'node:crypto';
import { decodeJwt } from './analysis/jwt.js';
import type { AuditContext, CredentialProfile, RunOptions } from './audit-context.js';
import { CHECKS, type Severity, type Verdict } from './check-catalog.js';
import { type CheckResult, result } from './check-result.js';
import { checkCacheControl } from './checks/cache-control.js';
import { checkCookieAttributes } from './checks/cookie-attributes.js';
import { checkDeclaredLifetimes } from './checks/declared-lifetimes.js';
import { checkLogoutEverywhere, checkPasswordChange } from './checks/end-other-sessions.js';
import { checkJwtClaims } from './checks/jwt-claims.js';
import { checkJwtIntegrity } from './checks/jwt-integrity.js';
import { checkLoginRenewal } from './checks/login-renewal.js';
import { checkLogout } from './checks/logout.js';
import { checkRefreshGrace, checkRefreshRotation } from './checks/refresh-rotation.js';
import { checkAbsoluteTimeout, checkIdleTimeout } from './checks/timeouts.js';
import { checkTokenContent } from './checks/token-content.js';
import { checkTokenSampling } from './checks/token-sampling.js';
import { checkTokenValidation } from './checks/token-validation.js';
import { checkUrlExposure } from './checks/url-exposure.js';
import { AuditHttpError, createHttpClient } from './http-client.js';
import { createRedactor } from './redactor.js';
import { type AuditReport, VERSION } from './report.js';
import { createScheduler } from './scheduler.js';
import { createSessionAgent } from './session-agent.js';
import type { Target } from './target.js';

type CheckRunner = (ctx: AuditContext) => Promise<CheckResult[]>;

/** Check runners by phase. Timed checks start first so their waits overlap everything else. */
const TIMED: [string[], CheckRunner][] = [
  [['SH-TIME-02'], checkIdleTimeout],
  [['SH-TIME-03'], checkAbsoluteTimeout],
  [['SH-RT-01', 'SH-RT-02'], checkRefreshRotation],
];
const IMMEDIATE: [string[], CheckRunner][] = [
  [['SH-TOK-05'], checkTokenValidation],
  [['SH-JWT-01'], checkJwtIntegrity],
  [['SH-JWT-02'], checkJwtClaims],
  [['SH-LIFE-01'], checkLoginRenewal],
  [['SH-TERM-01', 'SH-TERM-02'], checkLogout],
  [['SH-TRN-01'], checkUrlExposure],
  [['SH-TRN-03'], checkCacheControl],
  [['SH-COOK-01'], checkCookieAttributes],
  [['SH-TOK-03'], checkTokenContent],
  [['SH-TIME-01'], checkDeclaredLifetimes],
  [['SH-RT-04'], checkRefreshGrace],
  [['SH-TOK-01', 'SH-TOK-02', 'SH-TOK-04'], checkTokenSampling],
];
/** These end every session of the user, so they run last, after the timed checks. */
const LAST: [string[], CheckRunner][] = [
  [['SH-TERM-04'], checkLogoutEverywhere],
  [['SH-TERM-06'], checkPasswordChange],
];

export interface RunAuditOptions {
  /** Skip checks that wait (idle/absolute timeouts; grace replays longer than 5 s). @default false */
  quick?: boolean;
  /** Longest wait a check may plan; longer ones are SKIPPED. @default the target's limits.max_wait_seconds */
  maxWaitSeconds?: number;
  /** Logins for the randomness sample. @default the target's limits.sample_size */
  sampleSize?: number;
  /** Run only these check ids. @default all */
  only?: string[];
  failOn?: Severity;
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress lines (stderr in the CLI). */
  onProgress?: (line: string) => void;
  /**
   * On SIGINT or SIGTERM, log out every session created so far, then exit with 130. For the
   * command line, where Ctrl-C during a long wait must not leave test sessions behind.
   * @default false
   */
  cleanupOnInterrupt?: boolean;
}

/** Why the audit could not run at all (exit code 2). */
export class AuditSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditSetupError';
  }
}

/**
 * Runs every selected check against a target and returns the report. Throws `AuditSetupError`
 * when the target cannot be audited at all (unreachable, login failing, an oracle that cannot
 * tell an authenticated answer from an anonymous one).
 *
 * @example
 * const loaded = loadTargetFile('target.yaml');
 * if (loaded.ok) console.log((await runAudit(loaded.target, { quick: true })).counts);
 */
export async function runAudit(
  target: Target,
  options: RunAuditOptions = {},
): Promise<AuditReport> {
  const {
    quick = false,
    maxWaitSeconds = target.limits.maxWaitSeconds,
    sampleSize = target.limits.sampleSize,
    only = [],
    failOn = 'high',
    env = process.env,
    onProgress = () => undefined,
    cleanupOnInterrupt = false,
  } = options;
  const started = new Date();
  const redactor = createRedactor(randomBytes(32));
  for (const s of target.secrets) redactor.register(s);
  const deadlineMs = started.getTime() + target.limits.timeBudgetSeconds * 1000;
  const http = createHttpClient({
    baseUrl: target.baseUrl,
    requestsPerSecond: target.limits.requestsPerSecond,
    maxRequests: target.limits.maxRequests,
    deadlineMs,
    requestTimeoutSeconds: target.limits.requestTimeoutSeconds,
    onWait: onProgress,
  });
  const agent = createSessionAgent({ target, http, redactor, env });
  // Safety rule (reference §3.5): the run logs out every session it created, also when it is
  // interrupted in the middle of a wait.
  const onInterrupt = (signal: NodeJS.Signals) => {
    onProgress(`${signal}: logging out the sessions this run created, then stopping`);
    void agent
      .cleanup()
      .catch(() => 0)
      .then((count) => {
        onProgress(`logged out ${count} session(s)`);
        process.exit(130);
      });
  };
  if (cleanupOnInterrupt) {
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onInterrupt);
  }
  const scheduler = createScheduler({ onProgress });
  const runOptions: RunOptions = { quick, maxWaitSeconds, sampleSize: Math.min(sampleSize, 20000) };
  const discovery: string[] = [];
  const results: CheckResult[] = [];
  let loggedOut = 0;
  let markTimedDone: () => void = () => undefined;
  const timedChecksDone = new Promise<void>((resolve) => {
    markTimedDone = resolve;
  });
  try {
    const profiles = await preflight(target, agent, discovery, onProgress);
    const ctx: AuditContext = {
      target,
      agent,
      scheduler,
      options: runOptions,
      profiles,
      env,
      fp: (s) => redactor.fingerprint(s),
      progress: onProgress,
      timedChecksDone,
      async freshSession(label) {
        const login = await agent.login();
        if (!login.ok) return { ok: false, reason: `login for ${label} failed: ${login.reason}` };
        const probe = await agent.probe(login.session);
        if (probe.verdict !== 'AUTH')
          return {
            ok: false,
            reason: `a fresh session for ${label} was not authenticated (${probe.reason})`,
          };
        return login;
      },
      waitAllowed(seconds) {
        if (quick && seconds > 5)
          return {
            ok: false,
            reason: `--quick skips waits (this one needs ${Math.ceil(seconds)} s)`,
          };
        if (seconds > maxWaitSeconds)
          return {
            ok: false,
            reason: `needs a ${Math.ceil(seconds)} s wait, more than --max-wait ${maxWaitSeconds} s`,
          };
        if (Date.now() + seconds * 1000 > deadlineMs)
          return {
            ok: false,
            reason: `needs a ${Math.ceil(seconds)} s wait, beyond the time budget`,
          };
        return { ok: true };
      },
    };
    const selected = (ids: string[]) => only.length === 0 || ids.some((id) => only.includes(id));
    const guarded = async ([ids, run]: [string[], CheckRunner]): Promise<CheckResult[]> => {
      if (!selected(ids)) return [];
      if (quick && (ids.includes('SH-TIME-02') || ids.includes('SH-TIME-03')))
        return ids.map((id) => result(id, 'SKIPPED', '--quick skips the timeout checks'));
      onProgress(`running ${ids.join(', ')}`);
      try {
        return await run(ctx);
      } catch (e) {
        const why =
          e instanceof AuditHttpError ? e.message : `the check crashed: ${(e as Error).message}`;
        return ids.map((id) => result(id, 'INCONCLUSIVE', redactor.redact(why)));
      }
    };
    const timed = Promise.all(TIMED.map(guarded)).finally(() => markTimedDone());
    for (const entry of IMMEDIATE) results.push(...(await guarded(entry)));
    for (const list of await timed) results.push(...list);
    for (const entry of LAST) results.push(...(await guarded(entry)));
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    scheduler.close();
    // Log out every session the run created, whatever happened above (reference §3.5).
    loggedOut = await agent.cleanup().catch(() => 0);
  }
  const order = CHECKS.map((c) => c.id);
  const filtered = results
    .filter((r) => only.length === 0 || only.includes(r.id))
    .sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  const redacted = filtered.map((r) => ({
    ...r,
    summary: redactor.redact(r.summary),
    evidence: r.evidence.map((e) => redactor.redact(e)),
  }));
  const counts: Record<Verdict, number> = {
    PASS: 0,
    FAIL: 0,
    WARN: 0,
    INCONCLUSIVE: 0,
    SKIPPED: 0,
  };
  for (const r of redacted) counts[r.verdict]++;
  const finished = new Date();
  return {
    tool: {
      name: 'tessera-audit',
      version: VERSION,
      informationUri: 'https://github.com/tessera/tessera/tree/main/packages/audit',
    },
    target: {
      name: target.name,
      baseUrl: target.baseUrl.href,
      policy: {
        profile: target.policy.profile,
        idleTimeoutSeconds: target.policy.idleTimeoutSeconds,
        absoluteTimeoutSeconds: target.policy.absoluteTimeoutSeconds,
        toleranceSeconds: target.policy.toleranceSeconds,
        refreshGraceSeconds: target.policy.refreshGraceSeconds,
      },
    },
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    requests: http.count,
    throttled: http.throttled,
    sessionsLoggedOut: loggedOut,
    fingerprintNote:
      'Credentials appear only as fp:<12 hex>, the first 12 hex digits of HMAC-SHA256 under a random salt drawn for this run and then discarded.',
    discovery: discovery.map((d) => redactor.redact(d)),
    options: { quick, maxWaitSeconds, sampleSize: runOptions.sampleSize, failOn, only },
    results: redacted,
    counts,
  };
}

/**
 * Proves the target file describes the target: it answers, the probe is refused anonymously,
 * login works, and the probe accepts the new session. Then classifies each credential (JWT or
 * reference) and finds which ones authenticate alone (WSTG-SESS-06 single-value dependency).
 */
async function preflight(
  target: Target,
  agent: ReturnType<typeof createSessionAgent>,
  discovery: string[],
  onProgress: (l: string) => void,
): Promise<CredentialProfile[]> {
  onProgress(`preflight: ${target.baseUrl.origin}`);
  let anonymous: Awaited<ReturnType<typeof agent.probe>>;
  try {
    anonymous = await agent.probe(null);
  } catch (e) {
    throw new AuditSetupError(`cannot reach ${target.baseUrl.origin}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  discovery.push(`anonymous probe: ${anonymous.verdict} (${anonymous.reason})`);
  if (anonymous.verdict === 'AUTH')
    throw new AuditSetupError(
      `the probe ${target.probe.method} ${target.probe.path} is answered as authenticated without any credential (${anonymous.reason}); make probe.authenticated stricter (e.g. body_contains the user name)`,
    );
  const login = await agent.login();
  if (!login.ok)
    throw new AuditSetupError(
      `login failed: ${login.reason}${login.answer ? ` (body starts: ${agent.redactor.redact(login.answer.body.slice(0, 120))})` : ''}`,
    );
  const probe = await agent.probe(login.session);
  if (probe.verdict !== 'AUTH')
    throw new AuditSetupError(
      `the probe does not recognise a fresh session as authenticated: ${probe.reason}; check probe.authenticated and the credential presentation`,
    );
  const s = login.session;
  const profiles: CredentialProfile[] = [];
  for (const rule of target.credentials) {
    const value = s.values.get(rule.name);
    if (value === undefined) {
      discovery.push(`${rule.name}: not found in the login answer`);
      continue;
    }
    const jwt = decodeJwt(value);
    const presented = rule.present.as !== 'none' && rule.kind !== 'refresh';
    let sufficient = false;
    if (presented) sufficient = (await agent.probe(s, { only: [rule.name] })).verdict === 'AUTH';
    profiles.push({
      name: rule.name,
      shape: jwt ? 'jwt' : 'reference',
      jwt,
      presented,
      sufficient,
    });
    discovery.push(
      `${rule.name} (${rule.kind}, from ${rule.from} ${rule.key}${presented ? `, presented as ${rule.present.as}` : ''}): ${jwt ? `JWT, alg ${String(jwt.header['alg'])}` : 'reference token'} ${agent.redactor.fingerprint(value)}, length ${value.length}${presented ? (sufficient ? ', authenticates alone' : ', not enough alone') : ''}`,
    );
  }
  await agent.logout(s).catch(() => undefined);
  return profiles;
}
