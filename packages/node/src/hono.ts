import type { Context, MiddlewareHandler } from 'hono';
import type { SignInInput } from './authority.js';
import type { CookieIssued, CookieSessionRequirements, CookieSessions } from './cookie-sessions.js';
import type { RequestView } from './http-request.js';
import { type Refusal, refusalBody } from './refusal.js';
import type { AuthenticatedRequest } from './request-session.js';
import type { BearerRequestView, BearerRequirements, SessionGuard } from './session-guard.js';
import { checkRequirementsOptions } from './session-requirements.js';

/** Context variables the Hono middleware sets: `c.get('tessera')`. */
export interface TesseraHonoVariables {
  tessera: AuthenticatedRequest;
}

export type TesseraHonoEnv = { Variables: TesseraHonoVariables };

/** The session a middleware of this module accepted, or undefined on an unprotected route. */
export function honoSessionOf(c: Context): AuthenticatedRequest | undefined {
  return c.get('tessera') as AuthenticatedRequest | undefined;
}

export function honoRequestView(c: Context): RequestView {
  return { method: c.req.method, header: (name) => c.req.header(name) };
}

export function appendHonoCookies(c: Context, setCookies: string[]): void {
  for (const cookie of setCookies) c.header('set-cookie', cookie, { append: true });
}

export function sendHonoRefusal(c: Context, refusal: Refusal): Response {
  appendHonoCookies(c, refusal.setCookies);
  for (const [name, value] of Object.entries(refusal.headers)) c.header(name, value);
  return c.json(refusalBody(refusal), refusal.status);
}

/**
 * Cookie mode for Hono.
 *
 * @example
 * const cookies = honoCookieSessions(createCookieSessions({ authority, csrfSecret }));
 * app.get('/me', cookies.requireSession(), (c) => c.json(honoSessionOf(c)?.session));
 */
export function honoCookieSessions(core: CookieSessions) {
  return {
    core,
    requireSession(
      requirements: CookieSessionRequirements = {},
    ): MiddlewareHandler<TesseraHonoEnv> {
      checkRequirementsOptions(requirements);
      return async (c, next) => {
        const result = await core.authenticate(honoRequestView(c), requirements);
        if (!result.ok) return sendHonoRefusal(c, result.refusal);
        appendHonoCookies(c, result.setCookies);
        if (result.setCookies.length > 0) c.header('cache-control', 'no-store');
        c.set('tessera', { session: result.session, csrfToken: result.csrfToken, mode: 'cookie' });
        await next();
      };
    },
    /** Starts a new session in fresh cookies; a refusal Response for a cross-site sign-in. */
    async signIn(c: Context, input: SignInInput): Promise<CookieIssued | Response> {
      const issued = await core.signIn(honoRequestView(c), input);
      if ('refusal' in issued) return sendHonoRefusal(c, issued.refusal);
      appendHonoCookies(c, issued.setCookies);
      c.header('cache-control', 'no-store');
      return issued;
    },
    async stepUp(c: Context, authMethods: string[]): Promise<CookieIssued | null> {
      const current = honoSessionOf(c);
      if (current === undefined)
        throw new Error('stepUp needs a route protected by requireSession()');
      const issued = await core.stepUp(current.session, authMethods);
      if (issued === null) return null;
      appendHonoCookies(c, issued.setCookies);
      c.header('cache-control', 'no-store');
      c.set('tessera', { session: issued.session, csrfToken: issued.csrfToken, mode: 'cookie' });
      return issued;
    },
    /** Ends the session server-side and clears the cookies; a refusal Response otherwise. */
    async signOut(c: Context): Promise<true | Response> {
      const result = await core.signOut(honoRequestView(c));
      if (!result.ok) return sendHonoRefusal(c, result.refusal);
      appendHonoCookies(c, result.setCookies);
      c.header('cache-control', 'no-store');
      return true;
    },
  };
}

/** The bearer guard's view of a Hono request. */
export function honoBearerView(c: Context): BearerRequestView {
  const url = new URL(c.req.url);
  return {
    ...honoRequestView(c),
    url: `${url.origin}${url.pathname}`,
    tokenInQuery: url.searchParams.has('access_token'),
  };
}

/**
 * `requireSession()` for Hono: only requests with a live access token (and DPoP proof, for a
 * bound session) meeting the requirements reach the route; `c.get('tessera')` then has it.
 *
 * @example
 * app.get('/profile', requireSession(guard), (c) => c.json({ user: c.get('tessera').session.userId }));
 */
export function requireSession(
  guard: SessionGuard,
  requirements: BearerRequirements = {},
): MiddlewareHandler<TesseraHonoEnv> {
  checkRequirementsOptions(requirements);
  return async (c, next) => {
    const result = await guard.check(honoBearerView(c), requirements);
    if (!result.ok) return sendHonoRefusal(c, result.refusal);
    c.set('tessera', {
      session: result.session,
      csrfToken: null,
      mode: result.scheme === 'DPoP' ? 'dpop' : 'bearer',
    });
    await next();
  };
}
