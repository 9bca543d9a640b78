// Tessera console: the one script of the console (no framework, no inline code, CSP script-src 'self').
// Every page works without it; it adds live countdowns and the live event feed.

(() => {
  function remaining(ms) {
    if (ms <= 0) return 'expired';
    const s = Math.floor(ms / 1000);
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }

  function instant(iso) {
    return iso.slice(0, 19).replace('T', ' ') + ' UTC';
  }

  // Countdowns: idle and absolute deadlines of each session, ticking every second.
  function tick() {
    const now = Date.now();
    const nodes = document.querySelectorAll('time.countdown[data-deadline]');
    for (let i = 0; i < nodes.length; i++) {
      const left = Number(nodes[i].getAttribute('data-deadline')) - now;
      const text = remaining(left);
      if (nodes[i].textContent !== text) nodes[i].textContent = text;
      if (left <= 0) nodes[i].classList.add('expired');
    }
  }
  if (document.querySelector('time.countdown')) {
    tick();
    setInterval(tick, 1000);
  }

  // The new key is selected on focus, ready to copy.
  const key = document.getElementById('new-key');
  if (key) {
    key.addEventListener('focus', () => {
      key.select();
    });
  }

  // Live event feed: server-sent events from the store, newest first.
  const status = document.getElementById('feed-status');
  const table = document.getElementById('event-feed');
  if (!status || !table || typeof EventSource === 'undefined') return;
  const body = table.tBodies[0];
  let url = status.getAttribute('data-stream');
  const cursor = status.getAttribute('data-cursor');
  if (cursor) url += (url.indexOf('?') === -1 ? '?' : '&') + 'after=' + encodeURIComponent(cursor);

  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function addEvent(event) {
    if (body.querySelector('tr[data-event-id="' + CSS.escape(event.id) + '"]')) return;
    const row = document.createElement('tr');
    row.setAttribute('data-event-id', event.id);
    row.className = 'fresh';
    const when = document.createElement('time');
    when.setAttribute('datetime', event.at);
    when.textContent = instant(event.at);
    cell(row, '').appendChild(when);
    const type = cell(row, event.type);
    if (event.data && typeof event.data.action === 'string') {
      const action = document.createElement('small');
      action.textContent = ' (' + event.data.action + ')';
      type.appendChild(action);
    }
    if (
      event.data &&
      typeof event.data.operator_name === 'string' &&
      event.data.action !== 'sign_in_failed'
    ) {
      type.appendChild(document.createElement('br'));
      const by = document.createElement('small');
      by.textContent = 'by ' + event.data.operator_name;
      type.appendChild(by);
    }
    const user = cell(row, '');
    const link = document.createElement('a');
    link.href = '/console/users?user_id=' + encodeURIComponent(event.user_id);
    link.textContent = event.user_id;
    user.appendChild(link);
    cell(row, event.reason || '–');
    cell(row, event.device_id || '–');
    cell(row, event.ip || '–');
    cell(row, event.session_id, 'mono');
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > 500) body.deleteRow(body.rows.length - 1);
  }

  const source = new EventSource(url);
  source.addEventListener('open', () => {
    status.textContent = 'Live: new events appear at the top as they happen.';
    status.classList.remove('warn');
  });
  source.addEventListener('tessera', (message) => {
    addEvent(JSON.parse(message.data));
  });
  source.addEventListener('unavailable', () => {
    status.textContent = 'The session store does not answer; still trying…';
    status.classList.add('warn');
  });
  source.addEventListener('signed-out', () => {
    source.close();
    status.textContent = 'Your console session has ended. Reload the page to sign in again.';
    status.classList.add('warn');
  });
  source.addEventListener('error', () => {
    if (source.readyState !== EventSource.CLOSED) {
      status.textContent = 'Connection lost; reconnecting…';
      status.classList.add('warn');
    }
  });
})();
