import { createTessera, type SessionEvent, type Tessera } from '@tessera/core';
import { loadConfig, type TesseraConfig } from './config.js';
import type { CliIo } from './io.js';
import { openStore } from './open-store.js';

export interface EngineContext {
  config: TesseraConfig;
  tessera: Tessera;
  /** Closes the engine (its cache subscription), then the store and its connection. */
  close(): Promise<void>;
}

export interface OpenEngineOptions {
  io: CliIo;
  /** Already loaded; otherwise loaded from `configFile`, the environment and `flags`. */
  config?: TesseraConfig;
  /** `--config`. */
  configFile?: string | undefined;
  /** Flag values by config path (`store`, `host`, `port`, `migrate_on_start`). */
  flags?: Record<string, string | boolean | undefined>;
  onEvent?: (event: SessionEvent) => void;
  /**
   * Build the engine with the configured node-local session cache (`config.cache`). Only the
   * long-running service wants it: a one-shot admin command would open an invalidation
   * subscription just to close it again. @default false
   */
  cache?: boolean;
}

/**
 * Loads the configuration, opens its store and builds the engine on it: what every command
 * that touches sessions or keys starts with.
 *
 * @example
 * const { tessera, close } = await openEngine({ io, flags: { store: 'sqlite:./t.db' } });
 */
export async function openEngine(options: OpenEngineOptions): Promise<EngineContext> {
  const { io, configFile, flags = {}, onEvent, cache = false } = options;
  const config = options.config ?? loadConfig({ configFile, env: io.env, flags });
  const opened = await openStore(config.store, { migrate: config.migrateOnStart });
  try {
    const tessera = createTessera({
      store: opened.store,
      policies: config.policies,
      defaultPolicy: config.defaultPolicy,
      refreshGraceSeconds: config.refreshGraceSeconds,
      maxSessionsPerUser: config.maxSessionsPerUser,
      eventRetentionDays: config.eventRetentionDays,
      touchIntervalSeconds: config.touchIntervalSeconds,
      cache: cache ? config.cache : false,
      ...(onEvent ? { onEvent } : {}),
    });
    let closing: Promise<void> | undefined;
    const close = () => {
      // The engine first: its invalidation subscription has its own connection (Redis pub/sub,
      // PostgreSQL LISTEN), which would otherwise keep reconnecting to a store being closed.
      closing ??= tessera.close().finally(() => opened.close());
      return closing;
    };
    return { config, tessera, close };
  } catch (error) {
    await opened.close();
    throw error;
  }
}

/** The flags every store-opening command shares, keyed by config path. */
export function storeFlags(values: {
  store?: string | undefined;
  'no-migrate'?: boolean | undefined;
}): Record<string, string | boolean | undefined> {
  return {
    store: values.store,
    migrate_on_start: values['no-migrate'] ? false : undefined,
  };
}
