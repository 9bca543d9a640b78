import {
  createDpopProof,
  type DpopKeyHandle,
  type DpopKeyStore,
  defaultDpopKeyStore,
  jwkThumbprint,
  webCryptoDpopKey,
} from './dpop.js';
import { TesseraClientError } from './errors.js';
import type { SecureStorage } from './storage.js';

/** The token answer of `POST /v1/sessions` (from the app's backend) or `POST /v1/token`. */
export interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  /** `DPoP` when the session is bound to a key (RFC 9449 §5); `Bearer` otherwise. */
  token_type?: string;
  /** Present in the sign-in answer: lets `endSession` recognise the current session. */
  session?: { id: string };
}

/** A monotonic source of milliseconds (`performance.now()` by default); never wall-clock time. */
export interface MonotonicClock {
  now(): number;
}

/**
 * DPoP for this client: `true` for the default WebCrypto key (non-extractable P-256, kept in
 * IndexedDB in browsers, in memory elsewhere), `{ keyStore }` to keep that key somewhere else,
 * or a platform key handle (Secure Enclave, Android Keystore).
 */
export type DpopOption = true | { keyStore: DpopKeyStore } | DpopKeyHandle;

export interface TesseraClientOptions {
  /** The Tessera service, e.g. `https://auth.example.com`. */
  baseUrl: string;
  storage: SecureStorage;
  fetch?: typeof fetch;
  /** Judges access-token expiry; monotonic (default `performance.now()`). */
  clock?: MonotonicClock;
  /** Device time in ms since the epoch for DPoP `iat` (default `Date.now`). */
  wallClock?: () => number;
  /** Sign requests with a DPoP key (RFC 9449). Required for sessions bound to a key. */
  dpop?: DpopOption;
  /**
   * Origins `fetch` may send the access token to (default: the origin of `baseUrl`). Add the
   * app's API, e.g. `['https://api.example.com']`; any other origin is refused, so a stray URL
   * cannot leak the token to a third party.
   */
  resourceOrigins?: string[];
  /**
   * Accept plain `http:` origins that are not loopback (an emulator's `10.0.2.2`); never in
   * production. @default false
   */
  allowInsecureHttp?: boolean;
  /** Refresh this long before the access token expires (default 30). */
  refreshMarginSeconds?: number;
  /** First wait before a failed logout revoke is retried; doubles up to 10 minutes (default 5). */
  revokeRetrySeconds?: number;
}

/**
 * Why the user was signed out: `logout` (this device), or the service's `tessera_reason`
 * (`idle_timeout`, `absolute_timeout`, `refresh_token_reuse`, `logout`, `logout_all`, `admin`,
 * …), or `revoked` when the service gave no reason.
 */
export type SignOutReason = string;

/** One of the user's sessions, for a "your devices" screen. Times are for display only. */
export interface DeviceSession {
  id: string;
  /** The session this client holds. */
  current: boolean;
  policy: string;
  createdAt: string;
  lastActiveAt: string;
  authenticatedAt: string;
  idleExpiresAt: string;
  absoluteExpiresAt: string;
  authMethods: string[];
  device: {
    id: string | null;
    name: string | null;
    platform: string | null;
    appVersion: string | null;
    ip: string | null;
    userAgent: string | null;
  };
}

