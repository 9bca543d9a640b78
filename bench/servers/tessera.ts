// The Tessera HTTP service as `tessera serve` runs it on its embedded default (SQLite file, the
// node-local cache that serve turns on for SQLite, default logging at `info` to standard error
// here so that standard output carries only the ready line), with one live session to validate
// and a service key to introspect with.
import { createTessera } from '@tessera/core';
import { buildServer, createMetrics } from '@tessera/server';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';

const path = process.argv[2];
if (!path) throw new Error('usage: tessera.ts DATABASE_PATH');
const database = openSqliteDatabase(path);
const metrics = createMetrics();
const tessera = createTessera({
  store: createSqliteStore({ database }),
  onEvent: metrics.onEvent,
  cache: {},
});
const app = await buildServer({
  tessera,
  metrics,
  logger: { level: 'info', stream: process.stderr },
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });

// A realistic session: `low` policy so that it outlives the run, created as an app would.
const { accessToken } = await tessera.create({
  userId: 'bench-user',
  policy: 'low',
  device: { id: 'device-1', platform: 'ios', appVersion: '1.0.0' },
});
const { key } = await tessera.createServiceKey({ name: 'bench', scopes: ['introspect'] });

process.once('SIGTERM', async () => {
  await app.close();
  await tessera.close();
  database.close();
  process.exit(0);
});
process.stdout.write(
  `${JSON.stringify({
    port: Number(new URL(address).port),
    path: '/v1/session',
    headers: { authorization: `Bearer ${accessToken}` },
    introspect: {
      method: 'POST',
      path: '/v1/introspect',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `token=${accessToken}`,
    },
  })}\n`,
);
