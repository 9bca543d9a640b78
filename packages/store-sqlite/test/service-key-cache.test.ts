import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createTessera, manualClock, type SessionStore } from '@tessera/core';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { tempDir } from './helpers.js';

// Backend calls authenticate their service key on every request; on SQLite the engine keeps the
// keys it has checked, as fresh as a store read (data_version). A revoked key must stop working
// on the very next request, wherever it was revoked (ASVS V3.3.1: termination is immediate).
describe('the service-key cache on SQLite', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: BetterSqlite3.Database;
  let other: BetterSqlite3.Database;

  beforeEach(() => {
    dir = tempDir();
    server = openSqliteDatabase(dir.path());
    other = openSqliteDatabase(dir.path()); // `tessera keys revoke` in another process
  });
  afterEach(() => {
    server.close();
    other.close();
    dir.remove();
  });

  function counting(store: SessionStore) {
    const counter = { lookups: 0 };
    const counted: SessionStore = {
      ...store,
      findServiceKeyByHash(hash) {
        counter.lookups += 1;
        return store.findServiceKeyByHash(hash);
      },
    };
    return { counted, counter };
  }

  it('answers repeated authentications without a store read while nothing changes', async () => {
    const clock = manualClock();
    const { counted, counter } = counting(createSqliteStore({ database: server }));
    const tessera = createTessera({ store: counted, clock, cache: {} });
    const { key } = await tessera.createServiceKey({ name: 'b', scopes: ['introspect'] });
    for (let i = 0; i < 5; i++) assert.notEqual(await tessera.authenticateServiceKey(key), null);
    assert.equal(counter.lookups, 1);
    clock.advance(1000); // an entry is kept for a second at most
    assert.notEqual(await tessera.authenticateServiceKey(key), null);
    assert.equal(counter.lookups, 2);
  });

  it('a key revoked by another connection is refused on the very next request', async () => {
    const clock = manualClock();
    const tessera = createTessera({
      store: createSqliteStore({ database: server }),
      clock,
      cache: {},
    });
    const elsewhere = createTessera({ store: createSqliteStore({ database: other }), clock });
    const { key, record } = await tessera.createServiceKey({ name: 'b', scopes: ['introspect'] });
    assert.notEqual(await tessera.authenticateServiceKey(key), null);
    assert.notEqual(await tessera.authenticateServiceKey(key), null);
    assert.equal(await elsewhere.revokeServiceKey(record.id), true);
    assert.equal(await tessera.authenticateServiceKey(key), null);
  });

  it('a key revoked on this node is refused on the very next request', async () => {
    const tessera = createTessera({
      store: createSqliteStore({ database: server }),
      clock: manualClock(),
      cache: {},
    });
    const { key, record } = await tessera.createServiceKey({ name: 'b', scopes: ['introspect'] });
    assert.notEqual(await tessera.authenticateServiceKey(key), null);
    assert.equal(await tessera.revokeServiceKey(record.id), true);
    assert.equal(await tessera.authenticateServiceKey(key), null);
  });

  it('keeps nothing while the database cannot answer', async () => {
    const { counted, counter } = counting(createSqliteStore({ database: server }));
    const tessera = createTessera({ store: counted, clock: manualClock(), cache: {} });
    const { key } = await tessera.createServiceKey({ name: 'b', scopes: ['introspect'] });
    assert.notEqual(await tessera.authenticateServiceKey(key), null);
    server.close();
    await assert.rejects(tessera.authenticateServiceKey(key));
    assert.equal(counter.lookups, 2);
  });
});
