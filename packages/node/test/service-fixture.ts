import type { AddressInfo } from 'node:net';
import { buildServer } from '@tessera/server';
import type { FastifyInstance } from 'fastify';
import { type EngineFixture, engineFixture } from './fixtures.js';

export interface ServiceFixture extends EngineFixture {
  baseUrl: string;
  /** A service key with the introspect and sessions:write scopes. */
  serviceKey: string;
  /** A fetch that counts the calls per path. */
  fetch: typeof fetch;
  calls: Map<string, number>;
  server: FastifyInstance;
  close(): Promise<void>;
}

/** The real Tessera service on a socket, over the fixture engine (manual clock, switchable store). */
export async function startService(): Promise<ServiceFixture> {
  const fx = engineFixture();
  const server = await buildServer({ tessera: fx.tessera, logger: false, purgeIntervalSeconds: 0 });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const baseUrl = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  const { key } = await fx.tessera.createServiceKey({
    name: 'api',
    scopes: ['introspect', 'sessions:write'],
  });
  const calls = new Map<string, number>();
  const counting: typeof fetch = (input, init) => {
    const path = new URL(String(input)).pathname;
    calls.set(path, (calls.get(path) ?? 0) + 1);
    return fetch(input, init);
  };
  return {
    ...fx,
    baseUrl,
    serviceKey: key,
    fetch: counting,
    calls,
    server,
    close: () => server.close(),
  };
}
