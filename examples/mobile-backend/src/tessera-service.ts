import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type Clock,
  createTessera,
  type PolicyTier,
  type SessionEvent,
  type Tessera,
} from '@tessera/core';
import { buildServer } from '@tessera/server';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';

export interface ServiceOptions {
  dataDir: string;
  /** The tier every session of the example gets (`mobile`). */
  tier: PolicyTier;
  refreshGraceSeconds: number;
  /** The URL clients address the service by (the gateway), for DPoP `htu`. */
  publicUrl?: string;
  maxSessionsPerUser?: number;
  /** Requests per minute per client on /v1/token and /v1/revoke. */
  tokenPerMinute?: number;
  /** The service's clock (tests move it to expire tokens without waiting). @default Date.now */
  clock?: Clock;
}

export interface RunningService {
  url: string;
  tessera: Tessera;
  /** A service key with `sessions:write` and `introspect`: the example backend's credential. */
  serviceKey: string;
  /** Every recorded session event, in order (the transcript counts refreshes with it). */
  events: SessionEvent[];
  close(): Promise<void>;
}

/**
 * The Tessera service, in this process, over a SQLite file in `dataDir` (the service a real
 * deployment runs with `tessera serve`; in process here so that `npm run example` is one command
 * and the transcript can count what the service recorded).
 */
export async function startTesseraService(options: ServiceOptions): Promise<RunningService> {
  const database = openSqliteDatabase(join(options.dataDir, 'tessera.db'));
  const store = createSqliteStore({ database });
  const events: SessionEvent[] = [];
  const tessera = createTessera({
    store,
    policies: { mobile: options.tier },
    defaultPolicy: 'mobile',
    refreshGraceSeconds: options.refreshGraceSeconds,
    maxSessionsPerUser: options.maxSessionsPerUser ?? 20,
    onEvent: (event) => events.push(event),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const server = await buildServer({
    tessera,
    logger: false,
    purgeIntervalSeconds: 0,
    rateLimit: {
      enabled: true,
      tokenPerMinute: options.tokenPerMinute ?? 300,
      revokePerMinute: options.tokenPerMinute ?? 300,
    },
    ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  const { key } = await tessera.createServiceKey({
    name: 'mobile-backend',
    scopes: ['sessions:write', 'introspect'],
  });
  return {
    url,
    tessera,
    serviceKey: key,
    events,
    async close() {
      await server.close();
      await tessera.close();
      await store.close();
      database.close();
    },
  };
}
