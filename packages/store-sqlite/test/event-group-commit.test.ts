import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { NewSessionEvent } from '@tessera/core';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { tempDir } from './helpers.js';

const event = (i: number): NewSessionEvent => ({
  type: 'session.refreshed',
  at: 1_700_000_000_000 + i,
  sessionId: `s${i % 7}`,
  userId: `u${i % 3}`,
  reason: null,
  deviceId: null,
  ip: null,
  data: { i },
});

// Events appended in one turn of the event loop share one commit (group commit). Each caller
// must still get its own id, and its promise must settle only once its event is on disk.
describe('SQLite event group commit', () => {
  let dir: ReturnType<typeof tempDir>;
  let database: BetterSqlite3.Database;
  beforeEach(() => {
    dir = tempDir();
    database = openSqliteDatabase(dir.path());
  });
  afterEach(() => {
    if (database.open) database.close();
    dir.remove();
  });

  it('gives every concurrent append its own id, in order, and commits them all before answering', async () => {
    const store = createSqliteStore({ database });
    const appended = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.appendEvent(event(i))),
    );
    const ids = appended.map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    assert.equal(new Set(ids).size, 50);
    assert.deepEqual(
      appended.map((e) => e.data),
      Array.from({ length: 50 }, (_, i) => ({ i })),
    );
    // Read through another connection: committed, not merely buffered in this one.
    const other = openSqliteDatabase(dir.path());
    try {
      const page = await createSqliteStore({ database: other }).queryEvents({ limit: 100 });
      assert.equal(page.events.length, 50);
    } finally {
      other.close();
    }
  });

  it('refuses every pending append with a store error when the database is gone', async () => {
    const store = createSqliteStore({ database });
    const pending = [store.appendEvent(event(1)), store.appendEvent(event(2))];
    database.close();
    const results = await Promise.allSettled(pending);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });
});
