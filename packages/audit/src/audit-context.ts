import type { DecodedJwt } from './analysis/jwt.js';
import type { Scheduler } from './scheduler.js';
import type { Session, SessionAgent } from './session-agent.js';
import type { Target } from './target.js';

/** What the preflight learned about each credential of a fresh session. */
export interface CredentialProfile {
  name: string;
  /** `jwt` = a JWS with a JSON header (self-contained); `reference` = anything else (opaque). */
  shape: 'jwt' | 'reference';
  jwt: DecodedJwt | null;
  presented: boolean;
  /** True when presenting this credential alone is enough to be authenticated. */
  sufficient: boolean;
}

export interface RunOptions {
  quick: boolean;
  maxWaitSeconds: number;
  sampleSize: number;
}

/** Everything a check may use. Checks create their own sessions; none shares a session. */
export interface AuditContext {
  target: Target;
  agent: SessionAgent;
  scheduler: Scheduler;
  options: RunOptions;
  profiles: CredentialProfile[];
  env: Readonly<Record<string, string | undefined>>;
  /** Fingerprint of a secret, for evidence. */
  fp(secret: string): string;
  progress(line: string): void;
  /** Logs in and confirms the probe sees the new session as authenticated. */
  freshSession(
    label: string,
  ): Promise<{ ok: true; session: Session } | { ok: false; reason: string }>;
  /** Resolves once every timed check is done: CPU-heavy analysis waits for it, so it cannot
   * delay a timed probe by blocking the event loop. */
  timedChecksDone: Promise<void>;
  /** Seconds to wait that fit `--max-wait` and `--quick`, or the reason they do not. */
  waitAllowed(seconds: number): { ok: true } | { ok: false; reason: string };
}
