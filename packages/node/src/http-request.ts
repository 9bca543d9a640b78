/**
 * The little the framework-agnostic core needs from a request. Adapters build one from an
 * Express, Fastify or Hono request; header names are asked for in lower case.
 */
export interface RequestView {
  method: string;
  header(name: string): string | undefined;
}

/** Methods that must not change state (RFC 9110 §9.2.1): no CSRF check on them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}
