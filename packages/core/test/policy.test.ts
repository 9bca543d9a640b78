import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUILT_IN_POLICIES,
  createMemoryStore,
  createTessera,
  resolvePolicies,
} from '@tessera/core';

describe('policy tiers', () => {
  it('built-in tiers follow the guidance: high 15 min, medium 30 min, low 60 min idle', () => {
    assert.deepEqual(BUILT_IN_POLICIES.high, {
      idleTimeoutSeconds: 900,
      absoluteTimeoutSeconds: 43_200,
      accessTokenTtlSeconds: 300,
    });
    assert.deepEqual(BUILT_IN_POLICIES.medium, {
      idleTimeoutSeconds: 1800,
      absoluteTimeoutSeconds: 86_400,
      accessTokenTtlSeconds: 300,
    });
    assert.deepEqual(BUILT_IN_POLICIES.low, {
      idleTimeoutSeconds: 3600,
      absoluteTimeoutSeconds: 2_592_000,
      accessTokenTtlSeconds: 600,
    });
  });

  it('accepts a custom tier and keeps the built-in ones', () => {
    const policies = resolvePolicies({
      kiosk: { idleTimeoutSeconds: 120, absoluteTimeoutSeconds: 3600, accessTokenTtlSeconds: 60 },
    });
    assert.equal(policies.get('kiosk')?.idleTimeoutSeconds, 120);
    assert.ok(policies.has('high'));
  });

  const refused: [string, Record<string, number | undefined>, RegExp][] = [
    [
      'a missing idle timeout',
      { absoluteTimeoutSeconds: 60, accessTokenTtlSeconds: 10 },
      /policies\.x\.idle_timeout_seconds is missing/,
    ],
    [
      'a missing absolute timeout',
      { idleTimeoutSeconds: 60, accessTokenTtlSeconds: 10 },
      /policies\.x\.absolute_timeout_seconds is missing/,
    ],
    [
      'a missing access token lifetime',
      { idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 600 },
      /policies\.x\.access_token_ttl_seconds is missing/,
    ],
    [
      'idle equal to absolute',
      { idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 600, accessTokenTtlSeconds: 10 },
      /policies\.x\.idle_timeout_seconds \(600\) must be less than absolute_timeout_seconds/,
    ],
    [
      'idle longer than absolute',
      { idleTimeoutSeconds: 700, absoluteTimeoutSeconds: 600, accessTokenTtlSeconds: 10 },
      /must be less than/,
    ],
    [
      'an access token outliving the idle timeout',
      { idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 600, accessTokenTtlSeconds: 61 },
      /policies\.x\.access_token_ttl_seconds \(61\) must not be longer than idle_timeout_seconds/,
    ],
    [
      'a zero timeout',
      { idleTimeoutSeconds: 0, absoluteTimeoutSeconds: 600, accessTokenTtlSeconds: 10 },
      /policies\.x\.idle_timeout_seconds must be a whole number/,
    ],
    [
      'a fractional timeout',
      { idleTimeoutSeconds: 1.5, absoluteTimeoutSeconds: 600, accessTokenTtlSeconds: 1 },
      /whole number/,
    ],
  ];
  for (const [what, tier, message] of refused) {
    it(`refuses ${what}, naming the field`, () => {
      assert.throws(() => resolvePolicies({ x: tier }), { code: 'invalid_config', message });
    });
  }

  it('refuses an unknown default policy and out-of-range engine settings', () => {
    const store = createMemoryStore();
    assert.throws(() => createTessera({ store, defaultPolicy: 'nope' }), /default_policy "nope"/);
    assert.throws(
      () => createTessera({ store, refreshGraceSeconds: 301 }),
      /refresh_grace_seconds must be a whole number from 0 to 300/,
    );
    assert.throws(() => createTessera({ store, maxSessionsPerUser: 0 }), /max_sessions_per_user/);
  });
});
