import { TesseraError } from '@tessera/core';
import { createClient, createCluster } from 'redis';

export interface ConnectRedisOptions {
  /** Reject (and give up) when the first connection takes longer. @default 10_000 */
  connectTimeoutMs?: number;
  /** Longest pause between two reconnection attempts once connected. @default 500 */
  maxReconnectDelayMs?: number;
  /** Receives connection errors, for logging. Reconnection is automatic either way. */
  onError?: (error: Error) => void;
}

export type ParsedRedisUrl =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'cluster';
      rootNodes: string[];
      username?: string;
      password?: string;
      tls: boolean;
    };

/**
 * Reads `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS),
 * `redis+cluster://[user:pass@]h1:p1,h2:p2,…` and `rediss+cluster://…`.
 *
 * @example
 * parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7000');
 * // { kind: 'cluster', rootNodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'], tls: false }
 */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const match = /^(rediss?)(\+cluster)?:\/\/(?:([^@/]*)@)?([^/?#]+)(.*)$/.exec(url);
  if (!match) {
    throw new TesseraError(
      'invalid_config',
      `store URL must look like redis://host:port or redis+cluster://h1:p1,h2:p2 (got ${url})`,
    );
  }
  const [, scheme = 'redis', cluster, userinfo, hosts = '', rest = ''] = match;
  if (!cluster) return { kind: 'standalone', url };
  if (rest !== '' && rest !== '/') {
    throw new TesseraError('invalid_config', 'a Redis Cluster URL takes no path or database');
  }
  const [username, password] = (userinfo ?? '').split(':').map(decodeURIComponent);
  const rootNodes = hosts
    .split(',')
    .filter((host) => host !== '')
    .map((host) => `redis://${host}`);
  if (rootNodes.length === 0) {
    throw new TesseraError('invalid_config', `no host in ${url}`);
  }
  return {
    kind: 'cluster',
    rootNodes,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: scheme === 'rediss',
  };
}

/**
 * Creates and connects a node-redis client for `url` (standalone/Valkey or Cluster, see
 * `parseRedisUrl`) with the settings that make Tessera fail closed and heal by itself:
 * - `disableOfflineQueue`: while the connection is down every command rejects at once
 *   (`store_unavailable`, HTTP 503) instead of waiting in a queue and answering late;
 * - a reconnect strategy with capped exponential backoff and jitter, so the client keeps trying
 *   and the node serves again soon after the server returns, without a restart;
 * - a connect timeout, so a dead address fails fast.
 *
 * @example
 * const client = await connectRedis(process.env.TESSERA_STORE ?? 'redis://127.0.0.1:6379');
 * const store = createRedisStore({ client });
 * // at shutdown: await store.close(); await client.close();
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}) {
  const { connectTimeoutMs = 10_000, maxReconnectDelayMs = 500, onError = () => {} } = options;
  const parsed = parseRedisUrl(url);
  const socket = {
    connectTimeout: Math.min(connectTimeoutMs, 2000),
    reconnectStrategy: (retries: number) =>
      Math.min(25 * 2 ** retries, maxReconnectDelayMs) + Math.floor(Math.random() * 25),
  };
  const client =
    parsed.kind === 'standalone'
      ? createClient({ url: parsed.url, disableOfflineQueue: true, socket })
      : createCluster({
          rootNodes: parsed.rootNodes.map((nodeUrl) => ({ url: nodeUrl })),
          defaults: {
            disableOfflineQueue: true,
            ...(parsed.username ? { username: parsed.username } : {}),
            ...(parsed.password ? { password: parsed.password } : {}),
            socket: parsed.tls ? { ...socket, tls: true as const } : socket,
          },
        });
  // node-redis emits 'error' on every lost connection; without a listener Node would crash.
  client.on('error', (error: Error) => onError(error));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no connection within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
        );
      }),
    ]);
  } catch (error) {
    client.destroy();
    throw new TesseraError(
      'store_unavailable',
      `cannot connect to ${redactUrl(url)}: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
