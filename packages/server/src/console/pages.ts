import {
  END_REASONS,
  EVENT_TYPES,
  type PolicyTier,
  SCOPES,
  type ServiceKeyRecord,
  type SessionEvent,
  type SessionRecord,
} from '@tessera/core';
import { type Html, html, query } from './html.js';

/** `2026-12-07 12:34:56 UTC`. */
export function formatInstant(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `14 min 59 s`, `2 h 3 min`, `3 d 4 h`, or `expired`. */
export function formatRemaining(ms: number): string {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** A deadline that counts down in the page (console.js), rendered right for script-less pages. */
function countdown(deadline: number, now: number): Html {
  return html`<time class="countdown" datetime="${new Date(deadline).toISOString()}" data-deadline="${deadline}" title="${formatInstant(deadline)}">${formatRemaining(deadline - now)}</time>`;
}

function hidden(name: string, value: string): Html {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

export function signInPage(options: { name?: string }): Html {
  return html`<form class="card" method="post" action="/console/sign-in">
<p><label for="name">Operator name</label>
<input id="name" name="name" autocomplete="username" required maxlength="64" value="${options.name ?? ''}" autofocus></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"></p>
<p><button type="submit">Sign in</button></p>
</form>
<p class="hint">Operator accounts are created with <code>tessera operators create</code>.</p>`;
}

export function userSearch(userId: string | undefined): Html {
  return html`<form class="inline" method="get" action="/console/users" role="search">
<label for="user_id">User id</label>
<input id="user_id" name="user_id" value="${userId ?? ''}" required maxlength="256" autocomplete="off">
<button type="submit">Look up</button>
</form>`;
}

export function userPage(options: {
  userId: string;
  sessions: readonly SessionRecord[];
  ended: readonly SessionEvent[];
  csrfToken: string;
  now: number;
}): Html {
  const { userId, sessions, ended, csrfToken, now } = options;
  const devices = [...new Set(sessions.map((s) => s.device.id).filter((d) => d !== undefined))];
  const rows = sessions.map(
    (s) => html`<tr data-session-id="${s.id}">
<th scope="row"><span class="device">${s.device.name ?? s.device.id ?? 'unnamed device'}</span>
${s.device.id ? html`<br><small>device ${s.device.id}</small>` : ''}<br><small>session ${s.id}</small></th>
<td>${s.device.platform ?? '–'}${s.device.appVersion ? html`<br><small>app ${s.device.appVersion}</small>` : ''}</td>
<td>${s.device.ip ?? '–'}</td>
<td>${s.policy}</td>
<td><time datetime="${new Date(s.createdAt).toISOString()}">${formatInstant(s.createdAt)}</time></td>
<td><time datetime="${new Date(s.lastActiveAt).toISOString()}">${formatInstant(s.lastActiveAt)}</time></td>
<td>${countdown(s.idleExpiresAt, now)}</td>
<td>${countdown(s.absoluteExpiresAt, now)}</td>
<td><form method="post" action="/console/sessions/end">${hidden('csrf_token', csrfToken)}${hidden('session_id', s.id)}${hidden('user_id', userId)}
<button type="submit" aria-label="End session ${s.id}">End</button></form></td>
</tr>`,
  );
  return html`${userSearch(userId)}
<section aria-labelledby="live-h">
<h2 id="live-h">Live sessions of <span class="mono">${userId}</span> (${sessions.length})</h2>
${
  sessions.length === 0
    ? html`<p>No live session.</p>`
    : html`<div class="scroll"><table class="sessions">
<thead><tr><th scope="col">Device</th><th scope="col">Platform</th><th scope="col">IP</th><th scope="col">Policy</th><th scope="col">Created</th><th scope="col">Last active</th><th scope="col">Idle deadline in</th><th scope="col">Absolute deadline in</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody>${rows}</tbody></table></div>
<div class="actions">
${devices.map(
  (
    deviceId,
  ) => html`<form method="post" action="/console/devices/end">${hidden('csrf_token', csrfToken)}${hidden('user_id', userId)}${hidden('device_id', deviceId)}
<button type="submit">End device ${deviceId}</button></form>`,
)}
<a class="button danger" href="/console/users/end-all${query({ user_id: userId })}">End all sessions…</a>
</div>`
}
</section>
<section aria-labelledby="ended-h">
<h2 id="ended-h">Recently ended, and why</h2>
${ended.length === 0 ? html`<p>No session of this user ended in the last 7 days.</p>` : eventTable(ended)}
</section>`;
}

export function stepUpPage(options: {
  action: string;
  what: string;
  fields: Record<string, string>;
  csrfToken: string;
  extra?: Html;
  /** Focus the password field (a page that is only this prompt). @default true */
  autofocus?: boolean;
}): Html {
  const { action, what, fields, csrfToken, extra, autofocus = true } = options;
  return html`<form class="card" method="post" action="${action}">
${hidden('csrf_token', csrfToken)}
${Object.entries(fields).map(([name, value]) => hidden(name, value))}
${extra ?? ''}
<p>To ${what}, confirm it is you: enter your password again.</p>
<p><label for="step-up-password">Your password</label>
<input id="step-up-password" name="password" type="password" autocomplete="current-password" required maxlength="256"${autofocus ? html` autofocus` : ''}></p>
<p><button type="submit" class="danger">Confirm and ${what}</button></p>
</form>`;
}

function eventCells(e: SessionEvent): Html {
  const action =
    typeof e.data['action'] === 'string' ? html` <small>(${e.data['action']})</small>` : '';
  // A failed sign-in names the account that was tried, not someone who acted.
  const operator =
    typeof e.data['operator_name'] === 'string' && e.data['action'] !== 'sign_in_failed'
      ? html`<br><small>by ${e.data['operator_name']}</small>`
      : '';
  return html`<td><time datetime="${new Date(e.at).toISOString()}">${formatInstant(e.at)}</time></td>
<td>${e.type}${action}${operator}</td>
<td><a href="/console/users${query({ user_id: e.userId })}">${e.userId}</a></td>
<td>${e.reason ?? '–'}</td>
<td>${e.deviceId ?? '–'}</td>
<td>${e.ip ?? '–'}</td>
<td class="mono">${e.sessionId}</td>`;
}

export function eventTable(events: readonly SessionEvent[], id?: string): Html {
  return html`<div class="scroll"><table class="events"${id ? html` id="${id}"` : ''}>
<thead><tr><th scope="col">When</th><th scope="col">Type</th><th scope="col">User</th><th scope="col">Reason</th><th scope="col">Device</th><th scope="col">IP</th><th scope="col">Session</th></tr></thead>
<tbody>${events.map((e) => html`<tr data-event-id="${e.id}">${eventCells(e)}</tr>`)}</tbody></table></div>`;
}

export interface EventFilters {
  userId?: string;
  type?: string;
  reason?: string;
}

export function eventsPage(options: {
  filters: EventFilters;
  events: readonly SessionEvent[];
  cursor: string | null;
}): Html {
  const { filters, events, cursor } = options;
  const select = (name: string, label: string, values: readonly string[], current?: string) =>
    html`<p><label for="${name}">${label}</label>
<select id="${name}" name="${name}"><option value="">any</option>${values.map(
      (v) => html`<option value="${v}"${v === current ? html` selected` : ''}>${v}</option>`,
    )}</select></p>`;
  return html`<form class="filters" method="get" action="/console/events">
<p><label for="user_id">User id</label><input id="user_id" name="user_id" value="${filters.userId ?? ''}" maxlength="256"></p>
${select('type', 'Type', EVENT_TYPES, filters.type)}
${select('reason', 'Reason', END_REASONS, filters.reason)}
<p><button type="submit">Filter</button></p>
</form>
<p id="feed-status" class="feed-status" role="status" aria-live="polite" data-cursor="${cursor ?? ''}" data-stream="/console/events/stream${query({ user_id: filters.userId, type: filters.type, reason: filters.reason })}">Showing the latest events; new ones appear at the top as they happen.</p>
${eventTable(events, 'event-feed')}`;
}

export function policiesPage(options: {
  policies: ReadonlyMap<string, PolicyTier>;
  defaultPolicy: string;
}): Html {
  const seconds = (s: number) =>
    formatRemaining(s * 1000)
      .replace(' 0 s', '')
      .replace(' 0 min', '')
      .replace(' 0 h', '');
  return html`<p>Read only: policies come from the configuration (<code>policies</code>, <code>default_policy</code>).</p>
<div class="scroll"><table>
<thead><tr><th scope="col">Policy</th><th scope="col">Idle timeout</th><th scope="col">Absolute lifetime</th><th scope="col">Access token</th></tr></thead>
<tbody>${[...options.policies].map(
    ([
      name,
      tier,
    ]) => html`<tr><th scope="row">${name}${name === options.defaultPolicy ? html` <small>(default)</small>` : ''}</th>
<td>${seconds(tier.idleTimeoutSeconds)} <small>(${tier.idleTimeoutSeconds} s)</small></td>
<td>${seconds(tier.absoluteTimeoutSeconds)} <small>(${tier.absoluteTimeoutSeconds} s)</small></td>
<td>${seconds(tier.accessTokenTtlSeconds)} <small>(${tier.accessTokenTtlSeconds} s)</small></td></tr>`,
  )}</tbody></table></div>`;
}

export function keysPage(options: {
  keys: readonly ServiceKeyRecord[];
  csrfToken: string;
  created?: { key: string; record: ServiceKeyRecord };
}): Html {
  const { keys, csrfToken, created } = options;
  return html`${
    created
      ? html`<section class="card shown-once" aria-labelledby="new-key-h">
<h2 id="new-key-h">Service key ${created.record.name} created</h2>
<p><strong>Copy it now: it is shown only this once.</strong> Only its SHA-256 is stored.</p>
<p><label for="new-key">Key</label><input id="new-key" class="mono" readonly value="${created.key}" size="64"></p>
</section>`
      : ''
  }
<section aria-labelledby="keys-h">
<h2 id="keys-h">Keys</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Revoked</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody>${keys.map(
    (
      k,
    ) => html`<tr><th scope="row">${k.name}</th><td class="mono">${k.id}</td><td>${k.scopes.join(', ')}</td>
<td>${formatInstant(k.createdAt)}</td><td>${k.revokedAt === null ? '–' : formatInstant(k.revokedAt)}</td>
<td>${
      k.revokedAt === null
        ? html`<form method="post" action="/console/keys/revoke">${hidden('csrf_token', csrfToken)}${hidden('key_id', k.id)}
<button type="submit" aria-label="Revoke key ${k.name}">Revoke</button></form>`
        : ''
    }</td></tr>`,
  )}</tbody></table></div>
</section>
<section aria-labelledby="create-h">
<h2 id="create-h">Create a key</h2>
${stepUpPage({
  action: '/console/keys',
  what: 'create the key',
  fields: {},
  csrfToken,
  autofocus: false,
  extra: html`<p><label for="key-name">Name</label><input id="key-name" name="name" required maxlength="100" placeholder="billing-backend"></p>
<fieldset><legend>Scopes</legend>${SCOPES.map(
    (scope) =>
      html`<label class="check"><input type="checkbox" name="scopes" value="${scope}"> ${scope}</label>`,
  )}</fieldset>`,
})}
</section>`;
}

export function accountPage(options: {
  operatorName: string;
  sessions: readonly SessionRecord[];
  currentSessionId: string;
  csrfToken: string;
  now: number;
}): Html {
  const { sessions, currentSessionId, csrfToken, now } = options;
  return html`<section aria-labelledby="mine-h">
<h2 id="mine-h">Your console sessions (${sessions.length})</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">Session</th><th scope="col">IP</th><th scope="col">Browser</th><th scope="col">Signed in</th><th scope="col">Idle deadline in</th></tr></thead>
<tbody>${sessions.map(
    (
      s,
    ) => html`<tr><th scope="row" class="mono">${s.id}${s.id === currentSessionId ? html` <small>(this one)</small>` : ''}</th>
<td>${s.device.ip ?? '–'}</td><td><small>${s.device.userAgent ?? '–'}</small></td>
<td>${formatInstant(s.authenticatedAt)}</td><td>${countdown(s.idleExpiresAt, now)}</td></tr>`,
  )}</tbody></table></div>
<form method="post" action="/console/account/sign-out-everywhere">${hidden('csrf_token', csrfToken)}
<button type="submit" class="danger">Sign out everywhere</button></form>
</section>
<section aria-labelledby="password-h">
<h2 id="password-h">Change your password</h2>
<form class="card" method="post" action="/console/account/password">${hidden('csrf_token', csrfToken)}
<p><label for="current-password">Current password</label>
<input id="current-password" name="current_password" type="password" autocomplete="current-password" required maxlength="256"></p>
<p><label for="new-password">New password (at least 15 characters)</label>
<input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="15" maxlength="256"></p>
<p><button type="submit">Change the password and end your other sessions</button></p>
</form>
</section>`;
}
