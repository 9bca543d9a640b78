import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scope } from '@tessera/core';
import type { InjectOptions } from 'fastify';
import { bearer, type Harness, startHarness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

/** Every backend route, the scope it needs, and a request that is valid apart from the key. */
const ROUTES: { scope: Scope; request: () => InjectOptions }[] = [
  {
    scope: 'sessions:write',
    request: () => ({ method: 'POST', url: '/v1/sessions', payload: { user_id: 'u' } }),
  },
  {
    scope: 'introspect',
    request: () => ({ method: 'POST', url: '/v1/introspect', payload: { token: 'x' } }),
  },
  { scope: 'sessions:read', request: () => ({ method: 'GET', url: '/v1/users/u/sessions' }) },
  {
    scope: 'sessions:write',
    request: () => ({
      method: 'POST',
      url: '/v1/users/u/sessions/end',
      payload: { reason: 'admin' },
    }),
  },
  {
    scope: 'sessions:write',
    request: () => ({ method: 'POST', url: '/v1/users/u/devices/d/end' }),
  },
  {
    scope: 'sessions:write',
    request: () => ({ method: 'DELETE', url: '/v1/sessions/unknown-id' }),
  },
  {
    scope: 'sessions:write',
    request: () => ({
      method: 'POST',
      url: '/v1/sessions/unknown-id/step-up',
      payload: { auth_methods: ['pwd'] },
    }),
  },
  { scope: 'sessions:read', request: () => ({ method: 'GET', url: '/v1/events' }) },
];

/** The same key with its last checksum character changed. */
const flipLast = (key: string) => key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');

const SCOPES: Scope[] = ['sessions:write', 'sessions:read', 'introspect', 'admin'];

describe('service-key scopes, route by route', () => {
  for (const { scope, request } of ROUTES) {
    const { method, url } = request();
    it(`${method} ${url} needs ${scope} (or admin)`, async () => {
      for (const held of SCOPES) {
        const response = await h.inject({ ...request(), headers: bearer(h.keys[held]) });
        if (held === scope || held === 'admin') {
          assert.ok(
            response.statusCode < 400 || response.statusCode === 404,
            `${held}: ${response.statusCode}`,
          );
        } else {
          assert.equal(response.statusCode, 403, `${held} must be refused`);
          assert.equal(response.json().error, 'insufficient_scope');
          assert.match(String(response.headers['www-authenticate']), /error="insufficient_scope"/);
        }
      }
    });

    it(`${method} ${url} answers 401 without a key, or with a wrong or revoked one`, async () => {
      const missing = await h.inject(request());
      assert.equal(missing.statusCode, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="tessera"');
      const revoked = await h.tessera.createServiceKey({ name: 'gone', scopes: ['admin'] });
      await h.tessera.revokeServiceKey(revoked.record.id);
      for (const key of ['tsk_garbage', revoked.key, flipLast(h.keys.admin)]) {
        const response = await h.inject({ ...request(), headers: bearer(key) });
        assert.equal(response.statusCode, 401, key);
        assert.match(String(response.headers['www-authenticate']), /^Bearer error="invalid_token"/);
      }
    });
  }

  it('an access token is not a service key', async () => {
    const created = await h.createSession();
    const response = await h.inject({
      method: 'GET',
      url: '/v1/users/alice/sessions',
      headers: bearer(created.access_token),
    });
    assert.equal(response.statusCode, 401);
  });
});
