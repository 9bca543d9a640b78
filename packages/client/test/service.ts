import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTessera,
  type ManualClock,
  manualClock,
  type Tessera,
  type TesseraOptions,
} from '@tessera/core';
import { buildServer, type ServerOptions } from '@tessera/server';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';

/** The real Tessera service on a socket (SQLite in a temporary directory, a manual clock). */
export interface Service {
  url: string;
  tessera: Tessera;
  clock: ManualClock;
  /** `POST /v1/token` requests the server received (counted by the server itself). */
  tokenRequests(): number;
  /** `POST /v1/revoke` requests the server received. */
  revokeRequests(): number;
  /** What the app's backend does at sign-in: `POST /v1/sessions` with its service key. */
  signIn(body?: Record<string, unknown>): Promise<SignInAnswer>;
  /** A backend call with the service key. */
  backend(method: string, path: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export interface SignInAnswer {
  session: { id: string; user_id: string };
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

export interface ServiceOptions {
  engine?: Partial<Omit<TesseraOptions, 'store' | 'clock'>>;
  server?: Partial<Omit<ServerOptions, 'tessera'>>;
  /** Run on real time (a browser test, where the page's clocks cannot be injected). */
  realTime?: boolean;
}

export async function startService(options: ServiceOptions = {}): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-client-'));
  const database = openSqliteDatabase(join(dir, 'tessera.db'));
  const clock = manualClock(Date.now());
  const tessera = createTessera({
    store: createSqliteStore({ database }),
    clock,
    ...options.engine,
  });
  const app = await buildServer({
    tessera,
    logger: false,
    purgeIntervalSeconds: 0,
    ...options.server,
  });
  let tokens = 0;
  let revokes = 0;
  // Counted by the server's own HTTP listener: what actually arrived, whatever the client says.
  app.server.on('request', (request: { method?: string; url?: string }) => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (request.method === 'POST' && path === '/v1/token') tokens++;
    if (request.method === 'POST' && path === '/v1/revoke') revokes++;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const { key } = await tessera.createServiceKey({ name: 'backend', scopes: ['admin'] });
  const backend = (method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    url,
    tessera,
    clock,
    tokenRequests: () => tokens,
    revokeRequests: () => revokes,
    backend,
    async signIn(body = {}) {
      const response = await backend('POST', '/v1/sessions', { user_id: 'alice', ...body });
      if (response.status !== 201) {
        throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
      }
      return (await response.json()) as SignInAnswer;
    },
    async close() {
      const closing = app.close();
      // Answers a test left unread must not hold the server open.
      app.server.closeAllConnections();
      await closing;
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
