import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearer, startHarness } from './harness.js';

const count = (text: string, method: string, route: string, status: number) =>
  Number(
    new RegExp(
      `tessera_http_requests_total\\{method="${method}",route="${route.replace(/\//g, '\\/')}",status="${status}"\\} (\\d+)`,
    ).exec(text)?.[1] ?? 0,
  );

describe('request metrics resolved per route count every answer once', () => {
  it('a matched route is counted once per answer, by status; an unmatched URL as "unmatched"', async () => {
    const h = await startHarness();
    try {
      const created = await h.createSession();
      for (let i = 0; i < 3; i++) {
        await h.inject({
          method: 'GET',
          url: '/v1/session',
          headers: bearer(created.access_token),
        });
      }
      await h.inject({ method: 'GET', url: '/v1/session', headers: bearer('tsa_nope') });
      await h.inject({ method: 'GET', url: '/v1/no-such-route' });
      await h.inject({ method: 'GET', url: `/v1/no-such-route?token=${created.access_token}` });
      await h.inject({ method: 'HEAD', url: '/healthz' });
      const text = (await h.inject({ method: 'GET', url: '/metrics' })).body;
      assert.equal(count(text, 'GET', '/v1/session', 200), 3);
      assert.equal(count(text, 'GET', '/v1/session', 401), 1);
      assert.equal(count(text, 'POST', '/v1/sessions', 201), 1);
      assert.equal(count(text, 'GET', 'unmatched', 404), 1);
      // refused by the hardening hook before routing could matter: still counted, once
      assert.equal(count(text, 'GET', 'unmatched', 400), 1);
      assert.equal(count(text, 'HEAD', '/healthz', 200), 1);
      assert.ok(
        text.includes(
          'tessera_http_request_duration_seconds_count{method="GET",route="/v1/session",status="200"} 3',
        ),
      );
    } finally {
      await h.close();
    }
  });

  it('after a registry reset the per-route observers count from zero again', async () => {
    const h = await startHarness();
    try {
      const created = await h.createSession();
      await h.inject({ method: 'GET', url: '/v1/session', headers: bearer(created.access_token) });
      h.metrics.registry.resetMetrics();
      await h.inject({ method: 'GET', url: '/v1/session', headers: bearer(created.access_token) });
      const text = (await h.inject({ method: 'GET', url: '/metrics' })).body;
      assert.equal(count(text, 'GET', '/v1/session', 200), 1);
      assert.equal(count(text, 'POST', '/v1/sessions', 201), 0);
    } finally {
      await h.close();
    }
  });
});