export interface TesseraClient {
  /** Adopt the pair the app's backend got at sign-in (`POST /v1/sessions`). */
  setSession(answer: TokenAnswer): Promise<void>;
  /**
   * `fetch` with the access token (`Authorization: Bearer`, or `DPoP` plus a proof), refreshing
   * once for all concurrent callers when the token is about to expire or a 401 says so, and
   * retrying each request once.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Ends the session on the server, then locally; offline, locally at once and on the server later. */
  logout(): Promise<void>;
  /** The user's live sessions, the current one marked. */
  sessions(): Promise<DeviceSession[]>;
  /** Ends one of the user's sessions (this one too: that is a logout). */
  endSession(id: string): Promise<void>;
  /** Ends every other session of the user; resolves to how many were ended. */
  endOtherSessions(): Promise<number>;
  /**
   * Resolves when the user authenticated within `maxAgeSeconds`; otherwise rejects with
   * `step_up_required` (the RFC 9470 challenge), so the app asks for the password again.
   */
  ensureFreshAuth(maxAgeSeconds: number): Promise<void>;
  /** The RFC 7638 thumbprint of the DPoP key, to send as `dpop_jkt` at sign-in. */
  jkt(): Promise<string>;
  /** A DPoP proof for a request the client does not send itself (the sign-in request). */
  dpopProof(method: string, url: string): Promise<string>;
  /** Retries queued logout revocations now (e.g. when the network comes back). True when none is left. */
  flushPendingRevokes(): Promise<boolean>;
  /** Called on every sign-out with its reason; returns an unsubscribe function. */
  onSignOut(listener: (reason: SignOutReason) => void): () => void;
  /** Whether a refresh token is held. */
  isSignedIn(): Promise<boolean>;
}

/** The persisted record. `pendingParent` is set while a rotation is in flight (crash safety). */
interface SessionRecord {
  refreshToken: string;
  pendingParent?: string;
  tokenType?: 'Bearer' | 'DPoP';
  sessionId?: string;
}

const SESSION_KEY = 'tessera.session';
const REVOKE_KEY = 'tessera.pendingRevoke';
const MAX_REVOKE_RETRY_MS = 10 * 60_000;

const defaultClock: MonotonicClock = { now: () => performance.now() };

type Json = Record<string, unknown>;

/** The part of the Web Locks API used here (`navigator.locks`). */
interface WebLocks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

function isKeyHandle(option: DpopOption): option is DpopKeyHandle {
  return typeof option === 'object' && 'sign' in option;
}

/** `max_age` of an RFC 9470 challenge. */
function maxAgeOf(challenge: string): number | undefined {
  const match = /max_age="?(\d+)"?/i.exec(challenge);
  return match ? Number(match[1]) : undefined;
}

function stepUp(challenge: string, body: Json | null, status: number): TesseraClientError {
  const maxAgeSeconds = maxAgeOf(challenge);
  return new TesseraClientError('step_up_required', 'the user must re-authenticate', {
    cause: { challenge, body },
    status,
    ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
  });
}

function failure(path: string, response: Response, body: Json | null): TesseraClientError {
  const status = response.status;
  if (status === 429 || status >= 500) {
    return new TesseraClientError('unavailable', `${path} answered ${status}`, {
      status,
      cause: body,
    });
  }
  return new TesseraClientError('invalid_response', `${path} answered ${status}`, {
    status,
    cause: body,
  });
}

/**
 * The app's storage with its failures as `storage_unavailable` (a Keychain item kept
 * `WHEN_UNLOCKED_THIS_DEVICE_ONLY` cannot be read while the device is locked, for instance).
 */
function guarded(storage: SecureStorage): SecureStorage {
  const wrap =
    <A extends unknown[], R>(verb: string, action: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await action(...args);
      } catch (cause) {
        throw new TesseraClientError(
          'storage_unavailable',
          `the secure storage failed to ${verb}`,
          {
            cause,
          },
        );
      }
    };
  return {
    get: wrap('read', (key: string) => storage.get(key)),
    set: wrap('write', (key: string, value: string) => storage.set(key, value)),
    delete: wrap('delete', (key: string) => storage.delete(key)),
  };
}

const LOOPBACK = /^(localhost|.+\.localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

/**
 * The origin of a configured URL. Tokens travel only over https (NIST SP 800-63B-4: sessions
 * never fall back to http); plain http is accepted for loopback hosts (local development) or
 * with `allowInsecureHttp`.
 */
function checkedOrigin(url: string, allowInsecureHttp: boolean): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TesseraClientError('invalid_config', `not an absolute URL: ${url}`);
  }
  const secure =
    parsed.protocol === 'https:' ||
    (parsed.protocol === 'http:' && (allowInsecureHttp || LOOPBACK.test(parsed.hostname)));
  if (!secure) {
    throw new TesseraClientError(
      'invalid_config',
      `${parsed.origin}: tokens are sent over https only (http is allowed for localhost, or with allowInsecureHttp)`,
    );
  }
  return parsed.origin;
}

