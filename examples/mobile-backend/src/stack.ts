import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, PolicyTier } from '@tessera/core';
import { remoteAuthority } from '@tessera/node';
import { createBackendApp } from './backend-app.js';
import { type Gateway, startGateway } from './gateway.js';
import { OWASP_SCRYPT, type ScryptCost } from './password-hash.js';
import { type RunningService, startTesseraService } from './tessera-service.js';
import { ensureUser, openUserTable, type UserTable } from './users.js';

export interface StackOptions {
  /** Where the service's and the app's SQLite files go. @default a fresh temporary directory */
  dataDir?: string;
  tier?: PolicyTier;
  refreshGraceSeconds?: number;
  maxSessionsPerUser?: number;
  tokenPerMinute?: number;
  scrypt?: ScryptCost;
  /**
   * How long the backend may reuse an introspection answer (0–30 s). 0 by default: a logout at the
   * service (the phone's `/v1/revoke`) is then refused by the backend at once, not within the TTL.
   * @default 0
   */
  introspectionCacheSeconds?: number;
  /** RFC 9470 max_age of the e-mail change. @default 300 */
  emailChangeMaxAuthAgeSeconds?: number;
  /** The demo user (created if absent). */
  user?: { email: string; password: string };
  /** The Tessera service's clock (tests move it instead of waiting). @default Date.now */
  clock?: Clock;
  /** Serve the web app at `/app/` with the SDK's ESM build from `sdkDir` (the browser test). */
  browserApp?: { sdkDir: string };
}

export interface Stack {
  /** The one origin phones and browsers use (the gateway). */
  url: string;
  gateway: Gateway;
  service: RunningService;
  users: UserTable;
  dataDir: string;
  close(): Promise<void>;
}

/** The demo's tier: tokens short enough to watch them expire; idle and absolute as for `high`. */
export const DEMO_TIER: PolicyTier = {
  accessTokenTtlSeconds: 3,
  idleTimeoutSeconds: 15 * 60,
  absoluteTimeoutSeconds: 12 * 3600,
};

export const DEMO_USER = { email: 'ada@example.com', password: 'correct horse battery staple' };

/** Starts the Tessera service, the mobile backend and the gateway in front of both. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tessera-mobile-backend-'));
  const gateway = await startGateway();
  const service = await startTesseraService({
    dataDir,
    tier: options.tier ?? DEMO_TIER,
    refreshGraceSeconds: options.refreshGraceSeconds ?? 30,
    publicUrl: gateway.url,
    ...(options.maxSessionsPerUser === undefined
      ? {}
      : { maxSessionsPerUser: options.maxSessionsPerUser }),
    ...(options.tokenPerMinute === undefined ? {} : { tokenPerMinute: options.tokenPerMinute }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const users = openUserTable(join(dataDir, 'users.db'), options.scrypt ?? OWASP_SCRYPT);
  const demo = options.user ?? DEMO_USER;
  await ensureUser(users, demo.email, demo.password);
  const app = createBackendApp({
    authority: remoteAuthority({
      baseUrl: service.url,
      serviceKey: service.serviceKey,
      cacheTtlSeconds: options.introspectionCacheSeconds ?? 0,
    }),
    users,
    csrfSecret: randomBytes(32).toString('base64url'),
    publicOrigin: gateway.url,
    ...(options.emailChangeMaxAuthAgeSeconds === undefined
      ? {}
      : { emailChangeMaxAuthAgeSeconds: options.emailChangeMaxAuthAgeSeconds }),
    ...(options.browserApp === undefined ? {} : { browserApp: options.browserApp }),
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  gateway.setUpstreams({
    service: service.url,
    app: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
  return {
    url: gateway.url,
    gateway,
    service,
    users,
    dataDir,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.close();
      users.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
