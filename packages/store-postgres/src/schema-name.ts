import { TesseraError } from '@tessera/core';

/**
 * Schema names are spliced into SQL as identifiers (parameters cannot name a table), so only a
 * conservative shape is accepted: this is what keeps the splice free of injection. The length
 * leaves room for the `_invalidate` suffix of the NOTIFY channel within PostgreSQL's 63-byte
 * identifier limit.
 */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

export interface SchemaNames {
  /** The schema as a quoted identifier, ready to prefix table names: `"tessera"`. */
  quoted: string;
  /** The NOTIFY/LISTEN channel for session invalidations: `tessera_invalidate`. */
  channel: string;
}

export function schemaNames(schema: string): SchemaNames {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new TesseraError(
      'invalid_config',
      `schema must match ${SCHEMA_NAME} (got ${JSON.stringify(schema)})`,
    );
  }
  return { quoted: `"${schema}"`, channel: `${schema}_invalidate` };
}
