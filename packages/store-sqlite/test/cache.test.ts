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

  /** This process's engine with the cache, and another process's engine on the same file. */
  function nodes() {
    const clock = manualClock();
    return {
      tessera: createTessera({ store: createSqliteStore({ database: server }), clock, cache: {} }),
      elsewhere: createTessera({ store: createSqliteStore({ database: other }), clock }),
    };
  }

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
    const { tessera, elsewhere } = nodes();
    const issued = await tessera.create({ userId: 'u' });
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    await elsewhere.end(issued.session.id, 'admin');
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'ended');
  });

  it('a refresh by another process retires the cached access token at once', async () => {
    const { tessera, elsewhere } = nodes();
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    assert.equal((await elsewhere.refresh(issued.refreshToken)).ok, true);
    assert.equal((await tessera.validate(issued.accessToken)).reason, 'unknown');
  });

  it('the channel is exact, so a fresh (introspection) validation may use the cache and still sees outside ends', async () => {
    const { tessera, elsewhere } = nodes();
    const issued = await tessera.create({ userId: 'u' });
    assert.equal((await tessera.validate(issued.accessToken, { fresh: true })).ok, true);
    await elsewhere.end(issued.session.id, 'admin');
    assert.equal((await tessera.validate(issued.accessToken, { fresh: true })).reason, 'ended');
  });

  it('is bypassed once the database is closed, so nothing is answered from memory', async () => {
    const { tessera } = nodes();
    const issued = await tessera.create({ userId: 'u' });
    await tessera.validate(issued.accessToken);
    server.close();
    await assert.rejects(tessera.validate(issued.accessToken), { code: 'store_unavailable' });
    server = openSqliteDatabase(dir.path());
  });
});
