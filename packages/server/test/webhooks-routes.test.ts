import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearer, type Harness, startHarness } from './harness.js';

describe('webhook admin API', () => {
  let harness: Harness;
  let key: string;
  before(async () => {
    harness = await startHarness({ logLevel: 'silent' });
    key = (await harness.tessera.createServiceKey({ name: 'hooks', scopes: ['webhooks:admin'] }))
      .key;
  });
  after(() => harness.close());

  const call = (method: 'GET' | 'POST', url: string, payload?: unknown, token = key) =>
    harness.inject({
      method,
      url,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
  const create = (payload: unknown, token = key) => call('POST', '/v1/webhooks', payload, token);
  const good = { url: 'https://app.example/hooks', events: ['session.refresh_reuse'] };

  test('creates a subscription with a whsec_ secret shown once, never listed again', async () => {
    const created = await create({ ...good, description: 'theft alerts' });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.headers['cache-control'], 'no-store');
    const { subscription, secret } = created.json();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(subscription.events, ['session.refresh_reuse']);
    const listed = await call('GET', '/v1/webhooks');
    assert.equal(listed.statusCode, 200);
    assert.ok(listed.json().subscriptions.some((s: { id: string }) => s.id === subscription.id));
    assert.doesNotMatch(listed.body, /whsec_/);
    const one = await call('GET', `/v1/webhooks/${subscription.id}`);
    assert.equal(one.json().subscription.description, 'theft alerts');
    assert.doesNotMatch(one.body, /whsec_/);
  });

  test('needs a service key with webhooks:admin (or admin)', async () => {
    const none = await harness.inject({ method: 'GET', url: '/v1/webhooks' });
    assert.equal(none.statusCode, 401);
    const narrow = await create(good, harness.keys['sessions:write']);
    assert.equal(narrow.statusCode, 403);
    assert.equal(narrow.json().error, 'insufficient_scope');
    assert.match(String(narrow.headers['www-authenticate']), /scope="webhooks:admin"/);
    assert.equal((await create(good, harness.keys.admin)).statusCode, 201);
  });

  test('answers bad input with a precise 400 and writes nothing', async () => {
    const before = (await call('GET', '/v1/webhooks')).json().subscriptions.length;
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, url: 'ftp://app.example/hooks' }, /http:\/\/ or https:\/\//],
      [{ ...good, url: 'not a url' }, /absolute URL/],
      [{ ...good, url: 'https://user:pw@app.example/' }, /credentials/],
      [{ ...good, url: 'https://app.example/#x' }, /fragment/],
      [{ ...good, events: [] }, /events/],
      [{ ...good, events: ['session.stolen'] }, /events\/0 must be one of/],
      [{ ...good, events: ['session.ended', 'session.ended'] }, /repeat/],
      [{ ...good, extra: 1 }, /extra is not allowed/],
      [{ events: good.events }, /url is required/],
      [{ ...good, description: 'a\u0000b' }, /control characters/],
      [{ ...good, url: `https://app.example/${'a'.repeat(2100)}` }, /url/],
    ];
    for (const [payload, message] of cases) {
      const response = await create(payload);
      assert.equal(
        response.statusCode,
        400,
        `${JSON.stringify(payload).slice(0, 80)}: ${response.body}`,
      );
      assert.equal(response.json().error, 'invalid_request');
      assert.match(response.json().error_description, message);
    }
    const invalidJson = await harness.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      payload: '{"url":',
    });
    assert.equal(invalidJson.statusCode, 400);
    assert.equal((await call('GET', '/v1/webhooks')).json().subscriptions.length, before);
  });

  test('disable, enable, rotate-secret and deliveries: 404 for unknown ids, 409 when already so', async () => {
    const { subscription } = (await create(good)).json();
    const base = `/v1/webhooks/${subscription.id}`;
    assert.equal((await call('GET', '/v1/webhooks/nope')).statusCode, 404);
    assert.equal((await call('POST', '/v1/webhooks/nope/disable')).statusCode, 404);
    assert.equal((await call('POST', '/v1/webhooks/nope/rotate-secret')).statusCode, 404);
    const disabled = await call('POST', `${base}/disable`);
    assert.equal(disabled.statusCode, 200);
    assert.equal(disabled.json().subscription.disabled_reason, 'operator');
    assert.equal((await call('POST', `${base}/disable`)).statusCode, 409);
    assert.equal((await call('POST', `${base}/enable`)).statusCode, 200);
    assert.equal((await call('POST', `${base}/enable`)).statusCode, 409);
    const rotated = await call('POST', `${base}/rotate-secret`, { overlap_seconds: 60 });
    assert.equal(rotated.statusCode, 200);
    assert.match(rotated.json().secret, /^whsec_/);
    assert.ok(rotated.json().subscription.previous_secret_expires_at);
    for (const overlap of [-1, 1.5, 8 * 86_400, '60']) {
      const bad = await call('POST', `${base}/rotate-secret`, { overlap_seconds: overlap });
      assert.equal(bad.statusCode, 400, String(overlap));
    }
    assert.equal((await call('GET', '/v1/webhooks/deliveries?state=lost')).statusCode, 400);
    assert.equal((await call('GET', '/v1/webhooks/deliveries?limit=0')).statusCode, 400);
    const created = (await create({ ...good, events: ['session.created'] })).json().subscription;
    const session = await harness.createSession();
    const deliveries = await call('GET', `/v1/webhooks/deliveries?subscription_id=${created.id}`);
    assert.equal(deliveries.statusCode, 200);
    const [delivery] = deliveries.json().deliveries;
    assert.equal(delivery.event_type, 'session.created');
    assert.equal(delivery.state, 'pending');
    assert.match(delivery.id, new RegExp(`^msg_${created.id}_\\d+$`));
    assert.ok(session.session.id);
  });
});
