import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TranscriptLine } from '../src/demo.js';
import { runPhoneDemo } from '../src/phone.js';

test('the phone transcript with @tessera/client: every step as it must be, one refresh for 20 concurrent requests, a killed refresh recovered, the offline logout delivered once online, every old token refused', {
  timeout: 90_000,
}, async () => {
  const lines: TranscriptLine[] = [];
  const { facts } = await runPhoneDemo({ print: (line) => lines.push(line) });
  assert.deepEqual(
    lines.filter((l) => !l.ok).map((l) => `${l.step}: ${l.outcome}`),
    [],
  );
  assert.equal(lines.length, 13);

  // RFC 9449: the phone's session is bound to its key.
  assert.equal(facts.dpopBound, true);

  // 20 concurrent requests across an expiry: exactly one refresh reached the service.
  assert.equal(facts.refreshesForConcurrentRequests, 1);
  assert.deepEqual(facts.concurrentStatuses, Array(20).fill(200));

  // Killed while its refresh was in flight (the service had rotated), recovered by the grace
  // replay (RFC 9700 §4.14.2), never mistaken for a stolen refresh token.
  assert.equal(facts.killedDuringRefresh, true);
  assert.equal(facts.recoveredWithSameSession, true);
  assert.equal(facts.reuseEvents, 0);

  // Logout offline: nothing reached the service and the session lived on until the network came
  // back; then the queued revoke arrived and ended it (ASVS 5.0 7.4.1).
  assert.equal(facts.revokesWhileOffline, 0);
  assert.equal(facts.liveWhileOffline, true);
  assert.equal(facts.revokesAfterOnline, 1);
  assert.equal(facts.endedAfterOnline, true);

  // Every old token, each with a valid proof of its key: access 401 invalid_token, refresh 400
  // invalid_grant (RFC 6750 §3.1, RFC 6749 §5.2).
  const access = facts.oldTokens.filter((t) => t.kind === 'access');
  const refresh = facts.oldTokens.filter((t) => t.kind === 'refresh');
  // Two phones, each with its sign-in pair and at least one rotation (more on a slow machine,
  // where the SDK may refresh ahead of time during setup).
  assert.ok(access.length >= 4, `${access.length} access tokens`);
  assert.ok(refresh.length >= 4, `${refresh.length} refresh tokens`);
  for (const t of access) assert.deepEqual([t.status, t.error], [401, 'invalid_token']);
  for (const t of refresh) assert.deepEqual([t.status, t.error], [400, 'invalid_grant']);
});
