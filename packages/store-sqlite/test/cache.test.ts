import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createTessera, manualClock, type SessionStore } from '@tessera/core';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { tempDir } from './helpers.js';

describe('the node-local cache on SQLite (PRAGMA data_version)', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: BetterSqlite3.Database;
  let other: BetterSqlite3.Database;

  beforeEach(() => {
    dir = tempDir();
    server = openSqliteDatabase(dir.path());
    // A second connection to the same file: what `tessera sessions end` in another process is.
    other = openSqliteDatabase(dir.path());
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
      findByAccessTokenHash(hash) {
        counter.lookups += 1;
        return store.findByAccessTokenHash(hash);
      },
    };
    return { counted, counter };
  }

  it('answers repeated validations from the cache while nobody else writes', async () => {
    const { counted, counter } = counting(createSqliteStore({ database: server }));
    const tessera = createTessera({ store: counted, clock: manualClock(), cache: {} });
    const issued = await tessera.create({ userId: 'u' });
    for (let i = 0; i < 5; i++) assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    assert.equal(counter.lookups, 1);
    assert.equal(tessera.cacheActive(), true);
  });

  it('an end committed by another connection is refused on the very next validation', async () => {
    const clock = manualClock();
    const tessera = createTessera({
      store: createSqliteStore({ database: server }),
      clock,
      cache: {},
    });
    const admin = createTessera({ store: createSqliteStore({ database: other }), clock });
    const issued = await tessera.create({ userId: 'u' });
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    await admin.end(issued.session.id, 'admin');
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'ended');
  });

  it('a refresh by another process retires the cached access token at once', async () => {
    const clock = manualClock();
    const tessera = createTessera({
      store: createSqliteStore({ database: server }),
      clock,
      cache: {},
    });
    const otherNode = createTessera({ store: createSqliteStore({ database: other }), clock });
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    assert.equal((await otherNode.refresh(issued.refreshToken)).ok, true);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'unknown');
  });

  it('is bypassed once the database is closed, so nothing is answered from memory', async () => {
    const tessera = createTessera({
      store: createSqliteStore({ database: server }),
      clock: manualClock(),
      cache: {},
    });
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    server.close();
    await assert.rejects(tessera.validate(issued.accessToken), { code: 'store_unavailable' });
    server = openSqliteDatabase(dir.path());
  });
});

describe('introspection-grade freshness on SQLite', () => {
  it('the SQLite channel is exact, so a fresh validation may be answered from the cache and still sees outside ends', async () => {
    const dir = tempDir();
    const server = openSqliteDatabase(dir.path());
    const other = openSqliteDatabase(dir.path());
    try {
      const clock = manualClock();
      const tessera = createTessera({
        store: createSqliteStore({ database: server }),
        clock,
        cache: {},
      });
      const admin = createTessera({ store: createSqliteStore({ database: other }), clock });
      const issued = await tessera.create({ userId: 'u' });
      assert.equal((await tessera.validate(issued.accessToken, { fresh: true })).ok, true);
      await admin.end(issued.session.id, 'admin');
      assert.equal((await tessera.validate(issued.accessToken, { fresh: true })).reason, 'ended');
    } finally {
      server.close();
      other.close();
      dir.remove();
    }
  });
});
