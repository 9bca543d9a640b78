import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { SignInInput } from './authority.js';
import { splitTarget } from './bearer-url.js';
import type { CookieIssued, CookieSessionRequirements, CookieSessions } from './cookie-sessions.js';
import type { RequestView } from './http-request.js';
import { type Refusal, refusalBody } from './refusal.js';
import type { AuthenticatedRequest } from './request-session.js';
import type { BearerRequestView, BearerRequirements, SessionGuard } from './session-guard.js';
import { checkRequirementsOptions } from './session-requirements.js';

const sessions = new WeakMap<FastifyRequest, AuthenticatedRequest>();

/** The session a `preHandler` of this module accepted, or undefined on an unprotected route. */
export function fastifySessionOf(request: FastifyRequest): AuthenticatedRequest | undefined {
  return sessions.get(request);
}

export function fastifyRequestView(request: FastifyRequest): RequestView {
  return {
    method: request.method,
    header(name) {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

function appendCookies(reply: FastifyReply, setCookies: string[]): void {
  // Fastify appends repeated set-cookie headers instead of replacing them.
  for (const cookie of setCookies) reply.header('set-cookie', cookie);
}

/** Sends a refusal; answer it from a hook with `return reply`. */
export function sendFastifyRefusal(reply: FastifyReply, refusal: Refusal): FastifyReply {
  appendCookies(reply, refusal.setCookies);
  return reply.code(refusal.status).headers(refusal.headers).send(refusalBody(refusal));
}

/**
 * Cookie mode for Fastify.
 *
 * @example
 * const cookies = fastifyCookieSessions(createCookieSessions({ authority, csrfSecret }));
 * app.post('/sign-in', async (request, reply) => { …check password…; return cookies.signIn(request, reply, { userId }); });
 * app.get('/me', { preHandler: cookies.requireSession() }, (request) => fastifySessionOf(request));
 */
export function fastifyCookieSessions(core: CookieSessions) {
  return {
    core,
    /** A `preHandler` that lets only requests with a live cookie session (and CSRF token) through. */
    requireSession(requirements: CookieSessionRequirements = {}): preHandlerAsyncHookHandler {
      checkRequirementsOptions(requirements);
      return async function requireTesseraCookie(request, reply) {
        const result = await core.authenticate(fastifyRequestView(request), requirements);
        if (!result.ok) return sendFastifyRefusal(reply, result.refusal);
        appendCookies(reply, result.setCookies);
        if (result.setCookies.length > 0) reply.header('cache-control', 'no-store');
        sessions.set(request, {
          session: result.session,
          csrfToken: result.csrfToken,
          mode: 'cookie',
        });
      };
    },
    /**
     * Starts a new session in fresh cookies; answers what the page needs (the CSRF token), or
     * null when it sent a refusal (a cross-site sign-in): then `return reply`.
     */
    async signIn(
      request: FastifyRequest,
      reply: FastifyReply,
      input: SignInInput,
    ): Promise<CookieIssued | null> {
      const issued = await core.signIn(fastifyRequestView(request), input);
      if ('refusal' in issued) {
        sendFastifyRefusal(reply, issued.refusal);
        return null;
      }
      appendCookies(reply, issued.setCookies);
      reply.header('cache-control', 'no-store');
      return issued;
    },
    /** Renews the tokens and the CSRF token after a re-authentication; null if the session ended. */
    async stepUp(
      request: FastifyRequest,
      reply: FastifyReply,
      authMethods: string[],
    ): Promise<CookieIssued | null> {
      const current = sessions.get(request);
      if (current === undefined)
        throw new Error('stepUp needs a route protected by requireSession()');
      const issued = await core.stepUp(current.session, authMethods);
      if (issued === null) return null;
      appendCookies(reply, issued.setCookies);
      reply.header('cache-control', 'no-store');
      sessions.set(request, {
        session: issued.session,
        csrfToken: issued.csrfToken,
        mode: 'cookie',
      });
      return issued;
    },
    /** Ends the session server-side and clears the cookies; false when it sent a refusal. */
    async signOut(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
      const result = await core.signOut(fastifyRequestView(request));
      if (!result.ok) {
        sendFastifyRefusal(reply, result.refusal);
        return false;
      }
      appendCookies(reply, result.setCookies);
      reply.header('cache-control', 'no-store');
      return true;
    },
  };
}

/** The bearer guard's view of a Fastify request. */
export function fastifyBearerView(request: FastifyRequest): BearerRequestView {
  const { path, tokenInQuery } = splitTarget(request.url);
  return {
    ...fastifyRequestView(request),
    url: `${request.protocol}://${request.host}${path}`,
    tokenInQuery,
  };
}

/**
 * `requireSession()` for Fastify, as a `preHandler`: only requests with a live access token (and
 * DPoP proof, for a bound session) meeting the requirements reach the route.
 *
 * @example
 * app.get('/profile', { preHandler: requireSession(guard, { policy: 'high' }) }, (request) => fastifySessionOf(request));
 */
export function requireSession(
  guard: SessionGuard,
  requirements: BearerRequirements = {},
): preHandlerAsyncHookHandler {
  checkRequirementsOptions(requirements);
  return async function requireTesseraSession(request, reply) {
    const result = await guard.check(fastifyBearerView(request), requirements);
    if (!result.ok) return sendFastifyRefusal(reply, result.refusal);
    sessions.set(request, {
      session: result.session,
      csrfToken: null,
      mode: result.scheme === 'DPoP' ? 'dpop' : 'bearer',
    });
  };
}
