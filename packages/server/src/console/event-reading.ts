import type { EventQuery, SessionEvent, Tessera } from '@tessera/core';

/**
 * Reads the events matching `query` from the store, page after page, up to `maxEvents` (the
 * console's pages stay bounded however busy the store). `cursor` continues after the last one
 * read; `truncated` says the cap was hit.
 */
export async function collectEvents(
  tessera: Tessera,
  query: Omit<EventQuery, 'limit'>,
  maxEvents = 20_000,
): Promise<{ events: SessionEvent[]; cursor: string | null; truncated: boolean }> {
  const events: SessionEvent[] = [];
  let after = query.after;
  for (;;) {
    const page = await tessera.events({
      ...query,
      ...(after === undefined ? {} : { after }),
      limit: Math.min(1000, maxEvents - events.length),
    });
    events.push(...page.events);
    const last = page.events[page.events.length - 1];
    if (last) after = last.id;
    if (page.nextCursor === null) return { events, cursor: after ?? null, truncated: false };
    after = page.nextCursor;
    if (events.length >= maxEvents) return { events, cursor: after, truncated: true };
  }
}
