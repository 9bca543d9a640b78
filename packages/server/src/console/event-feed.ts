import type { SessionEventType, Tessera } from '@tessera/core';
import type { FastifyReply } from 'fastify';
import { eventJson } from '../json.js';
import { collectEvents } from './event-reading.js';

export interface FeedFilters {
  userId?: string;
  type?: SessionEventType;
  reason?: string;
}

export interface EventFeedOptions {
  /** How often each open feed asks the store for new events. @default 1000 */
  pollIntervalMs?: number;
  /** A comment line this often keeps proxies from closing a quiet feed. @default 15000 */
  heartbeatMs?: number;
  /** Open feeds one node serves at most (each polls the store); more get 503. @default 200 */
  maxFeeds?: number;
}

/** How long after its instant an event may still become visible below a later id. */
const SETTLE_MS = 2000;

/** Cursors of the stores: SQLite/PostgreSQL row ids, Redis stream ids. */
const CURSOR = /^[0-9]{1,20}(-[0-9]{1,20})?$/;
export const isFeedCursor = (value: string | undefined): value is string =>
  value !== undefined && CURSOR.test(value);

/**
 * The live event feed: server-sent events read from the store's events (not from this node's
 * memory), so an event recorded by any node reaches every operator's feed within one poll.
 * Each feed resumes after its cursor: the `Last-Event-ID` the browser sends when it reconnects,
 * possibly to another node, or the cursor of the page it was opened from, so nothing is missed
 * or shown twice. A feed ends when its operator session is no longer live (reading the feed is
 * not activity: an open tab does not keep a session alive past its idle deadline).
 */
export function createEventFeed(tessera: Tessera, options: EventFeedOptions = {}) {
  const { pollIntervalMs = 1000, heartbeatMs = 15_000, maxFeeds = 200 } = options;
  const open = new Set<() => void>();

  return {
    /** False when this node already serves `maxFeeds` feeds. */
    hasRoom(): boolean {
      return open.size < maxFeeds;
    },

    /** Streams to `reply` (hijacked) until the client goes or the session ends. */
    stream(
      reply: FastifyReply,
      feed: { consoleSessionId: string; filters: FeedFilters; cursor: string | null },
    ): void {
      const { filters, consoleSessionId } = feed;
      // Re-read from `settled` at every poll: ids are handed out when an event is written but
      // become visible when it commits, so on PostgreSQL a lower id can appear after a higher
      // one was read. Events younger than SETTLE_MS are read again (and `sent` keeps them from
      // being streamed twice) until that can no longer happen; only then does `settled` pass them.
      let settled = feed.cursor;
      let sent = new Set<string>();
      const cursor = feed.cursor;
      // Without a cursor, the feed starts now: only events from this instant on.
      const since = cursor === null ? tessera.clock.now() - 1000 : undefined;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string | string[]>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      raw.write('retry: 2000\n\n');
      let busy = false;
      let closed = false;

      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(poller);
        clearInterval(heartbeat);
        open.delete(close);
        raw.end();
      };

      const tick = async () => {
        if (busy || closed) return;
        busy = true;
        try {
          if ((await tessera.getLiveSession(consoleSessionId)) === null) {
            raw.write('event: signed-out\ndata: {}\n\n');
            close();
            return;
          }
          const page = await collectEvents(
            tessera,
            {
              ...(settled === null ? {} : { after: settled }),
              ...(since === undefined ? {} : { since }),
              ...(filters.userId === undefined ? {} : { userId: filters.userId }),
              ...(filters.type === undefined ? {} : { type: filters.type }),
            },
            5000,
          );
          for (const event of page.events) {
            if (sent.has(event.id)) continue;
            if (filters.reason !== undefined && event.reason !== filters.reason) continue;
            if (closed) return;
            raw.write(
              `id: ${event.id}\nevent: tessera\ndata: ${JSON.stringify(eventJson(event))}\n\n`,
            );
          }
          // Settle the oldest run of events past SETTLE_MS; keep the younger ones' ids.
          const young = tessera.clock.now() - SETTLE_MS;
          let settledUpTo = -1;
          while (
            settledUpTo + 1 < page.events.length &&
            (page.events[settledUpTo + 1] as { at: number }).at < young
          ) {
            settledUpTo += 1;
          }
          if (settledUpTo >= 0) settled = (page.events[settledUpTo] as { id: string }).id;
          else if (page.events.length === 0 && page.truncated && page.cursor !== null) {
            settled = page.cursor; // a long stretch without a match (Redis scans in chunks)
          }
          sent = new Set(page.events.slice(settledUpTo + 1).map((e) => e.id));
        } catch {
          // Store unreachable: say so and try again at the next poll (the browser keeps waiting).
          if (!closed) raw.write('event: unavailable\ndata: {}\n\n');
        } finally {
          busy = false;
        }
      };

      const poller = setInterval(() => void tick(), pollIntervalMs);
      const heartbeat = setInterval(() => {
        if (!closed) raw.write(': keep-alive\n\n');
      }, heartbeatMs);
      open.add(close);
      raw.on('close', close);
      void tick();
    },

    /** Ends every open feed (the server is closing: browsers reconnect to another node). */
    closeAll(): void {
      for (const close of [...open]) close();
    },
  };
}
