import { usageError } from './errors.js';

/** Where sessions live, as parsed from `--store`, `TESSERA_STORE` or the config file's `store`. */
export type StoreLocation =
  | { kind: 'sqlite'; path: string }
  | {
      kind: 'redis';
      /** The URL handed to the client, without Tessera's own parameters. */
      url: string;
      /** Key prefix (`?prefix=`), so several deployments can share one Redis. */
      prefix: string | undefined;
    }
  | {
      kind: 'redis-cluster';
      url: string;
      /** `host:port` of each seed node. */
      nodes: string[];
      prefix: string | undefined;
    }
  | {
      kind: 'postgres';
      url: string;
      /** Schema that holds Tessera's tables (`?schema=`). */
      schema: string | undefined;
    };

const SUPPORTED =
  'use sqlite:PATH, redis://HOST:PORT, redis+cluster://HOST1:PORT1,HOST2:PORT2 or postgres://USER@HOST:PORT/DB';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
// No braces: the store wraps keys in its own `{…}` hash tags for Redis Cluster.
const PREFIX = /^[A-Za-z0-9_:.-]{1,64}$/;

/**
 * Parses a store URL. `source` names where it came from (`--store`, `TESSERA_STORE`, `store in
 * ./tessera.json`) so that the message says what to fix.
 *
 * @example
 * parseStoreUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7000?prefix=app1:');
 * // { kind: 'redis-cluster', nodes: ['10.0.0.1:7000', '10.0.0.2:7000'], prefix: 'app1:', … }
 */
export function parseStoreUrl(value: string, source = 'store'): StoreLocation {
  const bad = (why: string) => usageError(`${source}: ${why} — ${SUPPORTED}`);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (!scheme) throw bad(`"${value}" is not a store URL`);

  if (scheme === 'sqlite') {
    // `sqlite:./x.db`, `sqlite:/abs/x.db` and `sqlite:///abs/x.db` all name a file.
    let path = value.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path.length === 0) throw bad('sqlite: needs a file path, for example sqlite:./tessera.db');
    return { kind: 'sqlite', path };
  }

  if (scheme === 'redis' || scheme === 'rediss') {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw bad(`"${redactStoreUrl(value)}" is not a valid URL`);
    }
    if (!url.hostname) throw bad('a Redis URL needs a host, for example redis://127.0.0.1:6379');
    const prefix = takePrefix(url, bad);
    return { kind: 'redis', url: url.toString(), prefix };
  }

  if (scheme === 'redis+cluster' || scheme === 'rediss+cluster') {
    // `new URL` cannot hold several hosts, so the seed list is split by hand.
    const rest = value.slice(scheme.length + 3);
    if (!value.slice(scheme.length).startsWith('://')) throw bad(`"${value}" is not a store URL`);
    const queryAt = rest.indexOf('?');
    const authority = queryAt === -1 ? rest : rest.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : rest.slice(queryAt + 1));
    const at = authority.lastIndexOf('@');
    const hostList = (at === -1 ? authority : authority.slice(at + 1)).replace(/\/$/, '');
    const nodes = hostList.split(',').filter((node) => node.length > 0);
    if (nodes.length === 0) {
      throw bad('redis+cluster:// needs at least one HOST:PORT seed node');
    }
    for (const node of nodes) {
      const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(node);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) {
        throw bad(`cluster node "${node}" must be HOST:PORT with a port from 1 to 65535`);
      }
    }
    const prefix = query.get('prefix') ?? undefined;
    if (prefix !== undefined && !PREFIX.test(prefix)) throw bad(prefixMessage(prefix));
    query.delete('prefix');
    const search = query.toString();
    const base = `${scheme}://${authority}`;
    return {
      kind: 'redis-cluster',
      url: search ? `${base}?${search}` : base,
      nodes,
      prefix,
    };
  }

  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw bad(`"${redactStoreUrl(value)}" is not a valid URL`);
    }
    if (!url.hostname && !url.searchParams.has('host')) {
      throw bad(
        'a PostgreSQL URL needs a host, for example postgres://postgres@127.0.0.1:5432/app',
      );
    }
    const schema = url.searchParams.get('schema') ?? undefined;
    if (schema !== undefined && !IDENTIFIER.test(schema)) {
      throw bad(`schema "${schema}" must be 1–63 letters, digits or _, not starting with a digit`);
    }
    // `schema` is Tessera's parameter, not libpq's: the driver must not see it.
    url.searchParams.delete('schema');
    return { kind: 'postgres', url: url.toString(), schema };
  }

  throw bad(`unsupported store "${scheme}:"`);
}

function takePrefix(url: URL, bad: (why: string) => Error): string | undefined {
  const prefix = url.searchParams.get('prefix') ?? undefined;
  if (prefix !== undefined && !PREFIX.test(prefix)) throw bad(prefixMessage(prefix));
  url.searchParams.delete('prefix');
  return prefix;
}

function prefixMessage(prefix: string): string {
  return `prefix "${prefix}" must be 1–64 characters of letters, digits and _ : . -`;
}

/**
 * The store URL with any password replaced by `***`, safe to print and log.
 *
 * @example
 * redactStoreUrl('postgres://app:s3cret@db:5432/app'); // 'postgres://app:***@db:5432/app'
 */
export function redactStoreUrl(value: string): string {
  return value
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@')
    .replace(/([?&]password=)[^&]*/i, '$1***');
}
