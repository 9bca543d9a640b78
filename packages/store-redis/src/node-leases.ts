import {
  encodeAckMessage,
  encodeInvalidationMessage,
  type LeaseHolder,
  type NodeInvalidation,
  type SessionStore,
} from '@tessera/core';
import { luaScript, type RedisLink } from './redis-link.js';

/*
 * Node leases on Redis (the protocol is in @tessera/core `node-lease.ts`). Per node, two keys
 * in one slot (hash tag `{<nodeId>}`), so that each step is one atomic script:
 *   `<prefix>n:{<nodeId>}`        the lease: a string whose PX expiry *is* the lease, on the
 *                                 Redis server's clock (no node's clock is ever compared);
 *   `<prefix>n:{<nodeId>}:inbox`  hash invalidation id → "from ids,…": delivered, not acked.
 * And `<prefix>nodes`, a sorted set of node ids by last renewal, for enders to find the nodes.
 * A node is added to it before its lease exists, so no live lease is ever missing from it.
 * Because renewal and delivery of one node run on the same slot, they are serialised: either
 * the delivery comes first and the renewal returns it as pending, or the renewal comes first
 * and the delivery reads the renewed time left.
 */

/** KEYS: lease, inbox. ARGV: leaseMs. Returns {0} after a lapse, else {1, inbox fields}. */
const RENEW = luaScript(`
local had = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
if had == 0 then
  redis.call('DEL', KEYS[2])
  return {0}
end
return {1, redis.call('HGETALL', KEYS[2])}
`);

/** KEYS: lease, inbox. ARGV: invalidation id, payload, inbox TTL ms. Returns ms left, or -1. */
const DELIVER = luaScript(`
local left = redis.call('PTTL', KEYS[1])
if left <= 0 then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return left
`);

/*
 * Why the protocol's messages are published on every master of a Cluster, not once: a PUBLISH
 * reaches subscribers on other nodes over the cluster bus, and two bus messages in quick
 * succession (the end script's own message, then the delivery) measured a 40 ms stall in about
 * one case in ten (the bus link waits for the peer's delayed ACK before sending the second
 * small packet). Published on every master, each subscriber hears its own node's copy at once;
 * the copies that arrive later over the bus are duplicates the core ignores (acks are counted
 * per node, and a delivery is acknowledged once). Sharded pub/sub (SPUBLISH to a channel in each
 * node's slot) would send each message only where it is needed; plain PUBLISH keeps one
 * subscription per node, and a message per master per end is small next to the writes.
 */

/** Registry entries not renewed for this long are dropped (their lease died long ago). */
const FORGET_NODES_AFTER_MS = 10 * 60_000;
/** An inbox outlives any live lease by far: a live node empties it at every renewal. */
const INBOX_TTL_MS = 60_000;

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

export function redisNodeLeaseVerbs(link: RedisLink, prefix: string, channel: string): LeaseVerbs {
  const registry = `${prefix}nodes`;
  const leaseKey = (nodeId: string) => `${prefix}n:{${nodeId}}`;
  const inboxKey = (nodeId: string) => `${prefix}n:{${nodeId}}:inbox`;

  /** PUBLISH on every master (one on a standalone server): see above. */
  async function publishEverywhere(message: string): Promise<void> {
    await link.eachMaster((send) => send(['PUBLISH', channel, message]));
  }

  function parseInbox(fields: unknown): NodeInvalidation[] {
    const flat = Array.isArray(fields) ? fields.map(String) : [];
    const pending: NodeInvalidation[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [from = '', ids = ''] = (flat[i + 1] as string).split(' ');
      pending.push({ id: flat[i] as string, from, sessionIds: ids === '' ? [] : ids.split(',') });
    }
    return pending;
  }

  return {
    async renewNodeLease(nodeId, leaseMs) {
      const now = Date.now();
      await link.send(registry, ['ZADD', registry, String(now), nodeId]);
      const reply = (await link.run(
        RENEW,
        [leaseKey(nodeId), inboxKey(nodeId)],
        [String(leaseMs)],
      )) as [number, unknown?];
      // Housekeeping that changes no answer: a node gone for minutes leaves the registry.
      link
        .send(registry, ['ZREMRANGEBYSCORE', registry, '-inf', `(${now - FORGET_NODES_AFTER_MS}`])
        .catch(() => {});
      if (Number(reply[0]) !== 1) return { continued: false, pending: [] };
      return { continued: true, pending: parseInbox(reply[1]) };
    },

    async releaseNodeLease(nodeId) {
      await link.send(leaseKey(nodeId), ['DEL', leaseKey(nodeId), inboxKey(nodeId)]);
      await link.send(registry, ['ZREM', registry, nodeId]);
    },

    async deliverInvalidation(invalidation) {
      const nodes = ((await link.send(registry, ['ZRANGE', registry, '0', '-1'])) as unknown[])
        .map(String)
        .filter((nodeId) => nodeId !== invalidation.from);
      const payload = `${invalidation.from} ${invalidation.sessionIds.join(',')}`;
      const [left] = await Promise.all([
        Promise.all(
          nodes.map((nodeId) =>
            link.run(
              DELIVER,
              [leaseKey(nodeId), inboxKey(nodeId)],
              [invalidation.id, payload, String(INBOX_TTL_MS)],
            ),
          ),
        ),
        // Sent alongside: a node that hears it before its inbox entry is written drops and
        // acknowledges all the same (the ack then also removes nothing, which is harmless).
        publishEverywhere(encodeInvalidationMessage(invalidation)),
      ]);
      const holders: LeaseHolder[] = [];
      nodes.forEach((nodeId, i) => {
        const remainingMs = Number(left[i]);
        if (remainingMs > 0) holders.push({ nodeId, remainingMs });
      });
      return holders;
    },

    async ackInvalidations(nodeId, invalidationIds) {
      if (invalidationIds.length === 0) return;
      await Promise.all([
        link.send(inboxKey(nodeId), ['HDEL', inboxKey(nodeId), ...invalidationIds]),
        publishEverywhere(encodeAckMessage(nodeId, invalidationIds)),
      ]);
    },

    async unackedNodes(invalidationId, nodeIds) {
      const found = await Promise.all(
        nodeIds.map((nodeId) =>
          link.send(inboxKey(nodeId), ['HEXISTS', inboxKey(nodeId), invalidationId]),
        ),
      );
      return nodeIds.filter((_, i) => Number(found[i]) === 1);
    },
  };
}
