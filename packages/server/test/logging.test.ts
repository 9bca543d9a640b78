import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskCredentials } from '@tessera/server';
import { bearer, startHarness } from './harness.js';

const CREDENTIAL = /ts[akr]_[0-9A-Za-z]{6,}/;

describe('logs never carry a token or a service key', () => {
  it('a full flow logged at trace, request logs on, leaves no credential in any line', async () => {
    const h = await startHarness({
      logLevel: 'trace',
      server: {
        logRequests: true,
        // a failing dependency whose error message quotes a token: masked all the same
        readinessCheck: async () => {
          throw new Error(`store said no to tsk_${'Q'.repeat(49)}`);
        },
      },
    });
    const secrets: string[] = [...Object.values(h.keys)];
    const created = await h.createSession({ device: { id: 'd1' } });
    secrets.push(created.access_token, created.refresh_token);
    await h.inject({ method: 'GET', url: '/v1/session', headers: bearer(created.access_token) });
    await h.inject({ method: 'GET', url: `/v1/session?access_token=${created.access_token}` });
    await h.inject({ method: 'GET', url: `/v1/sessions/${created.refresh_token}` });
    await h.inject({
      method: 'POST',
      url: '/v1/introspect',
      headers: bearer(h.keys.introspect),
      payload: { token: created.refresh_token },
    });
    const rotated = await h.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=refresh_token&refresh_token=${created.refresh_token}`,
    });
    secrets.push(rotated.json().access_token, rotated.json().refresh_token);
    await h.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/json' },
      payload: `{"grant_type":"refresh_token","refresh_token":"${rotated.json().refresh_token}`,
    });
    const stepped = await h.inject({
      method: 'POST',
      url: `/v1/sessions/${created.session.id}/step-up`,
      headers: bearer(h.keys['sessions:write']),
      payload: { auth_methods: ['pwd'] },
    });
    secrets.push(stepped.json().access_token, stepped.json().refresh_token);
    await h.inject({ method: 'GET', url: '/v1/events', headers: bearer(h.keys.admin) });
    await h.inject({ method: 'GET', url: '/readyz' });
    await h.inject({
      method: 'GET',
      url: '/v1/session',
      headers: bearer('tsa_notavalidtokenatall'),
    });
    await h.inject({
      method: 'POST',
      url: '/v1/revoke',
      payload: { token: stepped.json().refresh_token },
    });
    await h.close();

    const text = h.logs.join('');
    assert.ok(h.logs.length > 20, `expected a busy log, got ${h.logs.length} lines`);
    assert.ok(text.includes('incoming request'), 'request logging was on');
    assert.ok(text.includes('tsk_[redacted]'), 'the readiness error was logged, masked');
    for (const secret of secrets) {
      // not the token, and not its random part either
      assert.ok(!text.includes(secret.slice(4, 24)), `a credential leaked: ${secret.slice(0, 4)}…`);
    }
    const leaked = h.logs.find((line) => CREDENTIAL.test(line));
    assert.equal(leaked, undefined);
  });

  it('maskCredentials masks any credential-shaped text, percent-encoded too', () => {
    assert.equal(
      maskCredentials('a tsa_abc123 b tsr_Z c tsk_9'),
      'a tsa_[redacted] b tsr_[redacted] c tsk_[redacted]',
    );
    assert.equal(maskCredentials('/x?q=tsa%5Fabc'), '/x?q=tsa_[redacted]');
    assert.equal(maskCredentials('nothing here'), 'nothing here');
  });
});
