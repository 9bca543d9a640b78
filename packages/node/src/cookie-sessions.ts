import { type Clock, isWellFormedToken, systemClock } from '@tessera/core';
import { parse, serialize } from 'cookie';
import {
  AuthorityUnavailableError,
  type IssuedPair,
  type SessionAuthority,
  type SignInInput,
} from './authority.js';
import { type CookieAttributesOptions, resolveCookieAttributes } from './cookie-config.js';
import { createCsrfTokens } from './csrf-token.js';
import { isSafeMethod, type RequestView } from './http-request.js';
import { type Refusal, unavailable } from './refusal.js';
import { checkRequestOrigin, type OriginPolicyOptions } from './request-origin.js';
import { checkRequirements, type SessionRequirements } from './session-requirements.js';
import type { SessionView } from './session-view.js';
import { challenge } from './www-authenticate.js';

export interface CookieSessionsOptions extends CookieAttributesOptions, OriginPolicyOptions {
  /** Where sessions live: `inProcessAuthority(tessera)` or `remoteAuthority({ … })`. */
  authority: SessionAuthority;
  /** At least 32 random bytes; the key of the CSRF tokens. Rotating it signs every page out of CSRF. */
  csrfSecret: string | Uint8Array;
  /** Request header the page sends the CSRF token in. @default 'x-csrf-token' */
  csrfHeaderName?: string;
  /** `realm` of the `WWW-Authenticate` challenges. @default 'tessera' */
  realm?: string;
  /** @default systemClock */
  clock?: Clock;
}

/** Per-route options of cookie mode. */
export interface CookieSessionRequirements extends SessionRequirements {
  /** Skip every cache and ask the source of truth (revocation seen at once). @default false */
  strict?: boolean;
}

/** A signed-in request: the session, the page's CSRF token, and cookies to send (a refresh). */
export interface CookieAuthenticated {
  ok: true;
  session: SessionView;
  /** The token state-changing requests of this session must carry in the CSRF header. */
  csrfToken: string;
  /** Set-Cookie values to send with the answer (non-empty after a transparent refresh). */
  setCookies: string[];
}

export type CookieAuthResult = CookieAuthenticated | { ok: false; refusal: Refusal };

/** A new session in cookies: sign-in or step-up. */
export interface CookieIssued {
  session: SessionView;
  csrfToken: string;
  setCookies: string[];
}

/** The framework-agnostic core of cookie mode; adapters wrap it for Express, Fastify, Hono. */
export interface CookieSessions {
  readonly cookieNames: { session: string; csrf: string };
  readonly csrfHeaderName: string;
  /**
   * Reads the session cookie, refreshes the access token behind it when it has expired (the
   * engine's refresh: rotation, reuse detection, idle and absolute timeouts all apply), checks
   * Origin/Fetch Metadata and the CSRF token on state-changing methods, then the requirements.
   */
  authenticate(
    request: RequestView,
    requirements?: CookieSessionRequirements,
  ): Promise<CookieAuthResult>;
  /**
   * Creates a new session for a user the application has just authenticated and puts it in
   * fresh cookies. A session cookie the browser presented is never adopted (no fixation,
   * ASVS 5.0 7.2.4): its session is ended. A cross-site sign-in (Fetch Metadata / Origin) is
   * refused with 403 before anything happens: login CSRF would sign the victim's browser into
   * the attacker's account.
   */
  signIn(
    request: RequestView,
    input: SignInInput,
  ): Promise<CookieIssued | { ok: false; refusal: Refusal }>;
  /**
   * After the application re-authenticated the user of an authenticated request: new tokens,
   * new cookies and a new CSRF token (ASVS 5.0 7.2.4, RFC 9470). Null when the session ended.
   */
  stepUp(session: SessionView, authMethods: string[]): Promise<CookieIssued | null>;
  /**
   * Ends the session on the service (both tokens stop working) and clears the cookies. Needs a
   * valid CSRF token like any state-changing request; a dead or missing session just clears.
   */
  signOut(
    request: RequestView,
  ): Promise<{ ok: true; setCookies: string[] } | { ok: false; refusal: Refusal }>;
}

