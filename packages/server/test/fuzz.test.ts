import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { type CreatedSession, type Harness, snapshot, startHarness } from './harness.js';

/*
 * 200 randomly malformed requests per /v1 route: every answer is a 4xx in the error shape, none
 * is a 5xx, and the store is exactly as before (same live sessions, generations, activity
 * times, and event count). Reproducible: the seed is fixed (override with TESSERA_FUZZ_SEED).
 */

const SEED = Number(process.env.TESSERA_FUZZ_SEED ?? 0x7e55e2a);
const PER_ROUTE = 200;

/** mulberry32: a tiny seeded PRNG, good enough to pick cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}

type Rng = ReturnType<typeof prng>;

const ALPHABET = 'abcXYZ019_-./%?&=:;"\'\\{}[] \u00e9\u4e2d\u0000\n';
function randomString(rng: Rng, max = 24): string {
  let out = '';
  for (let i = rng.int(max); i > 0; i--) out += ALPHABET[rng.int(ALPHABET.length)];
  return out;
}

function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 6 : 8)) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER, 42]);
    case 3:
      return randomString(rng);
    case 4:
      return rng.pick(['tsa_', 'tsr_x', `tsk_${'A'.repeat(49)}`, 'Bearer', '', 'refresh_token']);
    case 5:
      return rng.pick(['logout_all', 'admin', 'password_changed', 'high', 'pwd']);
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--)
        object[randomString(rng, 10)] = randomJson(rng, depth + 1);
      return object;
    }
  }
}

/** Field names the routes know, so random objects often hit a real field with a wrong value. */
const FIELDS = [
  'user_id',
  'policy',
  'auth_methods',
  'device',
  'ip',
  'user_agent',
  'grant_type',
  'refresh_token',
  'client_id',
  'token',
  'token_type_hint',
  'reason',
  'except_session_id',
];

/** A body that no route accepts: wrong types, unknown fields, garbage, or too big. */
function badBody(rng: Rng): { payload: string; contentType?: string } {
  switch (rng.int(9)) {
    case 0: // a known field with a wrong type, plus an unknown one
      return {
        payload: JSON.stringify({
          [rng.pick(FIELDS)]: randomJson(rng),
          [`x_${randomString(rng, 6)}`]: randomJson(rng),
        }),
      };
    case 1: // not an object at all
      return { payload: JSON.stringify(rng.pick([[], 'text', 7, true, [{ user_id: 'u' }]])) };
    case 2: // truncated JSON
      return {
        payload: JSON.stringify({ user_id: 'u', token: randomString(rng) }).slice(
          0,
          -1 - rng.int(5),
        ),
      };
    case 3: // bytes that are not JSON
      return { payload: randomString(rng, 64) || '{' };
    case 4: // far over the body limit
      return { payload: JSON.stringify({ user_id: 'x'.repeat(17_000 + rng.int(50_000)) }) };
    case 5: // an unsupported content type
      return {
        payload: 'user_id=u&token=x',
        contentType: rng.pick([
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=z',
          'application/jsonx',
          'image/png',
        ]),
      };
    case 6: // prototype poisoning
      return {
        payload: rng.pick(['{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']),
      };
    case 7: // a known-field object with one unknown field
      return {
        payload: JSON.stringify({
          user_id: 'u',
          reason: 'admin',
          token: 'x',
          auth_methods: ['pwd'],
          grant_type: 'refresh_token',
          [`${randomString(rng, 5)}z`]: 1,
        }),
      };
    default: // an empty body declared as JSON
      return { payload: '', contentType: 'application/json' };
  }
}

interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: () => string;
  /** which credential a well-formed request would carry */
  auth: 'service' | 'access' | 'none';
  hasBody: boolean;
}

const id = (rng: Rng) =>
  rng.pick(['x', 'AAAAAAAAAAAAAAAAAAAAAA', '%00', 'a'.repeat(70), '..', '%E2%82']);
