import { TesseraClientError } from './errors.js';
import type { SecureStorage } from './storage.js';

/** The token answer of `POST /v1/sessions` (from the app's backend) or `POST /v1/token`. */
export interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type?: string;
}

/** A monotonic source of milliseconds (`performance.now()` by default); never wall-clock time. */
export interface MonotonicClock {
  now(): number;
}

export interface TesseraClientOptions {
  /** The Tessera service, e.g. `https://auth.example.com`. */
  baseUrl: string;
  storage: SecureStorage;
  fetch?: typeof fetch;
  clock?: MonotonicClock;
  /** Refresh this long before the access token expires (default 30). */
  refreshMarginSeconds?: number;
  /** First wait before a failed logout revoke is retried; doubles up to 10 minutes (default 5). */
  revokeRetrySeconds?: number;
}

/** Why the user was signed out: a `tessera_reason`, `revoked` when the service gave none, or `logout`. */
export type SignOutReason = string;

export interface TesseraClient {
  /** Adopt the pair the app's backend got at sign-in. */
  setSession(answer: TokenAnswer): Promise<void>;
  /** `fetch` with `Authorization: Bearer`, refreshing once for all concurrent callers and retrying once. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Ends the session on the server, then locally; offline, locally at once and on the server later. */
  logout(): Promise<void>;
  /** Called on every sign-out with its reason; returns an unsubscribe function. */
  onSignOut(listener: (reason: SignOutReason) => void): () => void;
  /** Whether a refresh token is held. */
  isSignedIn(): Promise<boolean>;
}

/** The persisted record. `pendingParent` is set while a rotation is in flight (crash safety). */
interface SessionRecord {
  refreshToken: string;
  pendingParent?: string;
}

const SESSION_KEY = 'tessera.session';
const REVOKE_KEY = 'tessera.pendingRevoke';
const MAX_REVOKE_RETRY_MS = 10 * 60_000;

const defaultClock: MonotonicClock = { now: () => performance.now() };