/**
 * The cookies carry both tokens, each in its own HttpOnly `__Host-` cookie (each stays a
 * standard Tessera token, which secret scanners recognise). Why both: the app's server needs no table of its own (the engine's store is the only session
 * state), a request whose access token has expired is refreshed on the spot with the refresh
 * token beside it, and the engine's rotation, reuse detection and timeouts keep applying as for
 * a phone. Concurrent requests with the same expired cookie all get the same new pair (the
 * engine's refresh grace window), so a page firing parallel requests is not signed out.
 */
export function createCookieSessions(options: CookieSessionsOptions): CookieSessions {
  const {
    authority,
    csrfHeaderName = 'x-csrf-token',
    realm = 'tessera',
    clock = systemClock,
  } = options;
  const attributes = resolveCookieAttributes(options);
  const csrf = createCsrfTokens(options.csrfSecret);
  const headerName = csrfHeaderName.toLowerCase();

  const tokenCookies = (pair: IssuedPair) => [
    serialize(attributes.sessionName, pair.accessToken, { ...attributes.base, httpOnly: true }),
    serialize(attributes.refreshName, pair.refreshToken, { ...attributes.base, httpOnly: true }),
  ];
  // Readable by the page's script (not HttpOnly) so it can copy it into the header: that is
  // the point of a double submit. It is worthless without the session cookie and the secret.
  const csrfCookie = (token: string) => serialize(attributes.csrfName, token, attributes.base);
  const cleared = [attributes.sessionName, attributes.refreshName, attributes.csrfName].map(
    (name) =>
      serialize(name, '', {
        ...attributes.base,
        httpOnly: name !== attributes.csrfName,
        maxAge: 0,
        expires: new Date(0),
      }),
  );

  function issuedCookies(pair: IssuedPair): CookieIssued {
    const csrfToken = csrf.tokenFor(pair.session);
    return {
      session: pair.session,
      csrfToken,
      setCookies: [...tokenCookies(pair), csrfCookie(csrfToken)],
    };
  }

  function readPair(
    request: RequestView,
  ): { access: string; refresh: string } | 'absent' | 'malformed' {
    const header = request.header('cookie');
    if (header === undefined) return 'absent';
    const cookies = parse(header);
    const access = cookies[attributes.sessionName];
    const refresh = cookies[attributes.refreshName];
    if ((access === undefined || access === '') && (refresh === undefined || refresh === '')) {
      return 'absent';
    }
    // Garbage, or one of the pair missing, is refused without a store read: both are always
    // set together, so a lone one was tampered with.
    if (!isWellFormedToken(access, 'access') || !isWellFormedToken(refresh, 'refresh')) {
      return 'malformed';
    }
    return { access, refresh };
  }

  function unauthenticated(
    description: string,
    error?: 'invalid_token',
    setCookies: string[] = [],
  ): Refusal {
    return {
      status: 401,
      error: error ?? 'invalid_token',
      description,
      headers: {
        'www-authenticate': challenge('Cookie', {
          realm,
          ...(error === undefined ? {} : { error, error_description: description }),
        }),
        'cache-control': 'no-store',
      },
      setCookies,
    };
  }

  function forbidden(description: string): Refusal {
    return {
      status: 403,
      error: 'csrf_failed',
      description,
      headers: { 'cache-control': 'no-store' },
      setCookies: [],
    };
  }

  /** The live session behind the cookie, refreshed if needed; no CSRF or requirement checks. */
  async function resolve(
    request: RequestView,
    strict: boolean,
  ): Promise<
    | {
        ok: true;
        session: SessionView;
        pair: { access: string; refresh: string };
        setCookies: string[];
      }
    | { ok: false; refusal: Refusal }
  > {
    const presented = readPair(request);
    if (presented === 'absent') return { ok: false, refusal: unauthenticated('sign in first') };
    if (presented === 'malformed') {
      return {
        ok: false,
        refusal: unauthenticated('the session cookie is not valid', 'invalid_token', cleared),
      };
    }
    try {
      const verdict = await authority.validate(presented.access, { fresh: strict });
      if (verdict.ok)
        return { ok: true, session: verdict.session, pair: presented, setCookies: [] };
      // Expired, or rotated by a parallel request a moment ago: the refresh token decides.
      // A refresh token that was rotated long ago is reuse, and the engine ends the session.
      const renewed = await authority.refresh(presented.refresh);
      if (renewed === null) {
        return {
          ok: false,
          refusal: unauthenticated('the session has ended', 'invalid_token', cleared),
        };
      }
      return {
        ok: true,
        session: renewed.session,
        pair: { access: renewed.accessToken, refresh: renewed.refreshToken },
        setCookies: tokenCookies(renewed),
      };
    } catch (error) {
      if (error instanceof AuthorityUnavailableError) return { ok: false, refusal: unavailable() };
      throw error;
    }
  }

  async function check(
    request: RequestView,
    requirements: CookieSessionRequirements,
  ): Promise<
    | (CookieAuthenticated & { pair: { access: string; refresh: string } })
    | { ok: false; refusal: Refusal }
  > {
    const unsafe = !isSafeMethod(request.method);
    if (unsafe) {
      // Cheap and store-free: a cross-site browser request stops here.
      const crossSite = checkRequestOrigin(request, options);
      if (crossSite !== null) return { ok: false, refusal: forbidden(crossSite) };
    }
    const resolved = await resolve(request, requirements.strict === true);
    if (!resolved.ok) return resolved;
    const csrfToken = csrf.tokenFor(resolved.session);
    if (unsafe && !csrf.verify(resolved.session, request.header(headerName))) {
      const refusal = forbidden(
        `a state-changing request needs the session's CSRF token in ${csrfHeaderName}`,
      );
      return { ok: false, refusal: { ...refusal, setCookies: resolved.setCookies } };
    }
    const unmet = checkRequirements(resolved.session, requirements, {
      now: clock.now(),
      scheme: 'Cookie',
      realm,
    });
    if (unmet !== null)
      return { ok: false, refusal: { ...unmet, setCookies: resolved.setCookies } };
    return {
      ok: true,
      session: resolved.session,
      csrfToken,
      setCookies: resolved.setCookies,
      pair: resolved.pair,
    };
  }

  async function authenticate(
    request: RequestView,
    requirements: CookieSessionRequirements = {},
  ): Promise<CookieAuthResult> {
    const result = await check(request, requirements);
    if (!result.ok) return result;
    const { pair: _tokens, ...authenticated } = result;
    return authenticated;
  }

  return {
    cookieNames: { session: attributes.sessionName, csrf: attributes.csrfName },
    csrfHeaderName: headerName,
    authenticate,

    async signIn(request, input) {
      const crossSite = checkRequestOrigin(request, options);
      if (crossSite !== null) return { ok: false, refusal: forbidden(crossSite) };
      const presented = readPair(request);
      // A cookie that came with the sign-in is never reused; its session (someone else's, or an
      // attacker's planted one) is ended so it cannot linger on this browser.
      if (typeof presented === 'object') await authority.revoke(presented.refresh);
      return issuedCookies(await authority.create(input));
    },

    async stepUp(session, authMethods) {
      const renewed = await authority.stepUp(session.sessionId, authMethods);
      return renewed === null ? null : issuedCookies(renewed);
    },

    async signOut(request) {
      const result = await check(request, {});
      if (!result.ok) {
        // Nothing live to protect: just forget the cookies. A CSRF or origin refusal stands
        // (a forged logout is a nuisance attack), as does "cannot tell".
        if (result.refusal.status === 401) return { ok: true, setCookies: cleared };
        return result;
      }
      try {
        // Revoking the current refresh token ends the whole session server-side (RFC 7009 as
        // the service implements it): both tokens stop working at once, on every node.
        await authority.revoke(result.pair.refresh);
      } catch (error) {
        if (error instanceof AuthorityUnavailableError)
          return { ok: false, refusal: unavailable() };
        throw error;
      }
      return { ok: true, setCookies: cleared };
    },
  };
}
