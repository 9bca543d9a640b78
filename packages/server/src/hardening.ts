import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/** Query parameter names OAuth clients use for tokens (RFC 6750 §2.3, which we do not allow). */
const TOKEN_PARAMETERS = new Set(['access_token', 'token', 'refresh_token']);
/** A Tessera credential prefix followed by enough base62 to be one (or a truncated one). */
const CREDENTIAL_SHAPE = /ts[akr]_[0-9A-Za-z]{8,}/;

/**
 * True when a URL carries a token: a token-named query parameter, or credential-shaped text
 * anywhere in the (decoded) path or query. URLs end up in proxy logs, browser history and
 * Referer headers, so a token there is already leaked: it is refused, never used
 * (DESIGN.md §2, RFC 6750 §5.3, RFC 9700 §4.3.2).
 */
export function urlCarriesToken(url: string): boolean {
  const queryStart = url.indexOf('?');
  if (queryStart !== -1) {
    for (const [name, value] of new URLSearchParams(url.slice(queryStart + 1))) {
      if (TOKEN_PARAMETERS.has(name.toLowerCase()) || CREDENTIAL_SHAPE.test(value)) return true;
    }
  }
  if (CREDENTIAL_SHAPE.test(url)) return true;
  if (!url.includes('%')) return false;
  try {
    return CREDENTIAL_SHAPE.test(decodeURIComponent(url));
  } catch {
    return false; // Not decodable: Fastify refuses it on its own (400).
  }
}

export interface HardeningOptions {
  /** Send `Strict-Transport-Security` (only meaningful over TLS). */
  hsts: boolean;
}

/**
 * An `onRequest` hook, the first one to run: it sets the security headers of every answer and
 * refuses a URL that carries a token before any route logic can see, use or log it.
 * `Cache-Control: no-store` and `Pragma: no-cache` go on every answer: RFC 6749 §5.1 requires
 * them wherever a token is answered, and one rule for all answers cannot be forgotten on a new
 * route.
 */
export function createHardeningHook(options: HardeningOptions) {
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  };
  if (options.hsts) headers['strict-transport-security'] = 'max-age=31536000; includeSubDomains';

  return function hardening(
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ) {
    reply.headers(headers);
    if (urlCarriesToken(request.url)) {
      // Worth an operator's attention (a client leaking tokens); the URL itself is not logged.
      request.log.warn({ method: request.method }, 'refused a URL carrying a token');
      reply.code(400).send({
        error: 'invalid_request',
        error_description:
          'a token was sent in the URL; it was not used. Send tokens only in the Authorization header or the body, and treat this one as leaked',
      });
      return;
    }
    done();
  };
}