function routes(rng: Rng): Record<string, RouteSpec> {
  return {
    'POST /v1/token': { method: 'POST', path: () => '/v1/token', auth: 'none', hasBody: true },
    'POST /v1/revoke': { method: 'POST', path: () => '/v1/revoke', auth: 'none', hasBody: true },
    'POST /v1/introspect': {
      method: 'POST',
      path: () => '/v1/introspect',
      auth: 'service',
      hasBody: true,
    },
    'POST /v1/sessions': {
      method: 'POST',
      path: () => '/v1/sessions',
      auth: 'service',
      hasBody: true,
    },
    'GET /v1/users/:user_id/sessions': {
      method: 'GET',
      path: () => `/v1/users/${id(rng)}/sessions`,
      auth: 'service',
      hasBody: false,
    },
    'POST /v1/users/:user_id/sessions/end': {
      method: 'POST',
      path: () => `/v1/users/alice/sessions/end`,
      auth: 'service',
      hasBody: true,
    },
    'POST /v1/users/:user_id/devices/:device_id/end': {
      method: 'POST',
      path: () => `/v1/users/alice/devices/d1/end`,
      auth: 'service',
      hasBody: true,
    },
    'DELETE /v1/sessions/:id (service key)': {
      method: 'DELETE',
      path: () => `/v1/sessions/${id(rng)}`,
      auth: 'service',
      hasBody: true,
    },
    'POST /v1/sessions/:id/step-up': {
      method: 'POST',
      path: () => `/v1/sessions/${id(rng)}/step-up`,
      auth: 'service',
      hasBody: true,
    },
    'GET /v1/events': { method: 'GET', path: () => '/v1/events', auth: 'service', hasBody: false },
    'POST /v1/webhooks': {
      method: 'POST',
      path: () => '/v1/webhooks',
      auth: 'service',
      hasBody: true,
    },
    'POST /v1/webhooks/:id/rotate-secret': {
      method: 'POST',
      path: () => `/v1/webhooks/${id(rng)}/rotate-secret`,
      auth: 'service',
      hasBody: true,
    },
    'POST /v1/webhooks/:id/disable': {
      method: 'POST',
      path: () => `/v1/webhooks/${id(rng)}/disable`,
      auth: 'service',
      hasBody: true,
    },
    'GET /v1/webhooks/deliveries': {
      method: 'GET',
      path: () => '/v1/webhooks/deliveries',
      auth: 'service',
      hasBody: false,
    },
    'GET /v1/session': { method: 'GET', path: () => '/v1/session', auth: 'access', hasBody: false },
    'GET /v1/sessions': {
      method: 'GET',
      path: () => '/v1/sessions',
      auth: 'access',
      hasBody: false,
    },
    'DELETE /v1/sessions': {
      method: 'DELETE',
      path: () => '/v1/sessions',
      auth: 'access',
      hasBody: true,
    },
    'DELETE /v1/sessions/:id (access token)': {
      method: 'DELETE',
      path: () => `/v1/sessions/${id(rng)}`,
      auth: 'access',
      hasBody: true,
    },
  };
}

let h: Harness;
let alice: CreatedSession;
before(async () => {
  h = await startHarness({
    engine: { touchIntervalSeconds: 0 },
    server: { rateLimit: { tokenPerMinute: 10_000, revokePerMinute: 10_000 } },
  });
  alice = await h.createSession({ device: { id: 'd1' } });
  h.clock.advance(60_000); // any validation that slipped through would now move last_active_at
});
after(() => h.close());

/** A malformed credential, or a valid one of the wrong kind. */
function badAuth(rng: Rng): string | undefined {
  return rng.pick([
    undefined,
    'Bearer',
    'Basic YTpi',
    `Bearer ${randomString(rng)}`,
    `Bearer tsa_${'1'.repeat(49)}`,
    `Bearer tsk_${'Z'.repeat(49)}`,
    `Bearer ${alice.refresh_token}`,
    `Bearer ${alice.access_token.slice(0, -1)}0`,
    `Bearer ${alice.access_token} extra`,
    'Bearer \u00ff\u00fe',
  ]);
}

/** A query string that the route refuses (unknown parameter, wrong type, or a token in it). */
function badQuery(rng: Rng): string {
  return rng.pick([
    `?${randomString(rng, 6)}z=1`,
    '?max_auth_age=-1',
    '?max_auth_age=abc',
    '?limit=0',
    '?since=yesterday',
    `?access_token=${alice.access_token}`,
    `?q=${alice.refresh_token}`,
    '?type=session.nope',
  ]);
}

function malformedRequest(rng: Rng, spec: RouteSpec): InjectOptions {
  const headers: Record<string, string> = {};
  let url = spec.path();
  let payload: string | undefined;
  // Start from a request that would pass authentication, then break at least one thing.
  const goodAuth =
    spec.auth === 'service'
      ? `Bearer ${h.keys.admin}`
      : spec.auth === 'access'
        ? `Bearer ${alice.access_token}`
        : undefined;
  const faults = new Set<string>();
  const choices = ['auth', 'query', ...(spec.hasBody ? ['body', 'body'] : [])];
  if (spec.auth === 'none') choices.splice(0, 1);
  faults.add(rng.pick(choices));
  if (rng.next() < 0.3) faults.add(rng.pick(choices));

  const auth = faults.has('auth') ? badAuth(rng) : goodAuth;
  if (auth !== undefined) headers['authorization'] = auth;
  if (faults.has('query')) url += badQuery(rng);
  if (spec.hasBody) {
    if (faults.has('body')) {
      const body = badBody(rng);
      payload = body.payload;
      headers['content-type'] = body.contentType ?? 'application/json';
    } else if (rng.next() < 0.5) {
      // a body that is fine or absent, the fault being elsewhere
      payload = '{}';
      headers['content-type'] = 'application/json';
    }
  }
  return { method: spec.method, url, headers, ...(payload === undefined ? {} : { payload }) };
}

describe(`${PER_ROUTE} malformed requests per route (seed ${SEED})`, () => {
  const rng = prng(SEED);
  for (const [name, spec] of Object.entries(routes(rng))) {
    it(`${name}: only 4xx, never 5xx, nothing written`, async () => {
      const before = await snapshot(h, ['alice']);
      for (let i = 0; i < PER_ROUTE; i++) {
        const request = malformedRequest(rng, spec);
        const response = await h.inject(request);
        const context = `${request.method} ${request.url} ${JSON.stringify(request.headers)} ${String(request.payload).slice(0, 120)}`;
        assert.ok(
          response.statusCode >= 400 && response.statusCode < 500,
          `${response.statusCode} ${response.body} ← ${context}`,
        );
        assert.equal(typeof response.json().error, 'string', context);
      }
      assert.deepEqual(await snapshot(h, ['alice']), before);
    });
  }
});
