import { type Clock, isWellFormedToken, systemClock } from '@tessera/core';
import {
  AuthorityUnavailableError,
  type AuthorityVerdict,
  type ForwardedProof,
  type IssuedPair,
  type SessionAuthority,
  type SignInInput,
} from './authority.js';
import { createIntrospectionCache, type IntrospectionCache } from './introspection-cache.js';
import type { SessionView } from './session-view.js';

export interface RemoteAuthorityOptions {
  /** The Tessera service, for example `https://sessions.internal:8080`. */
  baseUrl: string;
  /** A service key (`tsk_…`) with the `introspect` and `sessions:write` scopes. */
  serviceKey: string;
  /**
   * How long a positive introspection answer may be reused (0–30 s). This bounds how long a
   * session revoked elsewhere can still be accepted by this backend. Routes with `strict: true`
   * always ask the service.
   * @default 5
   */
  cacheTtlSeconds?: number;
  /** Give up on a service call after this long (then 503, never a pass). @default 3000 */
  requestTimeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default systemClock */
  clock?: Clock;
}

export interface RemoteAuthority extends SessionAuthority {
  /** The introspection cache (its size, for metrics and tests). */
  readonly cache: IntrospectionCache;
}

interface IssuedJson {
  session: {
    id: string;
    user_id: string;
    policy: string;
    authenticated_at: string;
    dpop_jkt?: string | null;
  };
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

type ProofRefused = AuthorityVerdict & { ok: false; reason: 'bad_proof' };

interface IntrospectionJson {
  active: boolean;
  sub?: string;
  sid?: string;
  exp?: number;
  auth_time?: number;
  policy?: string;
  token_type?: string;
  cnf?: { jkt?: string };
}

/**
 * Sessions checked through the Tessera service's HTTP API with a service key: RFC 7662
 * introspection for access tokens, `POST /v1/sessions` to sign in, `/v1/token`, `/v1/revoke`,
 * step-up and "end the user's sessions". Any transport failure, timeout, 5xx or refused service
 * key throws `AuthorityUnavailableError` (fail closed).
 *
 * @example
 * const authority = remoteAuthority({ baseUrl: 'http://127.0.0.1:8080', serviceKey: process.env.TESSERA_KEY! });
 */
export function remoteAuthority(options: RemoteAuthorityOptions): RemoteAuthority {
  const {
    serviceKey,
    cacheTtlSeconds = 5,
    requestTimeoutMs = 3000,
    fetch: fetchImpl = globalThis.fetch,
    clock = systemClock,
  } = options;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  if (!isWellFormedToken(serviceKey, 'service_key')) {
    throw new TypeError('serviceKey must be a Tessera service key (tsk_…)');
  }
  const cache = createIntrospectionCache(cacheTtlSeconds);

  async function call(
    path: string,
    init: { body: unknown; form?: boolean; withKey?: boolean },
  ): Promise<{ status: number; json: unknown; headers: Headers }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.withKey !== false) headers.authorization = `Bearer ${serviceKey}`;
    let body: string;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.body as Record<string, string>).toString();
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    let response: Response;
    try {
      response = await fetchImpl(`${baseUrl}${path}`, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (error) {
      throw new AuthorityUnavailableError(`the Tessera service did not answer ${path}`, {
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    if (
      response.status >= 500 ||
      response.status === 401 ||
      response.status === 403 ||
      response.status === 429
    ) {
      // 401/403: our service key is refused — a configuration fault, never a user's refusal.
      throw new AuthorityUnavailableError(
        `the Tessera service answered ${response.status} to ${path}: ${text.slice(0, 200)}`,
      );
    }
    let json: unknown = null;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new AuthorityUnavailableError(`the Tessera service answered ${path} with non-JSON`, {
          cause: error,
        });
      }
    }
    return { status: response.status, json, headers: response.headers };
  }

  function issuedView(answer: IssuedJson): IssuedPair {
    const { session } = answer;
    return {
      session: {
        sessionId: session.id,
        userId: session.user_id,
        policy: session.policy,
        authenticatedAt: Date.parse(session.authenticated_at),
        expiresAt: clock.now() + answer.expires_in * 1000,
        jkt: typeof session.dpop_jkt === 'string' ? session.dpop_jkt : null,
      },
      accessToken: answer.access_token,
      refreshToken: answer.refresh_token,
      expiresIn: answer.expires_in,
    };
  }

  async function introspect(
    accessToken: string,
    forwarded?: ForwardedProof,
  ): Promise<SessionView | null | ProofRefused> {
    const { status, json, headers } = await call('/v1/introspect', {
      body: {
        token: accessToken,
        ...(forwarded === undefined
          ? {}
          : { dpop_proof: forwarded.proof, dpop_htm: forwarded.method, dpop_htu: forwarded.url }),
      },
    });
    if (status === 400 && forwarded !== undefined) {
      // The service refused the forwarded proof (RFC 9449 §7.1 error codes).
      const refusal = json as { error?: string; error_description?: string } | null;
      const nonce = headers.get('dpop-nonce');
      return {
        ok: false,
        reason: 'bad_proof',
        proof: {
          error: refusal?.error === 'use_dpop_nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof',
          description: refusal?.error_description ?? 'the DPoP proof was refused',
          ...(nonce === null ? {} : { nonce }),
        },
      };
    }
    if (status !== 200 || json === null || typeof json !== 'object') {
      throw new AuthorityUnavailableError(`introspection answered ${status}`);
    }
    const answer = json as IntrospectionJson;
    // Only an active *access* token passes; a refresh token is never a bearer credential.
    if (answer.active !== true || answer.token_type === 'refresh_token') return null;
    if (
      typeof answer.sid !== 'string' ||
      typeof answer.sub !== 'string' ||
      typeof answer.exp !== 'number' ||
      typeof answer.auth_time !== 'number' ||
      typeof answer.policy !== 'string'
    ) {
      throw new AuthorityUnavailableError(
        'introspection answered an active token without sid, sub, exp, auth_time or policy',
      );
    }
    return {
      sessionId: answer.sid,
      userId: answer.sub,
      policy: answer.policy,
      authenticatedAt: answer.auth_time * 1000,
      expiresAt: answer.exp * 1000,
      jkt: typeof answer.cnf?.jkt === 'string' ? answer.cnf.jkt : null,
    };
  }

  return {
    cache,

    checksDpopProofs: true,

    async validate(accessToken, validateOptions = {}) {
      if (!isWellFormedToken(accessToken, 'access')) return { ok: false, reason: 'inactive' };
      const now = clock.now();
      const forwarded = validateOptions.dpopProof;
      if (forwarded !== undefined) {
        // Never cached: every proof is single-use, and its replay check is the service's.
        const checked = await introspect(accessToken, forwarded);
        if (checked === null) return { ok: false, reason: 'inactive' };
        if ('ok' in checked) return checked;
        return { ok: true, session: checked };
      }
      if (validateOptions.fresh !== true) {
        const cached = cache.get(accessToken, now);
        if (cached !== undefined) return { ok: true, session: cached };
      }
      const view = await introspect(accessToken);
      if (view !== null && 'ok' in view) throw new Error('a proof refusal without a proof');
      // RFC 7662 answers only active or not: expired, ended and unknown look the same here.
      if (view === null) return { ok: false, reason: 'inactive' };
      cache.put(accessToken, view, now);
      return { ok: true, session: view };
    },

    async refresh(refreshToken) {
      if (!isWellFormedToken(refreshToken, 'refresh')) return null;
      const { status, json } = await call('/v1/token', {
        body: { grant_type: 'refresh_token', refresh_token: refreshToken },
        form: true,
        withKey: false,
      });
      if (status === 400) return null;
      const answer = json as {
        access_token?: string;
        refresh_token?: string;
        expires_in?: number;
      } | null;
      if (
        status !== 200 ||
        typeof answer?.access_token !== 'string' ||
        typeof answer.refresh_token !== 'string'
      ) {
        throw new AuthorityUnavailableError(`the token endpoint answered ${status}`);
      }
      // The token answer carries no session; one introspection of the new token gives it.
      const view = await introspect(answer.access_token);
      if (view === null || 'ok' in view) return null;
      cache.put(answer.access_token, view, clock.now());
      return {
        session: view,
        accessToken: answer.access_token,
        refreshToken: answer.refresh_token,
        expiresIn: answer.expires_in ?? 0,
      };
    },

    async create(input: SignInInput) {
      const { status, json } = await call('/v1/sessions', {
        body: {
          user_id: input.userId,
          ...(input.policy === undefined ? {} : { policy: input.policy }),
          ...(input.authMethods === undefined ? {} : { auth_methods: input.authMethods }),
          ...(input.device === undefined
            ? {}
            : {
                device: {
                  ...(input.device.id === undefined ? {} : { id: input.device.id }),
                  ...(input.device.name === undefined ? {} : { name: input.device.name }),
                  ...(input.device.platform === undefined
                    ? {}
                    : { platform: input.device.platform }),
                  ...(input.device.appVersion === undefined
                    ? {}
                    : { app_version: input.device.appVersion }),
                },
              }),
          ...(input.ip === undefined ? {} : { ip: input.ip }),
          ...(input.userAgent === undefined ? {} : { user_agent: input.userAgent }),
          ...(input.dpopJkt === undefined ? {} : { dpop_jkt: input.dpopJkt }),
          ...(input.dpopProof === undefined
            ? {}
            : {
                dpop_proof: input.dpopProof.proof,
                dpop_htm: input.dpopProof.method,
                dpop_htu: input.dpopProof.url,
              }),
        },
      });
      if (status !== 201) {
        throw new Error(`POST /v1/sessions answered ${status}: ${JSON.stringify(json)}`);
      }
      return issuedView(json as IssuedJson);
    },

    async stepUp(sessionId, authMethods) {
      cache.forgetSession(sessionId);
      const { status, json } = await call(`/v1/sessions/${encodeURIComponent(sessionId)}/step-up`, {
        body: { auth_methods: authMethods },
      });
      if (status === 404) return null;
      if (status !== 200) throw new Error(`step-up answered ${status}: ${JSON.stringify(json)}`);
      return issuedView(json as IssuedJson);
    },

    async revoke(token) {
      if (isWellFormedToken(token, 'access')) cache.forgetToken(token);
      const { status } = await call('/v1/revoke', { body: { token }, form: true, withKey: false });
      if (status !== 200) throw new AuthorityUnavailableError(`revocation answered ${status}`);
    },

    async endUserSessions(userId, reason, endOptions = {}) {
      cache.forgetUser(userId);
      const { status, json } = await call(`/v1/users/${encodeURIComponent(userId)}/sessions/end`, {
        body: {
          reason,
          ...(endOptions.exceptSessionId === undefined
            ? {}
            : { except_session_id: endOptions.exceptSessionId }),
        },
      });
      if (status !== 200)
        throw new Error(`ending the user's sessions answered ${status}: ${JSON.stringify(json)}`);
      return (json as { ended: number }).ended;
    },
  };
}
