import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTessera, generateToken, hashToken, type SessionRecord } from '@tessera/core';
import { sampleSession } from '@tessera/core/testing';
import { createPool, createPostgresStore, migrate } from '@tessera/store-postgres';
import pg from 'pg';
import { dropSchema, POSTGRES_URL, uniqueSchema, waitFor } from './helpers.js';

// Two pools stand for two nodes: nothing is shared between them but the database.
const poolA = createPool(POSTGRES_URL, { maxConnections: 4 });
const poolB = createPool(POSTGRES_URL, { maxConnections: 4 });
const schema = uniqueSchema('invalidation');
const nodeA = createPostgresStore({ pool: poolA, schema });
const nodeB = createPostgresStore({ pool: poolB, schema, reconnectMinDelayMillis: 20 });

before(async () => {
  await migrate({ pool: poolA, schema });
});

after(async () => {
  await Promise.all([nodeA.close(), nodeB.close()]);
  await dropSchema(poolA, schema);
  await Promise.all([poolA.end(), poolB.end()]);
});

function rotationOf(session: SessionRecord) {
  return {
    generation: session.generation + 1,
    accessTokenHash: hashToken(generateToken('access')),
    accessExpiresAt: session.accessExpiresAt + 1,
    refreshTokenHash: hashToken(generateToken('refresh')),
    rotatedAt: session.rotatedAt + 1,
    successorSealed: null,
    lastActiveAt: session.lastActiveAt + 1,
    idleExpiresAt: session.idleExpiresAt + 1,
  };
}

describe('invalidations over LISTEN/NOTIFY', () => {
  it('delivers every committed end and rotation on one node to a listener on another', async () => {
    const heard: string[] = [];
    const channel = nodeB.subscribeInvalidations((id) => heard.push(id));
    try {
      await waitFor(() => channel.connected(), { what: 'LISTEN' });
      const userId = 'user-invalidation';
      const [rotated, ended, phone, tablet, stale] = [1, 2, 3, 4, 5].map(() =>
        sampleSession({ userId }),
      ) as [SessionRecord, SessionRecord, SessionRecord, SessionRecord, SessionRecord];
      for (const s of [rotated, ended, phone, tablet, stale]) await nodeA.createSession(s);

      // These change nothing, so they must not notify. Notifications arrive in commit order,
      // so had they notified, their ids would precede the ones below.
      assert.equal(await nodeA.rotateSession(stale.id, 7, rotationOf(stale)), false);
      await nodeA.touchSession(stale.id, stale.lastActiveAt + 1, stale.idleExpiresAt + 1);

      assert.equal(await nodeA.rotateSession(rotated.id, 0, rotationOf(rotated)), true);
      await nodeA.endSession(ended.id, 'logout', ended.createdAt + 1);
      assert.equal(await nodeA.endSession(ended.id, 'logout', ended.createdAt + 2), null);
      await nodeA.endSessionsForUser(userId, 'password_changed', ended.createdAt + 3, {
        exceptSessionId: stale.id,
      });
      await waitFor(() => heard.length >= 5, { what: 'notifications' });
      assert.deepEqual(heard.slice(0, 2), [rotated.id, ended.id]);
      assert.deepEqual(heard.slice(2).sort(), [rotated.id, phone.id, tablet.id].sort());
    } finally {
      await channel.close();
    }
    assert.equal(channel.connected(), false);
  });

  it('reaches a listener when the engine on another node logs a session out', async () => {
    const heard: string[] = [];
    const channel = nodeB.subscribeInvalidations((id) => heard.push(id));
    const tessera = createTessera({ store: nodeA, cache: false });
    try {
      await waitFor(() => channel.connected(), { what: 'LISTEN' });
      const { session, accessToken } = await tessera.create({ userId: 'user-logout' });
      assert.equal(await tessera.revoke(accessToken), true);
      await waitFor(() => heard.includes(session.id), { what: 'the logout' });
    } finally {
      await tessera.close();
      await channel.close();
    }
  });

  it('reports the channel down while its connection is lost and reconnects by itself', async () => {
    const heard: string[] = [];
    let connections = 0;
    // A recognisable LISTEN connection, through the client factory option.
    const applicationName = `tessera-listen-${process.pid}`;
    const node = createPostgresStore({
      pool: poolB,
      schema,
      reconnectMinDelayMillis: 20,
      listenClient: () =>
        new pg.Client({ connectionString: POSTGRES_URL, application_name: applicationName }),
    });
    const channel = node.subscribeInvalidations((id) => heard.push(id), {
      onConnected: () => {
        connections += 1;
      },
    });
    try {
      await waitFor(() => channel.connected(), { what: 'LISTEN' });
      assert.equal(connections, 1);
      // Kill the listening backend from the other node, as a failover or a DBA would.
      const killed = await poolA.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      assert.equal(killed.rowCount, 1);
      await waitFor(() => !channel.connected(), { what: 'the channel to go down' });
      await waitFor(() => channel.connected(), { what: 'the channel to come back' });
      // The cache is told to forget, before the channel says it is up again.
      assert.equal(connections, 2);
      const session = sampleSession();
      await nodeA.createSession(session);
      await nodeA.endSession(session.id, 'admin', session.createdAt + 1);
      await waitFor(() => heard.includes(session.id), { what: 'a notification after reconnect' });
    } finally {
      await node.close();
    }
    assert.equal(channel.connected(), false);
  });

  it('keeps listeners of another schema deaf to this one', async () => {
    const otherSchema = `${schema}_other`;
    const otherNode = createPostgresStore({ pool: poolB, schema: otherSchema });
    const heardHere: string[] = [];
    const heardThere: string[] = [];
    const here = nodeB.subscribeInvalidations((id) => heardHere.push(id));
    const there = otherNode.subscribeInvalidations((id) => heardThere.push(id));
    try {
      await waitFor(() => here.connected() && there.connected(), { what: 'LISTEN' });
      const session = sampleSession();
      await nodeA.createSession(session);
      await nodeA.endSession(session.id, 'logout', session.createdAt + 1);
      // Notifications reach a listener in commit order, so the marker comes after anything
      // the end would have sent to the other channel.
      await poolA.query('SELECT pg_notify($1, $2)', [`${otherSchema}_invalidate`, 'marker']);
      await waitFor(() => heardHere.includes(session.id), { what: 'the notification' });
      await waitFor(() => heardThere.length > 0, { what: 'the marker' });
      assert.deepEqual(heardThere, ['marker']);
    } finally {
      await otherNode.close();
      await here.close();
    }
  });
});
