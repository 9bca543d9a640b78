import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createTessera, type ManualClock, manualClock, type Tessera } from '@tessera/core';
import { createSqliteStore, openSqliteDatabase } from '@tessera/store-sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { tempDir } from './helpers.js';

describe('the engine on the SQLite store', () => {
  let dir: ReturnType<typeof tempDir>;
  let database: BetterSqlite3.Database;
  let clock: ManualClock;
  let tessera: Tessera;

  beforeEach(() => {
    dir = tempDir();
    database = openSqliteDatabase(dir.path());
    clock = manualClock();
    tessera = createTessera({ store: createSqliteStore({ database }), clock });
  });
  afterEach(() => {
    database.close();
    dir.remove();
  });

  it('creates a session whose access token validates and slides the idle deadline', async () => {
    const issued = await tessera.create({ userId: 'u1', policy: 'high', authMethods: ['pwd'] });
    clock.advance(60_000);
    const result = await tessera.validate(issued.accessToken);
    assert.equal(result.ok, true);
    const stored = await tessera.store.getSession(issued.session.id);
    assert.equal(stored?.idleExpiresAt, clock.now() + 15 * 60_000);
    assert.deepEqual(stored?.authMethods, ['pwd']);
  });

  it('refuses an idle session at the boundary millisecond, not one before', async () => {
    const issued = await tessera.create({ userId: 'u1', policy: 'high' });
    clock.advance(4 * 60_000); // within the access token's 5 minutes
    const refreshed = await tessera.refresh(issued.refreshToken);
    assert.ok(refreshed.ok);
    clock.advance(15 * 60_000 - 1);
    assert.equal((await tessera.validate(refreshed.accessToken)).ok, false); // token expired
    assert.equal((await tessera.refresh(refreshed.refreshToken)).ok, true);
    const again = await tessera.create({ userId: 'u2', policy: 'high' });
    clock.advance(15 * 60_000);
    assert.deepEqual(await tessera.refresh(again.refreshToken), {
      ok: false,
      reason: 'idle_timeout',
    });
  });

  it('rotates on refresh: the old pair dies, the parent replays within the grace window', async () => {
    const issued = await tessera.create({ userId: 'u1' });
    const first = await tessera.refresh(issued.refreshToken);
    assert.ok(first.ok && !first.replayed);
    const old = await tessera.validate(issued.accessToken);
    assert.equal(old.ok ? null : old.reason, 'unknown');
    clock.advance(10_000);
    const replay = await tessera.refresh(issued.refreshToken);
    assert.ok(replay.ok && replay.replayed);
    assert.equal(replay.accessToken, first.accessToken);
    assert.equal(replay.refreshToken, first.refreshToken);
    assert.equal((await tessera.validate(first.accessToken)).ok, true);
  });

  it('ends the session when a rotated refresh token comes back after the grace window', async () => {
    const issued = await tessera.create({ userId: 'u1' });
    const next = await tessera.refresh(issued.refreshToken);
    assert.ok(next.ok);
    clock.advance(31_000);
    assert.deepEqual(await tessera.refresh(issued.refreshToken), {
      ok: false,
      reason: 'refresh_token_reuse',
    });
    const validated = await tessera.validate(next.accessToken);
    assert.equal(validated.ok ? null : validated.reason, 'ended');
    assert.equal(
      (await tessera.store.getSession(issued.session.id))?.endReason,
      'refresh_token_reuse',
    );
    const types = (await tessera.events({ sessionId: issued.session.id })).events.map(
      (e) => e.type,
    );
    assert.deepEqual(types, [
      'session.created',
      'session.refreshed',
      'session.refresh_reuse',
      'session.ended',
    ]);
  });

  it('lets exactly one of many concurrent refreshes rotate; the rest get the same pair', async () => {
    const issued = await tessera.create({ userId: 'u1' });
    const results = await Promise.all(
      Array.from({ length: 6 }, () => tessera.refresh(issued.refreshToken)),
    );
    assert.ok(results.every((r) => r.ok));
    assert.equal(new Set(results.map((r) => (r.ok ? r.refreshToken : ''))).size, 1);
    assert.equal(results.filter((r) => r.ok && !r.replayed).length, 1);
    assert.equal((await tessera.store.getSession(issued.session.id))?.generation, 1);
  });

  it('ends every other session of a user on password change, keeping the current one', async () => {
    const current = await tessera.create({ userId: 'u1', device: { id: 'phone' } });
    const other = await tessera.create({ userId: 'u1', device: { id: 'laptop' } });
    const ended = await tessera.endAllForUser('u1', 'password_changed', {
      exceptSessionId: current.session.id,
    });
    assert.deepEqual(
      ended.map((s) => s.id),
      [other.session.id],
    );
    assert.equal((await tessera.validate(current.accessToken)).ok, true);
    const refused = await tessera.validate(other.accessToken);
    assert.equal(refused.ok ? null : refused.reason, 'ended');
    assert.deepEqual(
      (await tessera.listForUser('u1')).map((s) => s.device.id),
      ['phone'],
    );
  });
});
