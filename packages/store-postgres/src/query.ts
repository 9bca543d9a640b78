import type { CustomTypesConfig, Pool, QueryResult, QueryResultRow } from 'pg';
import pg from 'pg';
import { toStoreError } from './sql-errors.js';

const INT8_OID = 20;

/**
 * Timestamps are epoch milliseconds in `bigint` columns, which `pg` returns as strings. Epoch
 * milliseconds stay far below 2^53, so they convert to numbers exactly. The parser is set per
 * query rather than on `pg.types`, which is global to the process and belongs to the
 * application.
 */
const types: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

export type Query = <R extends QueryResultRow = QueryResultRow>(
  text: string,
  values?: unknown[],
) => Promise<QueryResult<R>>;

/** One statement on the pool (its own implicit transaction), with our parsers and error codes. */
export function poolQuery(pool: Pool): Query {
  return async (text, values = []) => {
    try {
      return await pool.query({ text, values, types });
    } catch (error) {
      throw toStoreError(error);
    }
  };
}
