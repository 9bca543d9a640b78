import { isTesseraError } from '@tessera/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** An error answer: a status, an RFC 6749 §5.2-style code, and a fixed description (or none). */
interface ErrorMapping {
  status: number;
  error: string;
  /** Overrides the error's own message, which could echo request content. */
  description?: string;
}

/**
 * The one table from error codes to answers (STYLE.md: codes are API, messages may change).
 * Keys are `TesseraError` codes, Fastify error codes, and this package's own codes. Bad input
 * always lands on a 4xx row; only bugs and infrastructure reach a 5xx.
 */
const ERRORS: Readonly<Record<string, ErrorMapping>> = {
  // @tessera/core
  invalid_argument: { status: 400, error: 'invalid_request' },
  unknown_policy: { status: 400, error: 'invalid_request' },
  store_unavailable: {
    status: 503,
    error: 'temporarily_unavailable',
    description: 'the session store is unavailable; retry later',
  },
  store_conflict: { status: 409, error: 'conflict', description: 'conflicting write; retry' },
  invalid_config: { status: 500, error: 'server_error', description: 'internal error' },
  // Fastify: request validation and body parsing
  FST_ERR_VALIDATION: { status: 400, error: 'invalid_request' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    description:
      'send application/json (or application/x-www-form-urlencoded to the OAuth endpoints)',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    error: 'request_too_large',
    description: 'the body is larger than the limit',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    error: 'invalid_request',
    description: 'the body is empty but the content type is application/json',
  },
  // The parser's own message can quote the body (and a token in it): never echo it.
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    error: 'invalid_request',
    description: 'the body is not valid JSON',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    error: 'invalid_request',
    description: 'Content-Length does not match the body',
  },
  FST_ERR_BAD_URL: { status: 400, error: 'invalid_request', description: 'malformed URL' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, error: 'invalid_request', description: 'bad request' },
  // @fastify/rate-limit (see rate-limit.ts)
  rate_limited: { status: 429, error: 'too_many_requests' },
};

/** Any other client error Fastify raises (bad encoding, prototype poisoning, …). */
const OTHER_CLIENT_ERROR: ErrorMapping = {
  status: 400,
  error: 'invalid_request',
  description: 'the request is malformed',
};
const INTERNAL: ErrorMapping = {
  status: 500,
  error: 'server_error',
  description: 'internal error',
};

/** The answer for an error: from the table, or 400 for unlisted client errors, else 500. */
export function mapError(error: unknown): ErrorMapping & { description: string } {
  const code = isTesseraError(error) ? error.code : (error as FastifyError | undefined)?.code;
  const mapping =
    (code !== undefined && Object.hasOwn(ERRORS, code) ? ERRORS[code] : undefined) ??
    (isClientError(error) ? OTHER_CLIENT_ERROR : INTERNAL);
  return {
    ...mapping,
    description: mapping.description ?? (error as Error).message,
  };
}

function isClientError(error: unknown): boolean {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Fastify error handler: every thrown or rejected error becomes `{error, error_description}`
 * with the status from the table. 5xx are logged with the error; 4xx only at debug.
 */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { status, error: code, description } = mapError(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.debug({ code, status }, 'request refused');
  return reply.code(status).send({ error: code, error_description: description });
}

/** Unknown routes: a 404 in the same shape, without echoing the URL. */
export function notFoundHandler(_request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send({ error: 'not_found', error_description: 'no such route' });
}