/** Creates the app-side session client. See the package README for the rules it enforces. */
export function createTesseraClient(options: TesseraClientOptions): TesseraClient {
  const { storage } = options;
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const clock = options.clock ?? defaultClock;
  const marginMs = (options.refreshMarginSeconds ?? 30) * 1000;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const revokeRetryMs = (options.revokeRetrySeconds ?? 5) * 1000;

  // The access token lives in memory only: after a restart the first call refreshes.
  let access: { token: string; expiresAt: number } | null = null;
  let inflight: Promise<string> | null = null;
  let started: Promise<void> | null = null;
  let revokeNextAttemptAt = 0;
  let revokeDelayMs = revokeRetryMs;
  const listeners = new Set<(reason: SignOutReason) => void>();

  async function load(): Promise<SessionRecord | null> {
    const raw = await storage.get(SESSION_KEY);
    if (raw === null) return null;
    try {
      const parsed = JSON.parse(raw) as SessionRecord;
      return typeof parsed.refreshToken === 'string' ? parsed : null;
    } catch {
      return null;
    }
  }

  const save = (record: SessionRecord) => storage.set(SESSION_KEY, JSON.stringify(record));

  async function signOut(reason: SignOutReason): Promise<void> {
    access = null;
    await storage.delete(SESSION_KEY);
    for (const listener of listeners) listener(reason);
  }

  async function post(path: string, form: Record<string, string>): Promise<Response> {
    try {
      return await doFetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
    } catch (cause) {
      throw new TesseraClientError('network', `${path} unreachable`, { cause });
    }
  }

  async function readJson(response: Response): Promise<Record<string, unknown> | null> {
    try {
      const body = (await response.clone().json()) as unknown;
      return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }

  function adopt(answer: unknown): TokenAnswer {
    const a = answer as Partial<TokenAnswer> | null;
    if (
      a === null ||
      typeof a !== 'object' ||
      typeof a.access_token !== 'string' ||
      typeof a.refresh_token !== 'string' ||
      typeof a.expires_in !== 'number' ||
      !(a.expires_in > 0)
    ) {
      throw new TesseraClientError('invalid_response', 'not a token answer', { cause: answer });
    }
    // Relative to the monotonic clock at receipt: a wrong phone clock cannot shift it.
    access = { token: a.access_token, expiresAt: clock.now() + a.expires_in * 1000 };
    return a as TokenAnswer;
  }

  async function rotate(): Promise<string> {
    const record = await load();
    if (record === null) throw new TesseraClientError('not_signed_in', 'no session');
    // A rotation that never finished (answer lost, app killed) is retried with the same parent:
    // inside the grace window the server answers with the same pair, so nothing is lost.
    const parent = record.pendingParent ?? record.refreshToken;
    await save({ refreshToken: record.refreshToken, pendingParent: parent });
    const response = await post('/v1/token', {
      grant_type: 'refresh_token',
      refresh_token: parent,
    });
    const body = await readJson(response);
    if (response.ok) {
      const answer = adopt(body);
      // One write replaces the pair and drops the parent together.
      await save({ refreshToken: answer.refresh_token });
      return answer.access_token;
    }
    if (response.status === 400 && body?.['error'] === 'invalid_grant') {
      const reason =
        typeof body['tessera_reason'] === 'string' ? body['tessera_reason'] : 'revoked';
      await signOut(reason);
      throw new TesseraClientError('session_ended', `signed out: ${reason}`, {
        reason,
        cause: body,
      });
    }
    throw new TesseraClientError('invalid_response', `/v1/token answered ${response.status}`, {
      cause: body,
    });
  }

  /** Single flight: every caller that needs a refresh while one runs awaits that one. */
  function refresh(): Promise<string> {
    if (inflight === null) {
      inflight = rotate().finally(() => {
        inflight = null;
      });
    }
    return inflight;
  }

  async function flushRevokes(force = false): Promise<void> {
    if (!force && clock.now() < revokeNextAttemptAt) return;
    const raw = await storage.get(REVOKE_KEY);
    if (raw === null) return;
    let tokens: string[];
    try {
      tokens = JSON.parse(raw) as string[];
    } catch {
      tokens = [];
    }
    const left: string[] = [];
    for (const token of tokens) {
      if (!(await revokeOnServer(token))) left.push(token);
    }
    if (left.length === 0) {
      await storage.delete(REVOKE_KEY);
      revokeDelayMs = revokeRetryMs;
    } else {
      await storage.set(REVOKE_KEY, JSON.stringify(left));
      revokeNextAttemptAt = clock.now() + revokeDelayMs;
      revokeDelayMs = Math.min(revokeDelayMs * 2, MAX_REVOKE_RETRY_MS);
    }
  }

  /** True when the server took it (RFC 7009: 200 also for tokens it does not know). */
  async function revokeOnServer(token: string): Promise<boolean> {
    try {
      const response = await post('/v1/revoke', { token });
      return response.status < 500 && response.status !== 429;
    } catch {
      return false;
    }
  }

  function start(): Promise<void> {
    started ??= (async () => {
      await flushRevokes(true);
      const record = await load();
      if (record?.pendingParent !== undefined) {
        // Killed mid-rotation: finish it now with the parent (same pair within the grace window).
        await refresh().catch(() => undefined);
      }
    })().catch((error) => {
      started = null;
      throw error;
    });
    return started;
  }

  async function currentAccess(): Promise<string> {
    if (access !== null && clock.now() < access.expiresAt - marginMs) return access.token;
    return refresh();
  }

  function withToken(request: Request, token: string): Request {
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${token}`);
    return new Request(request, { headers });
  }

  async function send(request: Request): Promise<Response> {
    try {
      return await doFetch(request);
    } catch (cause) {
      throw new TesseraClientError('network', 'request failed', { cause });
    }
  }

  return {
    async setSession(answer) {
      await start();
      const adopted = adopt(answer);
      await save({ refreshToken: adopted.refresh_token });
    },

    async fetch(input, init) {
      await start();
      await flushRevokes();
      const resolved =
        typeof input === 'string' || input instanceof URL ? new URL(input, `${baseUrl}/`) : input;
      const original = new Request(resolved, init);
      const token = await currentAccess();
      const response = await send(withToken(original.clone(), token));
      if (response.status !== 401) return response;
      const body = await readJson(response);
      const challenge = response.headers.get('www-authenticate') ?? '';
      if (
        body?.['error'] === 'insufficient_user_authentication' ||
        challenge.includes('insufficient_user_authentication')
      ) {
        throw new TesseraClientError('step_up_required', 'the user must re-authenticate', {
          cause: { challenge, body },
        });
      }
      const reason =
        typeof body?.['tessera_reason'] === 'string' ? body['tessera_reason'] : undefined;
      if (reason !== undefined && reason !== 'access_token_expired') {
        await signOut(reason);
        throw new TesseraClientError('session_ended', `signed out: ${reason}`, {
          reason,
          cause: body,
        });
      }
      if (reason === undefined && (await load()) === null) return response;
      // Another caller may have rotated meanwhile: use its token rather than rotating again.
      const fresh =
        access !== null && access.token !== token && clock.now() < access.expiresAt - marginMs
          ? access.token
          : await refresh();
      return send(withToken(original, fresh));
    },

    async logout() {
      await start();
      const record = await load();
      access = null;
      const tokens = [record?.refreshToken, record?.pendingParent].filter(
        (t, i, all): t is string => t !== undefined && all.indexOf(t) === i,
      );
      const undelivered: string[] = [];
      for (const token of tokens) {
        if (!(await revokeOnServer(token))) undelivered.push(token);
      }
      await storage.delete(SESSION_KEY);
      if (undelivered.length > 0) {
        // Offline: the phone is signed out now; the server session ends on the next start or call.
        const raw = await storage.get(REVOKE_KEY);
        const queued = raw === null ? [] : (JSON.parse(raw) as string[]);
        await storage.set(REVOKE_KEY, JSON.stringify([...queued, ...undelivered]));
        revokeNextAttemptAt = 0;
      }
      for (const listener of listeners) listener('logout');
    },

    onSignOut(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    async isSignedIn() {
      return (await load()) !== null;
    },
  };
}
