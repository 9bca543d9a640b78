import type { InvalidationChannel } from '@tessera/core';
import type { Client, Notification, QueryConfig } from 'pg';

export interface InvalidationListenOptions {
  /** A fresh, unconnected client; called again for every reconnection. */
  makeClient: () => Client;
  /** The NOTIFY channel, already validated as a plain lower-case identifier. */
  channel: string;
  listener: (sessionId: string) => void;
  onConnected: (() => void) | undefined;
  reconnectMinDelayMillis: number;
  reconnectMaxDelayMillis: number;
  heartbeatIntervalMillis: number;
}

/**
 * Keeps one dedicated connection in `LISTEN` on the invalidation channel. `pg.Pool` cannot do
 * this: a pooled connection is handed to other queries and may be closed when idle, and a
 * LISTEN lives only as long as its connection.
 *
 * Notifications sent while no connection is listening are lost for good (PostgreSQL does not
 * queue them for absent listeners). That is why `connected()` is false from the first sign of
 * trouble until LISTEN is confirmed again, and why `onConnected` fires before it turns true:
 * a cache must be bypassed while it is false and must forget everything when it comes back.
 * A heartbeat catches a connection that died silently (no FIN, for example a paused server or
 * a dropped network path), which TCP alone may not notice for minutes.
 */
export function listenForInvalidations(options: InvalidationListenOptions): InvalidationChannel {
  const {
    makeClient,
    channel,
    listener,
    onConnected,
    reconnectMinDelayMillis,
    reconnectMaxDelayMillis,
    heartbeatIntervalMillis,
  } = options;
  let current: { client: Client; lose: () => void } | null = null;
  let listening = false;
  let closed = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;

  function scheduleReconnect() {
    if (closed || retryTimer) return;
    // Exponential backoff with jitter, so that many nodes do not reconnect in lockstep when
    // the database comes back.
    const ceiling = Math.min(reconnectMaxDelayMillis, reconnectMinDelayMillis * 2 ** failures);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    failures += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void open();
    }, delay);
    retryTimer.unref();
  }

  async function open() {
    if (closed) return;
    let client: Client;
    try {
      client = makeClient();
    } catch {
      // A factory that fails (bad configuration, exhausted resources) is retried like a
      // failed connection: the channel stays down, and caches stay bypassed, meanwhile.
      scheduleReconnect();
      return;
    }
    let lost = false;
    const lose = () => {
      if (lost) return;
      lost = true;
      listening = false;
      if (current?.client === client) current = null;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      scheduleReconnect();
    };
    current = { client, lose };
    client.on('error', lose);
    client.on('end', lose);
    client.on('notification', (message: Notification) => {
      if (message.channel !== channel || !message.payload) return;
      try {
        listener(message.payload);
      } catch {
        // The exception would surface inside pg's message parser and break the connection.
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
    } catch {
      lose();
      return;
    }
    if (lost) return;
    if (closed) {
      client.end().catch(() => {});
      return;
    }
    try {
      onConnected?.();
    } catch {
      // Same reason as for the listener; the channel still comes up.
    }
    failures = 0;
    listening = true;
  }

  async function heartbeat() {
    const connection = current;
    if (!connection || !listening) return;
    try {
      // `query_timeout` per query is supported by pg but missing from its type definitions.
      const probe = { text: 'SELECT 1', query_timeout: heartbeatIntervalMillis };
      await connection.client.query(probe as QueryConfig);
    } catch {
      connection.lose();
    }
  }

  heartbeatTimer = setInterval(() => void heartbeat(), heartbeatIntervalMillis);
  heartbeatTimer.unref();
  void open();

  return {
    connected: () => listening,
    async close() {
      closed = true;
      listening = false;
      clearTimeout(retryTimer);
      clearInterval(heartbeatTimer);
      retryTimer = undefined;
      heartbeatTimer = undefined;
      const connection = current;
      current = null;
      if (connection) {
        connection.client.removeAllListeners('notification');
        await connection.client.end().catch(() => {});
      }
    },
  };
}
