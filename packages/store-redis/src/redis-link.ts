import { createHash } from 'node:crypto';
import { TesseraError } from '@tessera/core';

/**
 * The part of a node-redis standalone client (`createClient()`) this package uses. Declared
 * structurally so that clients created with any modules, scripts or RESP version fit.
 */
export interface RedisStandaloneClient {
  readonly isReady: boolean;
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
  duplicate(): RedisSubscriberClient;
}

/** The part of a node-redis cluster client (`createCluster()`) this package uses. */
export interface RedisClusterClient {
  readonly masters: ReadonlyArray<{ address: string }>;
  nodeClient(node: { address: string }): Promise<RedisStandaloneClient>;
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  duplicate(overrides?: { minimizeConnections?: boolean }): RedisClusterSubscriberClient;
}

/** What a client needs to be used as a subscriber connection. */
export interface RedisSubscriberClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  subscribe(channels: string, listener: (message: string, channel: string) => void): Promise<void>;
  destroy(): void;
}

export interface RedisClusterSubscriberClient extends RedisSubscriberClient {
  readonly pubSubNode?: { client: { readonly isReady: boolean } } | undefined;
}

/** A node-redis client the application created and connected: standalone/Valkey or Cluster. */
export type RedisClient = RedisStandaloneClient | RedisClusterClient;

export function isCluster(client: RedisClient): client is RedisClusterClient {
  return 'masters' in client;
}

/** A Lua script, sent by SHA1 digest with a fallback to its source (see `runScript`). */
export interface LuaScript {
  source: string;
  sha1: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * Failures of the connection (refused, reset, offline, timed out) and of the cluster (CLUSTERDOWN,
 * TRYAGAIN, LOADING, MASTERDOWN, READONLY...) become `store_unavailable`, which the server answers
 * with 503 and never with a stale success. Errors that mean a bug in this package (`ERR`,
 * `WRONGTYPE`) are passed on unchanged.
 */
export function toStoreError(error: unknown): unknown {
  if (error instanceof TesseraError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/^(ERR|WRONGTYPE|NOSCRIPT) /.test(message)) return error;
  return new TesseraError('store_unavailable', `redis: ${message}`, { cause: error });
}

/**
 * One seam over standalone and cluster clients: every command names the key that routes it, so
 * the same store code runs on both.
 */
export interface RedisLink {
  readonly cluster: boolean;
  /** Sends a command to the node owning `routingKey` (any node when undefined). */
  send(routingKey: string | undefined, args: ReadonlyArray<string>): Promise<unknown>;
  /** Runs a script on the node owning `keys[0]`: EVALSHA, then EVAL on NOSCRIPT. */
  run(
    script: LuaScript,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string>,
  ): Promise<unknown>;
  /** Sends a command to every master (SCAN, PING): one shard each, named by its address. */
  eachMaster<T>(
    fn: (send: (args: ReadonlyArray<string>) => Promise<unknown>, address: string) => Promise<T>,
  ): Promise<T[]>;
}

export function redisLink(client: RedisClient, commandTimeoutMs: number): RedisLink {
  /**
   * A plain timer per command rather than node-redis's `timeout` option: that one builds an
   * AbortSignal per command, which measured at several times the cost of the command itself.
   * A command that times out may still be applied later; the caller only learns that its
   * outcome is unknown, which for every verb here is safe to retry.
   */
  function deadline<T>(work: Promise<T>): Promise<T> {
    if (!(commandTimeoutMs > 0)) return work;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new TesseraError('store_unavailable', `redis: no answer within ${commandTimeoutMs} ms`),
          ),
        commandTimeoutMs,
      );
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
  const send = isCluster(client)
    ? (key: string | undefined, args: ReadonlyArray<string>) =>
        deadline(client.sendCommand(key, false, [...args]))
    : (_key: string | undefined, args: ReadonlyArray<string>) => deadline(client.sendCommand(args));

  async function guarded(key: string | undefined, args: ReadonlyArray<string>) {
    try {
      return await send(key, args);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  return {
    cluster: isCluster(client),
    send: guarded,
    async run(script, keys, args) {
      const tail = [String(keys.length), ...keys, ...args];
      try {
        return await send(keys[0], ['EVALSHA', script.sha1, ...tail]);
      } catch (error) {
        // The script cache is empty after a restart, a failover or SCRIPT FLUSH: send the source
        // once, which also caches it for the next EVALSHA.
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) {
          throw toStoreError(error);
        }
      }
      return guarded(keys[0], ['EVAL', script.source, ...tail]);
    },
    async eachMaster(fn) {
      try {
        if (!isCluster(client)) {
          return [await fn((args) => deadline(client.sendCommand(args)), 'standalone')];
        }
        return await Promise.all(
          client.masters.map(async (master) => {
            const node = await client.nodeClient(master);
            return fn((args) => deadline(node.sendCommand(args)), master.address);
          }),
        );
      } catch (error) {
        throw toStoreError(error);
      }
    },
  };
}