/** Creates the app-side session client. See the package README for the rules it enforces. */
export function createTesseraClient(options: TesseraClientOptions): TesseraClient {
  const storage = guarded(options.storage);
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const clock = options.clock ?? defaultClock;
  const wallClock = options.wallClock ?? (() => Date.now());
  const marginMs = (options.refreshMarginSeconds ?? 30) * 1000;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const allowedOrigins = new Set(
    [baseUrl, ...(options.resourceOrigins ?? [])].map((o) =>
      checkedOrigin(o, options.allowInsecureHttp === true),
    ),
  );
  const revokeRetryMs = (options.revokeRetrySeconds ?? 5) * 1000;

  // The access token lives in memory only: after a restart the first call refreshes.
  let access: { token: string; expiresAt: number } | null = null;
  /** How the access token is presented: `DPoP` for a session bound to a key (RFC 9449 §7.1). */
  let tokenKind: 'Bearer' | 'DPoP' = 'Bearer';
  let inflight: Promise<string> | null = null;
  let started: Promise<void> | null = null;
  /** Bumped by every sign-out: a rotation that began before it must not bring the session back. */
  let epoch = 0;
  /** The current session's id, when known (sign-in answer, `sessions()`). */
  let currentSessionId: string | undefined;
  let revokeNextAttemptAt = 0;
  let revokeDelayMs = revokeRetryMs;
  let revokeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Whether revocations are queued; null until storage was read once. */
  let revokesQueued: boolean | null = null;
  /** Serializes every read-modify-write of the revoke queue. */
  let revokeQueue: Promise<unknown> = Promise.resolve();
  const nonces = new Map<string, string>();
  /** Server time minus device time, learned from a refused proof (see adjustClock). */
  let clockOffsetMs = 0;
  const listeners = new Set<(reason: SignOutReason) => void>();

  let dpopKey: Promise<DpopKeyHandle> | null = null;
  function key(): Promise<DpopKeyHandle> {
    const option = options.dpop;
    if (option === undefined) {
      return Promise.reject(
        new TesseraClientError('dpop_unavailable', 'this client has no DPoP key (option dpop)'),
      );
    }
    dpopKey ??= (
      isKeyHandle(option)
        ? Promise.resolve(option)
        : webCryptoDpopKey(option === true ? defaultDpopKeyStore() : option.keyStore)
    ).catch((error) => {
      dpopKey = null;
      throw error;
    });
    return dpopKey;
  }

  async function proof(method: string, url: string, accessToken?: string): Promise<string> {
    return createDpopProof(await key(), {
      htm: method,
      htu: url,
      iat: Math.floor((wallClock() + clockOffsetMs) / 1000),
      ...(accessToken === undefined ? {} : { accessToken }),
      ...withNonce(url),
    });
  }

  /**
   * After a refused proof: when the answer's `Date` shows the device clock more than 30 s away
   * from the server's, later proofs use the server's time (`iat` must be within the server's
   * window, RFC 9449 §4.3 check 11). True when that changed something, so a retry may help.
   */
  function adjustClock(response: Response): boolean {
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isNaN(date)) return false;
    const offset = date - wallClock();
    if (Math.abs(offset - clockOffsetMs) <= 30_000) return false;
    clockOffsetMs = offset;
    return true;
  }

  function withNonce(url: string): { nonce?: string } {
    const nonce = nonces.get(new URL(url).origin);
    return nonce === undefined ? {} : { nonce };
  }

  /** RFC 9449 §8: a `DPoP-Nonce` on any answer is the nonce for the next proof to that origin. */
  function rememberNonce(url: string, response: Response): boolean {
    const nonce = response.headers.get('dpop-nonce');
    if (nonce === null) return false;
    const origin = new URL(url).origin;
    const changed = nonces.get(origin) !== nonce;
    nonces.set(origin, nonce);
    return changed;
  }

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

  function emit(reason: SignOutReason): void {
    for (const listener of listeners) {
      try {
        listener(reason);
      } catch {
        // A listener's failure must not stop the sign-out nor the other listeners.
      }
    }
  }

  async function signOut(reason: SignOutReason): Promise<void> {
    epoch++;
    access = null;
    currentSessionId = undefined;
    await storage.delete(SESSION_KEY);
    emit(reason);
  }

  async function readJson(response: Response): Promise<Json | null> {
    try {
      const body = (await response.clone().json()) as unknown;
      return typeof body === 'object' && body !== null ? (body as Json) : null;
    } catch {
      return null;
    }
  }

  async function send(request: Request): Promise<Response> {
    let response: Response;
    try {
      response = await doFetch(request);
    } catch (cause) {
      throw new TesseraClientError('network', `${request.method} ${request.url} failed`, {
        cause,
      });
    }
    rememberNonce(request.url, response);
    return response;
  }

  function tokenType(value: unknown): 'Bearer' | 'DPoP' {
    return typeof value === 'string' && value.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
  }

  function checkAnswer(answer: unknown): TokenAnswer {
    const a = answer as Partial<TokenAnswer> | null;
    if (
      a === null ||
      typeof a !== 'object' ||
      typeof a.access_token !== 'string' ||
      typeof a.refresh_token !== 'string' ||
      typeof a.expires_in !== 'number' ||
      // 0 is an answer: a rotation replayed inside the grace window hands back the access token
      // minted at the rotation, with what is left of its life, possibly nothing. Its refresh
      // token is good, so the pair is kept and the next call refreshes again.
      !(a.expires_in >= 0)
    ) {
      throw new TesseraClientError('invalid_response', 'not a token answer', { cause: answer });
    }
    return a as TokenAnswer;
  }

  function adopt(answer: TokenAnswer, receivedAt: number): void {
    // Relative to the monotonic clock when the request was sent (never the server's absolute
    // times): a wrong phone clock cannot shift it, and network time only makes it earlier.
    tokenKind = tokenType(answer.token_type);
    access = { token: answer.access_token, expiresAt: receivedAt + answer.expires_in * 1000 };
  }

  /** `POST /v1/token` with the refresh token, a DPoP proof when bound, one nonce retry. */
  async function tokenRequest(parent: string, bound: boolean): Promise<Response> {
    const url = `${baseUrl}/v1/token`;
    let nonceRetried = false;
    let clockRetried = false;
    for (;;) {
      const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });
      if (bound) headers.set('dpop', await proof('POST', url));
      const response = await send(
        new Request(url, {
          method: 'POST',
          headers,
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: parent }),
        }),
      );
      if (!bound || response.status !== 400) return response;
      // A refused proof means the refresh token was not used: retrying is safe.
      const error = (await readJson(response))?.['error'];
      if (error === 'use_dpop_nonce' && !nonceRetried && response.headers.has('dpop-nonce')) {
        nonceRetried = true; // RFC 9449 §8: retry with the nonce just received
        continue;
      }
      if (error === 'invalid_dpop_proof' && !clockRetried && adjustClock(response)) {
        clockRetried = true; // the device clock is off: retry with the server's time
        continue;
      }
      return response;
    }
  }

  async function rotate(): Promise<string> {
    const startedIn = epoch;
    const record = await load();
    if (record === null) throw new TesseraClientError('not_signed_in', 'no session');
    // A rotation that never finished (answer lost, app killed) is retried with the same parent:
    // inside the grace window the server answers with the same pair, so nothing is lost.
    const parent = record.pendingParent ?? record.refreshToken;
    if (record.pendingParent === undefined) await save({ ...record, pendingParent: parent });
    const bound = record.tokenType === 'DPoP';
    const sentAt = clock.now();
    const response = await tokenRequest(parent, bound);
    const body = await readJson(response);
    if (epoch !== startedIn) {
      // Signed out meanwhile (logout, another refusal): whatever came back is not kept.
      throw new TesseraClientError('not_signed_in', 'signed out during the refresh');
    }
    if (response.ok) {
      const answer = checkAnswer(body);
      // One write replaces the pair and drops the parent together: the new refresh token is
      // stored before the old one is forgotten.
      const next: SessionRecord = {
        refreshToken: answer.refresh_token,
        tokenType: tokenType(answer.token_type),
      };
      if (record.sessionId !== undefined) next.sessionId = record.sessionId;
      await save(next);
      adopt(answer, sentAt);
      return answer.access_token;
    }
    if (response.status === 400 && body?.['error'] === 'invalid_grant') {
      const reason =
        typeof body['tessera_reason'] === 'string' ? body['tessera_reason'] : 'revoked';
      await signOut(reason);
      throw new TesseraClientError('session_ended', `signed out: ${reason}`, {
        reason,
        status: 400,
        cause: body,
      });
    }
    if (response.status === 400 && body?.['error'] === 'invalid_dpop_proof') {
      throw new TesseraClientError('dpop_proof_refused', 'the service refused the DPoP proof', {
        status: 400,
        cause: body,
      });
    }
    throw failure('/v1/token', response, body);
  }

  /**
   * Single flight: every caller that needs a refresh while one runs awaits that one. Where the
   * Web Locks API exists (browsers), rotations are also serialized across the tabs sharing the
   * storage, so two tabs never race with the same refresh token; each reads the latest token
   * from storage once it holds the lock.
   */
  function refresh(): Promise<string> {
    if (inflight === null) {
      const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
      const run = locks ? locks.request(`tessera.refresh:${baseUrl}`, rotate) : rotate();
      inflight = run.finally(() => {
        inflight = null;
      });
    }
    return inflight;
  }

  function withRevokeQueue<T>(action: () => Promise<T>): Promise<T> {
    const run = revokeQueue.then(action, action);
    revokeQueue = run.catch(() => undefined);
    return run;
  }

  async function readQueue(): Promise<string[]> {
    const raw = await storage.get(REVOKE_KEY);
    if (raw === null) return [];
    try {
      const parsed = JSON.parse(raw) as unknown;
      return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === 'string') : [];
    } catch {
      return [];
    }
  }

  /** The next attempt after `revokeDelayMs`, which then doubles (up to 10 minutes). */
  function backOff(): void {
    revokeNextAttemptAt = clock.now() + revokeDelayMs;
    scheduleRevokeRetry();
    revokeDelayMs = Math.min(revokeDelayMs * 2, MAX_REVOKE_RETRY_MS);
  }

  function scheduleRevokeRetry(): void {
    if (revokeTimer !== null) clearTimeout(revokeTimer);
    const timer = setTimeout(() => {
      revokeTimer = null;
      flushRevokes(true).catch(() => undefined); // its time has come, whatever `clock` says
    }, revokeDelayMs);
    // In Node, a queued retry must not keep the process alive on its own.
    (timer as { unref?: () => void }).unref?.();
    revokeTimer = timer;
  }

  /** Sends the queued revocations; true when none is left. */
  function flushRevokes(force = false): Promise<boolean> {
    return withRevokeQueue(async () => {
      if (revokesQueued === false) return true;
      if (!force && clock.now() < revokeNextAttemptAt) return false;
      const tokens = await readQueue();
      const left: string[] = [];
      for (const token of tokens) {
        if (!(await revokeOnServer(token))) left.push(token);
      }
      if (left.length === 0) {
        await storage.delete(REVOKE_KEY);
        revokesQueued = false;
        revokeDelayMs = revokeRetryMs;
        if (revokeTimer !== null) clearTimeout(revokeTimer);
        revokeTimer = null;
        return true;
      }
      await storage.set(REVOKE_KEY, JSON.stringify(left));
      revokesQueued = true;
      backOff();
      return false;
    });
  }

  /** True when the server took it (RFC 7009: 200 also for tokens it does not know). */
  async function revokeOnServer(token: string): Promise<boolean> {
    try {
      const response = await send(
        new Request(`${baseUrl}/v1/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }),
        }),
      );
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

  function fresh(): string | null {
    return access !== null && clock.now() < access.expiresAt - marginMs ? access.token : null;
  }

  async function currentAccess(): Promise<string> {
    return fresh() ?? refresh();
  }

  async function authorize(request: Request, token: string): Promise<Request> {
    const headers = new Headers(request.headers);
    // A session keeps its token type across rotations: bound sessions stay bound.
    if (tokenKind === 'DPoP') {
      headers.set('authorization', `DPoP ${token}`);
      headers.set('dpop', await proof(request.method, request.url, token));
    } else {
      headers.set('authorization', `Bearer ${token}`);
      headers.delete('dpop');
    }
    return new Request(request, { headers });
  }

  /** Sends with the token; one more time when the answer is a DPoP nonce challenge. */
  async function attempt(original: Request, token: string): Promise<Response> {
    let response = await send(await authorize(original.clone(), token));
    const challenge = () =>
      response.status === 401 ? (response.headers.get('www-authenticate') ?? '') : '';
    if (
      response.headers.has('dpop-nonce') &&
      /\bDPoP\b.*error="use_dpop_nonce"/i.test(challenge())
    ) {
      response = await send(await authorize(original.clone(), token));
    }
    if (
      tokenKind === 'DPoP' &&
      /\bDPoP\b.*error="invalid_dpop_proof"/i.test(challenge()) &&
      adjustClock(response)
    ) {
      response = await send(await authorize(original.clone(), token));
    }
    return response;
  }

  /**
   * What a 401 means: the error to throw (the session ended, step-up, a refused proof), or
   * undefined when it is not one of those (then an expired or unknown token, or the resource's
   * own refusal).
   */
  async function refusal(response: Response): Promise<TesseraClientError | undefined> {
    const body = await readJson(response);
    const challenge = response.headers.get('www-authenticate') ?? '';
    if (
      body?.['error'] === 'insufficient_user_authentication' ||
      /error="insufficient_user_authentication"/i.test(challenge)
    ) {
      return stepUp(challenge, body, response.status);
    }
    if (body?.['error'] === 'invalid_dpop_proof' || /error="invalid_dpop_proof"/i.test(challenge)) {
      return new TesseraClientError('dpop_proof_refused', 'the DPoP proof was refused', {
        status: 401,
        cause: { challenge, body },
      });
    }
    const reason = typeof body?.['tessera_reason'] === 'string' ? body['tessera_reason'] : null;
    if (reason !== null && reason !== 'access_token_expired') {
      await signOut(reason);
      return new TesseraClientError('session_ended', `signed out: ${reason}`, {
        reason,
        status: 401,
        cause: body,
      });
    }
    return undefined;
  }

  /** RFC 6750 §3.1: only `invalid_token` says a new access token may help. */
  function tokenRefused(response: Response, body: Json | null): boolean {
    return (
      body?.['error'] === 'invalid_token' ||
      /error="invalid_token"/i.test(response.headers.get('www-authenticate') ?? '')
    );
  }

  async function authorizedFetch(input: string | URL | Request, init?: RequestInit) {
    await start();
    if (revokesQueued !== false) await flushRevokes();
    const resolved =
      typeof input === 'string' || input instanceof URL ? new URL(input, `${baseUrl}/`) : input;
    const original = new Request(resolved, init);
    const origin = new URL(original.url).origin;
    if (!allowedOrigins.has(origin)) {
      throw new TesseraClientError(
        'origin_not_allowed',
        `${origin} is not in resourceOrigins: the access token is not sent there`,
      );
    }
    const token = await currentAccess();
    const response = await attempt(original, token);
    if (response.status !== 401) return response;
    const refused = await refusal(response);
    if (refused !== undefined) throw refused;
    // A 401 that is not about the token (a bare challenge, the API's own rule) is the caller's.
    if (!tokenRefused(response, await readJson(response))) return response;
    if ((await load()) === null) return response;
    // Another caller may have rotated meanwhile: use its token rather than rotating again.
    const current = fresh();
    const next = current !== null && current !== token ? current : await refresh();
    const retried = await attempt(original, next);
    if (retried.status === 401) {
      const again = await refusal(retried);
      if (again !== undefined) throw again;
    }
    return retried;
  }

  /** A call to the service's own client routes, answered with JSON. */
  async function serviceCall(method: string, path: string): Promise<Json> {
    const response = await authorizedFetch(`${baseUrl}${path}`, { method });
    const body = await readJson(response);
    if (response.ok && body !== null) return body;
    if (response.status === 401) {
      // Refused even right after a refresh, without a reason: the session is of no use.
      await signOut('revoked');
      throw new TesseraClientError('session_ended', 'the service refused the session', {
        reason: 'revoked',
        status: 401,
        cause: body,
      });
    }
    if (response.status === 404) {
      throw new TesseraClientError('not_found', `${path}: no such session`, {
        status: 404,
        cause: body,
      });
    }
    throw failure(path, response, body);
  }

  function deviceSession(json: Json): DeviceSession {
    const device = (json['device'] ?? {}) as Json;
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    return {
      id: String(json['id']),
      current: json['current'] === true,
      policy: String(json['policy']),
      createdAt: String(json['created_at']),
      lastActiveAt: String(json['last_active_at']),
      authenticatedAt: String(json['authenticated_at']),
      idleExpiresAt: String(json['idle_expires_at']),
      absoluteExpiresAt: String(json['absolute_expires_at']),
      authMethods: Array.isArray(json['auth_methods']) ? json['auth_methods'].map(String) : [],
      device: {
        id: text(device['id']),
        name: text(device['name']),
        platform: text(device['platform']),
        appVersion: text(device['app_version']),
        ip: text(device['ip']),
        userAgent: text(device['user_agent']),
      },
    };
  }

  return {
    async setSession(answer) {
      await start();
      const checked = checkAnswer(answer);
      const type = tokenType(checked.token_type);
      if (type === 'DPoP') await key(); // a bound session is useless without its key
      epoch++; // a rotation of an earlier session still in flight must not overwrite this one
      const record: SessionRecord = { refreshToken: checked.refresh_token, tokenType: type };
      const id = checked.session?.id;
      if (typeof id === 'string') record.sessionId = id;
      currentSessionId = record.sessionId;
      await save(record);
      adopt(checked, clock.now());
    },

    fetch: authorizedFetch,

    async logout() {
      await start();
      const record = await load();
      epoch++;
      access = null;
      currentSessionId = undefined;
      const tokens = [record?.refreshToken, record?.pendingParent].filter(
        (t, i, all): t is string => t !== undefined && all.indexOf(t) === i,
      );
      const undelivered: string[] = [];
      for (const token of tokens) {
        if (!(await revokeOnServer(token))) undelivered.push(token);
      }
      if (undelivered.length > 0) {
        // Offline: queue the revocation first (persisted), then sign the phone out at once;
        // the server session ends on the next start, call, timer or flushPendingRevokes().
        await withRevokeQueue(async () => {
          const queued = await readQueue();
          await storage.set(REVOKE_KEY, JSON.stringify([...queued, ...undelivered]));
          revokesQueued = true;
          backOff();
        });
      }
      await storage.delete(SESSION_KEY);
      if (record !== null) emit('logout');
    },

    async sessions() {
      const body = await serviceCall('GET', '/v1/sessions');
      const list = Array.isArray(body['sessions']) ? (body['sessions'] as Json[]) : null;
      if (list === null) throw new TesseraClientError('invalid_response', 'not a session list');
      const sessions = list.map(deviceSession);
      currentSessionId = sessions.find((s) => s.current)?.id ?? currentSessionId;
      return sessions;
    },

    async endSession(id) {
      if (id === '' || /[/?#]/.test(id)) {
        throw new TesseraClientError('not_found', 'not a session id');
      }
      await serviceCall('DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
      if (id === (currentSessionId ?? (await load())?.sessionId)) await signOut('logout');
    },

    async endOtherSessions() {
      const body = await serviceCall('DELETE', '/v1/sessions');
      return typeof body['ended'] === 'number' ? body['ended'] : 0;
    },

    async ensureFreshAuth(maxAgeSeconds) {
      if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0) {
        throw new RangeError('maxAgeSeconds must be a whole number of seconds, 0 or more');
      }
      await serviceCall('GET', `/v1/session?max_auth_age=${maxAgeSeconds}`);
    },

    async jkt() {
      return jwkThumbprint((await key()).publicJwk);
    },

    dpopProof: (method, url) => proof(method, url),

    async flushPendingRevokes() {
      return flushRevokes(true);
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
