import { randomBytes, timingSafeEqual } from 'node:crypto';
import { OPERATOR_USER_PREFIX, type OperatorRecord, type Tessera } from '@tessera/core';
import {
  type CookieSessions,
  createCookieSessions,
  inProcessAuthority,
  type Refusal,
  type RequestView,
  type SessionView,
} from '@tessera/node';
import { fastifyRequestView } from '@tessera/node/fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The console's cookies: `__Host-tessera-console`, `…-refresh`, `…-csrf`. */
export const CONSOLE_COOKIE = 'tessera-console';
/** Operator sessions are of this tier (15 min idle, 12 h absolute by default). */
export const CONSOLE_POLICY = 'high';

/** A request the console let through: who, in which session, and the page's CSRF token. */
export interface SignedInOperator {
  operator: OperatorRecord;
  session: SessionView;
  csrfToken: string;
  /** Renewed token cookies after a transparent refresh: they must reach the browser. */
  setCookies: string[];
}

export type ConsoleRefusal =
  | { kind: 'signed_out'; setCookies: string[] }
  | { kind: 'refused'; refusal: Refusal };

/** A form field of a parsed urlencoded body, when it is one short string. */
export function formField(body: unknown, name: string, maxLength = 1024): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' && value.length <= maxLength ? value : undefined;
}

/**
 * The request as cookie mode sees it. A form posted without script carries the CSRF token in
 * its `csrf_token` field rather than the header; the check is the same HMAC token either way.
 */
export function consoleRequestView(request: FastifyRequest, headerName: string): RequestView {
  const base = fastifyRequestView(request);
  return {
    method: base.method,
    header(name) {
      const value = base.header(name);
      if (value !== undefined || name !== headerName) return value;
      return formField(request.body, 'csrf_token', 256);
    },
  };
}

/** One cookie's value from a `Cookie` header (names compared exactly, first one wins). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function appendCookies(reply: FastifyReply, setCookies: readonly string[]): void {
  for (const cookie of setCookies) reply.header('set-cookie', cookie);
}

/**
 * The console's sign-in state, on Tessera's own cookie mode (`@tessera/node`): `__Host-`
 * cookies, `Secure`, `HttpOnly`, `SameSite=Strict`, the HMAC CSRF token plus Fetch Metadata
 * and Origin checks on every state-changing request. The CSRF key is the store's console
 * secret, so that every node accepts the tokens of every other.
 */
export interface ConsoleSessions {
  cookies(): Promise<CookieSessions>;
  /**
   * The signed-in operator of a request, or why not. Beyond a live `high` session of an
   * `operator:` user, it asks for the console's CSRF cookie, which only the console can mint
   * for that session (HMAC under the secret): a session created for `operator:<id>` through the
   * backend API, whose tokens a service key holder would know, is not a console session.
   * Then the operator must exist and be enabled.
   */
  authenticate(request: FastifyRequest): Promise<SignedInOperator | ConsoleRefusal>;
}

export function createConsoleSessions(
  tessera: Tessera,
  options: { allowedOrigins?: string[] } = {},
): ConsoleSessions {
  let loading: Promise<CookieSessions> | undefined;
  const authority = inProcessAuthority(tessera);

  function cookies(): Promise<CookieSessions> {
    loading ??= tessera.store.consoleSecret(randomBytes(32).toString('base64url')).then((secret) =>
      createCookieSessions({
        authority,
        csrfSecret: secret,
        name: CONSOLE_COOKIE,
        sameSite: 'strict',
        ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
      }),
    );
    // A store that did not answer is asked again by the next request.
    loading.catch(() => {
      loading = undefined;
    });
    return loading;
  }

  return {
    cookies,
    async authenticate(request) {
      const core = await cookies();
      const result = await core.authenticate(consoleRequestView(request, core.csrfHeaderName), {
        policy: CONSOLE_POLICY,
        strict: true,
      });
      if (!result.ok) {
        return result.refusal.status === 401
          ? { kind: 'signed_out', setCookies: result.refusal.setCookies }
          : { kind: 'refused', refusal: result.refusal };
      }
      const { session } = result;
      // The browser sends the CSRF cookie with every request; a script (or an auditor) may
      // send the token in the header instead. Either proves the console minted this session.
      const expected = Buffer.from(result.csrfToken);
      const matches = (presented: string | undefined) =>
        presented !== undefined &&
        presented.length === expected.length &&
        timingSafeEqual(Buffer.from(presented), expected);
      const header = request.headers[core.csrfHeaderName];
      const minted =
        matches(cookieValue(request.headers.cookie, core.cookieNames.csrf)) ||
        matches(typeof header === 'string' ? header : undefined);
      const operatorId = session.userId.startsWith(OPERATOR_USER_PREFIX)
        ? session.userId.slice(OPERATOR_USER_PREFIX.length)
        : null;
      const operator =
        minted && operatorId !== null ? await tessera.store.getOperator(operatorId) : null;
      if (operator === null || operator.disabledAt !== null) {
        const signedOut = await core.signOut({ method: 'GET', header: () => undefined });
        return { kind: 'signed_out', setCookies: signedOut.ok ? signedOut.setCookies : [] };
      }
      return { operator, session, csrfToken: result.csrfToken, setCookies: result.setCookies };
    },
  };
}
