import { END_REASONS, type Tessera } from '@tessera/core';
import { barChart, columnChart } from './charts.js';
import { collectEvents } from './event-reading.js';
import { type Html, html } from './html.js';
import { eventTable } from './pages.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/**
 * The overview, from the store (so every node shows the same): live sessions by policy, sessions
 * created and ended per minute over the last hour (ended by reason), and refresh-token reuse
 * (the theft signal) over the last 24 hours, with the latest alerts listed.
 */
export async function overviewPage(tessera: Tessera): Promise<Html> {
  const now = tessera.clock.now();
  const firstMinute = Math.floor(now / MINUTE) * MINUTE - 59 * MINUTE;
  const firstHour = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
  const [live, lastHour, reuse] = await Promise.all([
    tessera.store.countLiveSessionsByPolicy(now),
    collectEvents(tessera, { since: firstMinute }),
    collectEvents(tessera, { type: 'session.refresh_reuse', since: firstHour }),
  ]);

  const policies = [...new Set([...tessera.policies.keys(), ...Object.keys(live)])];
  const liveRows = policies.map((policy) => ({ label: policy, value: live[policy] ?? 0 }));
  const totalLive = liveRows.reduce((sum, row) => sum + row.value, 0);

  const minutes = Array.from({ length: 60 }, (_, i) => firstMinute + i * MINUTE);
  const created = minutes.map(() => 0);
  const endedBy = new Map<string, number[]>();
  for (const event of lastHour.events) {
    const i = Math.floor((event.at - firstMinute) / MINUTE);
    if (i < 0 || i >= 60) continue;
    if (event.type === 'session.created') created[i] = (created[i] ?? 0) + 1;
    if (event.type === 'session.ended') {
      const reason = event.reason ?? 'unknown';
      const row = endedBy.get(reason) ?? minutes.map(() => 0);
      row[i] = (row[i] ?? 0) + 1;
      endedBy.set(reason, row);
    }
  }
  const reasons = [...END_REASONS, 'unknown'].filter((r) => endedBy.has(r));

  const hours = Array.from({ length: 24 }, (_, i) => firstHour + i * HOUR);
  const reusePerHour = hours.map(() => 0);
  for (const event of reuse.events) {
    const i = Math.floor((event.at - firstHour) / HOUR);
    if (i >= 0 && i < 24) reusePerHour[i] = (reusePerHour[i] ?? 0) + 1;
  }
  const reuseLastHour = reuse.events.filter((e) => e.at >= now - HOUR).length;
  const truncated = lastHour.truncated
    ? html`<p class="hint">More than ${lastHour.events.length} events in the last hour: the charts show the first ${lastHour.events.length}.</p>`
    : '';

  return html`<section aria-labelledby="live-h">
<h2 id="live-h">Live sessions: ${totalLive}</h2>
${barChart({
  title: 'Live sessions by policy',
  description: liveRows.map((r) => `${r.label}: ${r.value}`).join(', '),
  rows: liveRows,
})}
</section>
<section aria-labelledby="rate-h">
<h2 id="rate-h">Sessions per minute, last hour</h2>
${truncated}
${columnChart({
  title: 'Sessions created per minute',
  description: `${created.reduce((a, b) => a + b, 0)} sessions created in the last 60 minutes`,
  series: [{ name: 'created' }],
  buckets: minutes.map((m, i) => ({ label: hhmm(m), values: [created[i] ?? 0] })),
})}
${columnChart({
  title: 'Sessions ended per minute, by reason',
  description:
    reasons.length === 0
      ? 'No session ended in the last 60 minutes'
      : reasons.map((r) => `${r}: ${(endedBy.get(r) ?? []).reduce((a, b) => a + b, 0)}`).join(', '),
  series: reasons.map((name) => ({ name })),
  buckets: minutes.map((m, i) => ({
    label: hhmm(m),
    values: reasons.map((r) => endedBy.get(r)?.[i] ?? 0),
  })),
})}
</section>
<section aria-labelledby="reuse-h">
<h2 id="reuse-h">Refresh-token reuse alerts</h2>
<p class="${reuseLastHour > 0 ? 'alert' : ''}">${reuseLastHour} in the last hour, ${reuse.events.length} in the last 24 hours. Each one is a rotated refresh token presented again: a copy of it exists, and Tessera ended that session.</p>
${columnChart({
  title: 'Refresh-token reuse per hour, last 24 hours',
  description: `${reuse.events.length} reuse alerts in the last 24 hours`,
  series: [{ name: 'reuse' }],
  buckets: hours.map((h, i) => ({ label: hhmm(h), values: [reusePerHour[i] ?? 0] })),
  labelEvery: 3,
})}
${reuse.events.length === 0 ? '' : html`<h3>Latest alerts</h3>${eventTable(reuse.events.slice(-20).reverse())}`}
</section>`;
}
