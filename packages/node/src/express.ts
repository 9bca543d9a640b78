import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { SignInInput } from './authority.js';
import { splitTarget } from './bearer-url.js';
import type { CookieIssued, CookieSessionRequirements, CookieSessions } from './cookie-sessions.js';
import type { RequestView } from './http-request.js';
import { type Refusal, refusalBody } from './refusal.js';
import type { AuthenticatedRequest } from './request-session.js';
import type { BearerRequestView, BearerRequirements, SessionGuard } from './session-guard.js';
import { checkRequirementsOptions } from './session-requirements.js';

const sessions = new WeakMap<Request, AuthenticatedRequest>();

/** The session a middleware of this module accepted, or undefined on an unprotected route. */
export function expressSessionOf(request: Request): AuthenticatedRequest | undefined {
  return sessions.get(request);
}

/** @internal shared with the bearer middleware */
export function rememberExpressSession(request: Request, value: AuthenticatedRequest): void {
  sessions.set(request, value);
}

export function expressRequestView(request: Request): RequestView {
  return {
    method: request.method,
    header(name) {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

export function appendExpressCookies(response: Response, setCookies: string[]): void {
  for (const cookie of setCookies) response.append('set-cookie', cookie);
}

export function sendExpressRefusal(response: Response, refusal: Refusal): void {
  appendExpressCookies(response, refusal.setCookies);
  response.status(refusal.status).set(refusal.headers).json(refusalBody(refusal));
}

/**
 * Cookie mode for Express.
 *
 * @example
 * const cookies = expressCookieSessions(createCookieSessions({ authority, csrfSecret }));
 * app.get('/me', cookies.requireSession(), (req, res) => res.json(expressSessionOf(req)?.session));
 */
export function expressCookieSessions(core: CookieSessions) {
  return {
    core,
    /** Middleware that lets only requests with a live cookie session (and CSRF token) through. */
    requireSession(requirements: CookieSessionRequirements = {}): RequestHandler {
      checkRequirementsOptions(requirements);
      return (request: Request, response: Response, next: NextFunction) => {
        core.authenticate(expressRequestView(request), requirements).then((result) => {
          if (!result.ok) return sendExpressRefusal(response, result.refusal);
          appendExpressCookies(response, result.setCookies);
          if (result.setCookies.length > 0) response.set('cache-control', 'no-store');
          sessions.set(request, {
            session: result.session,
            csrfToken: result.csrfToken,
            mode: 'cookie',
          });
          next();
        }, next);
      };
    },
    /** Starts a new session in fresh cookies; null when it sent a refusal (a cross-site sign-in). */
    async signIn(
      request: Request,
      response: Response,
      input: SignInInput,
    ): Promise<CookieIssued | null> {
      const issued = await core.signIn(expressRequestView(request), input);
      if ('refusal' in issued) {
        sendExpressRefusal(response, issued.refusal);
        return null;
      }
      appendExpressCookies(response, issued.setCookies);
      response.set('cache-control', 'no-store');
      return issued;
    },
    async stepUp(
      request: Request,
      response: Response,
      authMethods: string[],
    ): Promise<CookieIssued | null> {
      const current = sessions.get(request);
      if (current === undefined)
        throw new Error('stepUp needs a route protected by requireSession()');
      const issued = await core.stepUp(current.session, authMethods);
      if (issued === null) return null;
      appendExpressCookies(response, issued.setCookies);
      response.set('cache-control', 'no-store');
      sessions.set(request, {
        session: issued.session,
        csrfToken: issued.csrfToken,
        mode: 'cookie',
      });
      return issued;
    },
    /** Ends the session server-side and clears the cookies; false when it sent a refusal. */
    async signOut(request: Request, response: Response): Promise<boolean> {
      const result = await core.signOut(expressRequestView(request));
      if (!result.ok) {
        sendExpressRefusal(response, result.refusal);
        return false;
      }
      appendExpressCookies(response, result.setCookies);
      response.set('cache-control', 'no-store');
      return true;
    },
  };
}

/** The bearer guard's view of an Express request. */
export function expressBearerView(request: Request): BearerRequestView {
  const { path, tokenInQuery } = splitTarget(request.originalUrl);
  return {
    ...expressRequestView(request),
    url: `${request.protocol}://${request.get('host')}${path}`,
    tokenInQuery,
  };
}

/**
 * `requireSession()` for Express: only requests with a live access token (and DPoP proof, for a
 * bound session) meeting the requirements reach the route; `expressSessionOf(req)` then has it.
 *
 * @example
 * const guard = createSessionGuard({ authority });
 * app.get('/profile', requireSession(guard), (req, res) => res.json({ user: expressSessionOf(req)!.session.userId }));
 */
export function requireSession(
  guard: SessionGuard,
  requirements: BearerRequirements = {},
): RequestHandler {
  checkRequirementsOptions(requirements);
  return (request: Request, response: Response, next: NextFunction) => {
    guard.check(expressBearerView(request), requirements).then((result) => {
      if (!result.ok) return sendExpressRefusal(response, result.refusal);
      sessions.set(request, {
        session: result.session,
        csrfToken: null,
        mode: result.scheme === 'DPoP' ? 'dpop' : 'bearer',
      });
      next();
    }, next);
  };
}
