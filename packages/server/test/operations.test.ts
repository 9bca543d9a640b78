import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { bearer, startHarness } from './harness.js';

describe('health and readiness', () => {
  it('/healthz answers 200 and /readyz 200 while the store answers', async () => {
    const h = await startHarness();
    assert.deepEqual((await h.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    const ready = await h.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready' });
    await h.close();
  });

  it('/readyz answers 503 when the check fails, without the error text', async () => {
    const h = await startHarness({
      server: {
        readinessCheck: () => Promise.reject(new Error('connect ECONNREFUSED db.internal:5432')),
      },
    });
    const response = await h.inject({ method: 'GET', url: '/readyz' });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), { status: 'unavailable', reason: 'store_unreachable' });
    assert.equal((await h.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    await h.close();
  });

  it('/readyz answers 503 when the check hangs past the timeout', async () => {
    const h = await startHarness({
      server: { readinessCheck: () => new Promise(() => {}), readinessTimeoutMs: 20 },
    });
    const response = await h.inject({ method: 'GET', url: '/readyz' });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), { status: 'unavailable', reason: 'timeout' });
    await h.close();
  });
});

describe('metrics', () => {
  it('exposes request, session and reuse counters after a flow', async () => {
    const h = await startHarness({ engine: { refreshGraceSeconds: 0 } });
    const created = await h.createSession({ policy: 'high' });
    await h.inject({ method: 'GET', url: '/v1/session', headers: bearer(created.access_token) });
    const refresh = (token: string) =>
      h.inject({
        method: 'POST',
        url: '/v1/token',
        payload: { grant_type: 'refresh_token', refresh_token: token },
      });
    await refresh(created.refresh_token);
    await refresh(created.refresh_token); // reuse: ends the session
    await h.createSession();
    await h.inject({
      method: 'POST',
      url: '/v1/users/alice/sessions/end',
      headers: bearer(h.keys.admin),
      payload: { reason: 'password_changed' },
    });
    const response = await h.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    const text = response.body;
    for (const line of [
      'tessera_sessions_created_total{policy="high"} 1',
      'tessera_sessions_created_total{policy="medium"} 1',
      'tessera_sessions_ended_total{reason="refresh_token_reuse"} 1',
      'tessera_sessions_ended_total{reason="password_changed"} 1',
      'tessera_refresh_reuse_total 1',
      'tessera_http_requests_total{method="GET",route="/v1/session",status="200"} 1',
      'tessera_http_requests_total{method="POST",route="/v1/token",status="400"} 1',
      'tessera_http_request_duration_seconds_count{method="GET",route="/v1/session",status="200"} 1',
      'tessera_http_request_duration_seconds_bucket{method="GET",route="/v1/session",status="200",le="+Inf"} 1',
      '# TYPE tessera_http_request_duration_seconds histogram',
    ]) {
      assert.ok(text.includes(line), `missing: ${line}`);
    }
    // Buckets are cumulative: each `le` counts at least as many requests as the one before.
    const buckets = [
      ...text.matchAll(
        /duration_seconds_bucket\{method="GET",route="\/v1\/session",status="200",le="[^"]+"\} (\d+)/g,
      ),
    ].map((m) => Number(m[1]));
    assert.equal(buckets.length, 13);
    assert.deepEqual(
      [...buckets].sort((a, b) => a - b),
      buckets,
    );
    await h.close();
  });

  it('uses a registry per server, with the default process metrics', async () => {
    const { createMetrics } = await import('@tessera/server');
    const a = createMetrics();
    const b = createMetrics();
    assert.notEqual(a.registry, b.registry);
    assert.match(await a.registry.metrics(), /process_cpu_user_seconds_total/);
  });
});

describe('OpenAPI document', () => {
  it('lists every route, with the security schemes', async () => {
    const h = await startHarness();
    const response = await h.inject({ method: 'GET', url: '/openapi.json' });
    const doc = response.json();
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), [
      'accessToken',
      'dpopAccessToken',
      'serviceKey',
    ]);
    const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const expected = [
      'POST /v1/token',
      'POST /v1/revoke',
      'POST /v1/introspect',
      'POST /v1/sessions',
      'GET /v1/users/{user_id}/sessions',
      'POST /v1/users/{user_id}/sessions/end',
      'POST /v1/users/{user_id}/devices/{device_id}/end',
      'DELETE /v1/sessions/{id}',
      'POST /v1/sessions/{id}/step-up',
      'GET /v1/events',
      'POST /v1/webhooks',
      'GET /v1/webhooks',
      'GET /v1/webhooks/deliveries',
      'GET /v1/webhooks/{id}',
      'POST /v1/webhooks/{id}/disable',
      'POST /v1/webhooks/{id}/enable',
      'POST /v1/webhooks/{id}/rotate-secret',
      'GET /v1/session',
      'GET /v1/sessions',
      'DELETE /v1/sessions',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
    ];
    assert.deepEqual(listed.sort(), expected.sort());
    const token = doc.paths['/v1/token'].post;
    assert.ok(token.requestBody.content['application/x-www-form-urlencoded']);
    assert.ok(token.requestBody.content['application/json']);
    assert.deepEqual(doc.paths['/v1/sessions'].post.security, [{ serviceKey: [] }]);
    assert.deepEqual(doc.paths['/v1/session'].get.security, [
      { accessToken: [] },
      { dpopAccessToken: [] },
    ]);
    await h.close();
  });
});

describe('purge timer', () => {
  it('runs purgeExpired every interval and stops on close', async (t) => {
    mock.timers.enable({ apis: ['setInterval'] });
    t.after(() => mock.timers.reset());
    const h = await startHarness({ server: { purgeIntervalSeconds: 300 } });
    const purge = mock.method(h.tessera, 'purgeExpired');
    mock.timers.tick(299_999);
    assert.equal(purge.mock.callCount(), 0);
    mock.timers.tick(1);
    assert.equal(purge.mock.callCount(), 1);
    await h.close();
    mock.timers.tick(600_000);
    assert.equal(purge.mock.callCount(), 1);
  });
});

describe('options', () => {
  it('refuses a bad option value at start-up, naming it', async () => {
    const { createMemoryStore, createTessera, isTesseraError } = await import('@tessera/core');
    const { buildServer } = await import('@tessera/server');
    const tessera = createTessera({ store: createMemoryStore() });
    await assert.rejects(
      buildServer({ tessera, logger: false, rateLimit: { tokenPerMinute: 0 } }),
      (error: unknown) =>
        isTesseraError(error, 'invalid_config') &&
        /rate_limit\.token_per_minute/.test(error.message),
    );
    await assert.rejects(
      buildServer({ tessera, logger: false, bodyLimitBytes: 1.5 }),
      /body_limit_bytes must be a whole number/,
    );
  });
});
