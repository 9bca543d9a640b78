import {
  encodeAckMessage,
  encodeInvalidationMessage,
  type NodeInvalidation,
  type SessionStore,
} from '@tessera/core';
import type { Query } from './query.js';

/*
 * Node leases on PostgreSQL (the protocol is in @tessera/core `node-lease.ts`), in the tables of
 * migration 4. Every instant is the database's `statement_timestamp()`, so no node's clock is
 * ever compared with another's. A delivery takes `FOR SHARE` on the lease rows it reads: a
 * renewal of the same node (an UPDATE of its row) waits for the delivery to commit, and its
 * next statement then sees the invalidation; a renewal that committed first is what the
 * delivery reads. Either way a node cannot extend its lease past the time an ender waits for
 * without being handed the invalidation.
 */

const NOW = '(extract(epoch FROM statement_timestamp()) * 1000)::bigint';
/** Lease rows not renewed for this long go, with their pending invalidations. */
const FORGET_NODES_AFTER_MS = 10 * 60_000;

type LeaseVerbs = Required<
  Pick<
    SessionStore,
    | 'renewNodeLease'
    | 'releaseNodeLease'
    | 'deliverInvalidation'
    | 'ackInvalidations'
    | 'unackedNodes'
  >
>;

interface PendingRow {
  id: string;
  from_node: string;
  session_ids: string[];
}

export function postgresNodeLeaseVerbs(query: Query, s: string, channel: string): LeaseVerbs {
  return {
    async renewNodeLease(nodeId, leaseMs) {
      // The CTEs share one snapshot: `previous` is the lease as it was before this renewal.
      const { rows } = await query<{ previous: number | null; now: number }>(
        `WITH previous AS (SELECT expires_at FROM ${s}.node_leases WHERE node_id = $1),
         renewed AS (
           INSERT INTO ${s}.node_leases (node_id, expires_at) VALUES ($1, ${NOW} + $2)
           ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
           RETURNING 1)
         SELECT (SELECT expires_at FROM previous) AS previous, ${NOW} AS now FROM renewed`,
        [nodeId, leaseMs],
      );
      const row = rows[0];
      const continued = row !== undefined && row.previous !== null && row.previous > row.now;
      // Housekeeping that changes no answer: nodes gone for minutes.
      query(`DELETE FROM ${s}.node_leases WHERE expires_at < ${NOW} - $1`, [
        FORGET_NODES_AFTER_MS,
      ]).catch(() => {});
      if (!continued) {
        // A new lease starts with an empty cache: what was pending no longer matters.
        await query(`DELETE FROM ${s}.node_invalidations WHERE node_id = $1`, [nodeId]);
        return { continued: false, pending: [] };
      }
      const pending = await query<PendingRow>(
        `SELECT id, from_node, session_ids FROM ${s}.node_invalidations WHERE node_id = $1`,
        [nodeId],
      );
      return {
        continued: true,
        pending: pending.rows.map(
          (p): NodeInvalidation => ({ id: p.id, from: p.from_node, sessionIds: p.session_ids }),
        ),
      };
    },

    async releaseNodeLease(nodeId) {
      await query(`DELETE FROM ${s}.node_leases WHERE node_id = $1`, [nodeId]);
    },

    async deliverInvalidation(invalidation) {
      // One statement: the pending rows, the time left on each lease and the notification
      // (sent at commit, so a node that hears it finds its row).
      const { rows } = await query<{ node_id: string; remaining: number }>(
        `WITH live AS (
           SELECT node_id, expires_at - ${NOW} AS remaining FROM ${s}.node_leases
            WHERE expires_at > ${NOW} AND node_id <> $1
            FOR SHARE),
         queued AS (
           INSERT INTO ${s}.node_invalidations (node_id, id, from_node, session_ids)
           SELECT node_id, $2, $1, $3 FROM live)
         SELECT live.node_id, live.remaining FROM live, (SELECT pg_notify($4, $5)) AS sent`,
        [
          invalidation.from,
          invalidation.id,
          invalidation.sessionIds,
          channel,
          encodeInvalidationMessage(invalidation),
        ],
      );
      return rows.map((row) => ({ nodeId: row.node_id, remainingMs: row.remaining }));
    },

    async ackInvalidations(nodeId, invalidationIds) {
      if (invalidationIds.length === 0) return;
      await query(
        `WITH acked AS (
           DELETE FROM ${s}.node_invalidations WHERE node_id = $1 AND id = ANY($2))
         SELECT pg_notify($3, $4)`,
        [nodeId, invalidationIds, channel, encodeAckMessage(nodeId, invalidationIds)],
      );
    },

    async unackedNodes(invalidationId, nodeIds) {
      const { rows } = await query<{ node_id: string }>(
        `SELECT node_id FROM ${s}.node_invalidations WHERE id = $1 AND node_id = ANY($2)`,
        [invalidationId, nodeIds],
      );
      const still = new Set(rows.map((row) => row.node_id));
      return nodeIds.filter((nodeId) => still.has(nodeId));
    },
  };
}
