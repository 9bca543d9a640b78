import { Ajv, type ErrorObject, type Options } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/*
 * Two ajv instances instead of Fastify's one. Bodies are JSON the client typed: nothing is
 * coerced ("1" is not a number), removed (an unknown field is an error, not silently dropped) or
 * defaulted. Query strings and path parameters are text by nature, so they are coerced
 * ("?limit=10" is the integer 10). `allErrors: false` stops at the first error: with all errors
 * a crafted body could make validation itself the expensive part.
 */
const shared: Options = {
  removeAdditional: false,
  useDefaults: false,
  allErrors: false,
  allowUnionTypes: true,
  // `format` appears in answer schemas for the OpenAPI document only.
  validateFormats: false,
};

/**
 * A Fastify validator compiler: strict for bodies, coercing for query strings, params, headers.
 *
 * @example
 * app.setValidatorCompiler(createValidatorCompiler());
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = new Ajv({ ...shared, coerceTypes: false });
  const coercing = new Ajv({ ...shared, coerceTypes: true });
  return ({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema as object);
}

/**
 * Turns the first ajv error into one sentence that names the field, such as
 * `body/user_id must be string` or `body/extra is not allowed`.
 *
 * @example
 * createServer({ schemaErrorFormatter: formatValidationError });
 */
export function formatValidationError(errors: ErrorObject[], dataVar: string): Error {
  const first = errors[0];
  if (!first) return new Error(`${dataVar} is invalid`);
  const path = dataVar + first.instancePath;
  const params = first.params as Record<string, unknown>;
  switch (first.keyword) {
    case 'additionalProperties':
      return new Error(`${path}/${String(params['additionalProperty'])} is not allowed`);
    case 'required':
      return new Error(`${path}/${String(params['missingProperty'])} is required`);
    case 'type': {
      const type = params['type'];
      const types = Array.isArray(type) ? type.filter((t) => t !== 'null') : [type];
      return new Error(`${path} must be ${types.join(' or ')}`);
    }
    case 'enum':
      return new Error(
        `${path} must be one of: ${(params['allowedValues'] as unknown[]).join(', ')}`,
      );
    default:
      return new Error(`${path} ${first.message ?? 'is invalid'}`);
  }
}
