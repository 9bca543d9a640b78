import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isTesseraError, type SessionStore } from '@tessera/core';
import { runStoreConformance, sampleSession } from '@tessera/core/testing';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { tempDir } from './helpers.js';

let database: BetterSqlite3.Database;

runStoreConformance({
  name: 'sqlite (temp file, WAL)',
  makeStore: async () => {
    const dir = tempDir();
    database = openSqliteDatabase(dir.path());
    const store = createSqliteStore({ database });
    return {
      store,
      cleanup: async () => {
        await store.close();
        if (database.open) database.close();
        dir.remove();
      },
    };
  },
  extra: (current: () => SessionStore) => {
    it('refuses a session whose id or token hash clashes with store_conflict', async () => {
      const store = current();
      const session = sampleSession();
      await store.createSession(session);
      const sameId = store.createSession({ ...sampleSession(), id: session.id });
      await assert.rejects(sameId, (e) => isTesseraError(e, 'store_conflict'));
      const sameAccess = sampleSession({ accessTokenHash: session.accessTokenHash });
      await assert.rejects(store.createSession(sameAccess), (e) =>
        isTesseraError(e, 'store_conflict'),
      );
      const sameRefresh = sampleSession({ refreshTokenHash: session.refreshTokenHash });
      await assert.rejects(store.createSession(sameRefresh), (e) =>
        isTesseraError(e, 'store_conflict'),
      );
      // The refused inserts left nothing behind (each create is one transaction).
      assert.equal(await store.getSession(sameAccess.id), null);
      assert.equal(await store.getSession(sameRefresh.id), null);
    });

    it('leaves the database open on close, because the application owns it', async () => {
      await current().close();
      assert.equal(database.open, true);
    });

    it('rejects with store_unavailable once the database is closed', async () => {
      database.close();
      await assert.rejects(current().ping(), (e) => isTesseraError(e, 'store_unavailable'));
      await assert.rejects(current().getSession('x'), (e) =>
        isTesseraError(e, 'store_unavailable'),
      );
    });

    it('refuses a malformed event cursor instead of guessing', async () => {
      await assert.rejects(current().queryEvents({ after: 'abc' }), (e) =>
        isTesseraError(e, 'invalid_argument'),
      );
    });
  },
});
