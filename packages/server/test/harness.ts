import {
  createMemoryStore,
  createTessera,
  type ManualClock,
  manualClock,
  type Scope,
  type SessionStore,
  type Tessera,
  type TesseraOptions,
} from '@tessera/core';
import {
  buildServer,
  createMetrics,
  type ServerOptions,
  type TesseraMetrics,
} from '@tessera/server';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

export interface Harness {
  app: FastifyInstance;
  tessera: Tessera;
  store: SessionStore;
  clock: ManualClock;
  metrics: TesseraMetrics;
  /** Every log line written, as text. */
  logs: string[];
  /** A service key with each scope, and one with `admin`. */
  keys: Record<Scope, string>;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** POST /v1/sessions with the admin key; returns the parsed answer. */
  createSession(body?: Record<string, unknown>): Promise<CreatedSession>;
  close(): Promise<void>;
}

export interface CreatedSession {
  session: { id: string; user_id: string; [key: string]: unknown };
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

export interface HarnessOptions {
  engine?: Partial<Omit<TesseraOptions, 'store' | 'clock' | 'onEvent'>>;
  server?: Partial<Omit<ServerOptions, 'tessera' | 'metrics'>>;
  logLevel?: string;
}

/** A server on the memory store and a manual clock, with a captured log and keys per scope. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const store = createMemoryStore();
  const clock = manualClock();
  const metrics = createMetrics({ processMetrics: false });
  const tessera = createTessera({ store, clock, onEvent: metrics.onEvent, ...options.engine });
  const logs: string[] = [];
  const app = await buildServer({
    tessera,
    metrics,
    logger: { level: options.logLevel ?? 'info', stream: { write: (line) => logs.push(line) } },
    purgeIntervalSeconds: 0,
    ...options.server,
  });
  const keys = {} as Record<Scope, string>;
  for (const scope of ['sessions:write', 'sessions:read', 'introspect', 'admin'] as const) {
    keys[scope] = (await tessera.createServiceKey({ name: scope, scopes: [scope] })).key;
  }
  const inject = (injectOptions: InjectOptions) => app.inject(injectOptions);
  return {
    app,
    tessera,
    store,
    clock,
    metrics,
    logs,
    keys,
    inject,
    async createSession(body = {}) {
      const response = await inject({
        method: 'POST',
        url: '/v1/sessions',
        headers: { authorization: `Bearer ${keys.admin}` },
        payload: { user_id: 'alice', ...body },
      });
      if (response.statusCode !== 201) {
        throw new Error(`create failed: ${response.statusCode} ${response.body}`);
      }
      return response.json() as CreatedSession;
    },
    close: () => app.close(),
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Which sessions exist and how many events: compared before/after to prove nothing was written. */
export async function snapshot(harness: Harness, userIds: string[]) {
  const sessions: string[] = [];
  for (const userId of userIds) {
    for (const s of await harness.store.listSessionsForUser(userId, harness.clock.now())) {
      sessions.push(`${s.id}:${s.generation}:${s.lastActiveAt}:${s.endedAt}`);
    }
  }
  let events = 0;
  let after: string | undefined;
  for (;;) {
    const page = await harness.store.queryEvents({ limit: 1000, ...(after ? { after } : {}) });
    events += page.events.length;
    if (page.nextCursor === null) break;
    after = page.nextCursor;
  }
  return { sessions: sessions.sort(), events };
}
