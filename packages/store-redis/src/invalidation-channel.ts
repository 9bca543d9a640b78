import type { InvalidationChannel } from '@tessera/core';
import { isCluster, type RedisClient, type RedisClusterSubscriberClient } from './redis-link.js';

/**
 * The core `InvalidationChannel`, plus `epoch()`: a number that changes every time the channel
 * (re)connects. Messages published while it was down are lost, so a cache entry stored under an
 * older epoch may have missed its invalidation and must not be used. This closes the gap a cache
 * that only polls `connected()` would leave: an outage shorter than its polling interval.
 */
export interface RedisInvalidationChannel extends InvalidationChannel {
  epoch(): number;
}

/**
 * Subscribes `listener` to the store's invalidation channel on a connection of its own (a
 * subscribed connection can run no other command). `connected()` is true only while that
 * connection is up *and* subscribed: a cache must be bypassed whenever it is false, because a
 * message published meanwhile is lost, not queued (pub/sub delivers at most once).
 *
 * Why plain PUBLISH/SUBSCRIBE and not sharded pub/sub (SPUBLISH) on a Cluster: the store
 * publishes from inside the script that ends or rotates the session (see `scripts.ts`), so the
 * message can never be missing for a change that happened. A script may only use a sharded
 * channel of its own slot, which would mean one channel per slot to subscribe to. Plain PUBLISH
 * is broadcast over the cluster bus to every node, so the subscriber may sit on any node. The cost
 * (one bus message per node per end or rotation) is small next to the session writes themselves.
 */
export function openInvalidationChannel(
  client: RedisClient,
  channel: string,
  listener: (sessionId: string) => void,
  onConnected?: () => void,
): RedisInvalidationChannel {
  const cluster = isCluster(client);
  // The duplicate inherits the application's options: reconnect strategy, offline queue, TLS.
  const subscriber = cluster ? client.duplicate({ minimizeConnections: true }) : client.duplicate();
  let subscribed = false;
  let up = false;
  let epoch = 0;
  let closed = false;
  // Every (re)connection starts a new epoch and tells the subscriber (the core cache clears
  // itself): messages published while the channel was down are lost.
  const newEpoch = () => {
    epoch += 1;
    onConnected?.();
  };
  // Without an 'error' listener node-redis would crash the process on a lost connection; the
  // outage is reported through connected() instead, and the client reconnects by itself.
  subscriber.on('error', () => {
    if (!cluster) up = false;
  });
  if (cluster) {
    // A cluster client reports its nodes' connections as node-* events; its own readiness and
    // that of the node holding the subscription are read directly in connected(). Any node coming
    // (back) up starts a new epoch: conservative, a cache drops a little more than it must.
    up = true;
    subscriber.on('node-ready', newEpoch);
  } else {
    for (const down of ['end', 'reconnecting']) {
      subscriber.on(down, () => {
        up = false;
      });
    }
    // node-redis re-subscribes as part of the reconnection handshake, before 'ready'.
    subscriber.on('ready', () => {
      up = true;
      newEpoch();
    });
  }
  subscriber
    .connect()
    .then(() =>
      subscriber.subscribe(channel, (message) => {
        try {
          listener(message);
        } catch {
          // A listener must not throw; if it does, the channel keeps serving the others.
        }
      }),
    )
    .then(() => {
      subscribed = true;
      up = true;
      newEpoch();
    })
    .catch(() => {
      // Connection failures surface as connected() === false.
    });

  return {
    connected() {
      if (closed || !subscribed || !up || !subscriber.isReady) return false;
      if (!cluster) return true;
      return (subscriber as RedisClusterSubscriberClient).pubSubNode?.client.isReady === true;
    },
    epoch: () => epoch,
    async close() {
      if (closed) return;
      closed = true;
      subscriber.destroy();
    },
  };
}
