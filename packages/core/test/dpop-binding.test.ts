import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore, createTessera, isTesseraError, manualClock } from '@tessera/core';

/*
 * The engine side of DPoP (RFC 9449 §5, §7.2): a bound session acts only for a caller that
 * verified a proof from its key. The proofs themselves are checked in dpop.test.ts.
 */

const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const OTHER = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';

function engine() {
  const clock = manualClock();
  const tessera = createTessera({ store: createMemoryStore(), clock, touchIntervalSeconds: 0 });
  return { tessera, clock };
}

describe('DPoP binding in the engine', () => {
  it('keeps the thumbprint on the session and refuses one that is not a thumbprint', async () => {
    const { tessera } = engine();
    const issued = await tessera.create({ userId: 'u', dpopJkt: JKT });
    assert.equal(issued.session.dpopJkt, JKT);
    assert.equal((await tessera.getLiveSession(issued.session.id))?.dpopJkt, JKT);
    for (const dpopJkt of ['', 'short', `${JKT}=`, `${JKT}A`]) {
      await assert.rejects(tessera.create({ userId: 'u', dpopJkt }), (error) =>
        isTesseraError(error, 'invalid_argument'),
      );
    }
  });

  it('validates a bound access token only with the bound thumbprint (§4.3 check 12, §7.2)', async () => {
    const { tessera } = engine();
    const issued = await tessera.create({ userId: 'u', dpopJkt: JKT });
    assert.deepEqual(await tessera.validate(issued.accessToken), {
      ok: false,
      reason: 'dpop_binding_mismatch',
    });
    assert.equal((await tessera.validate(issued.accessToken, { dpopJkt: OTHER })).ok, false);
    assert.equal((await tessera.validate(issued.accessToken, { dpopJkt: JKT })).ok, true);
    // introspection reports the binding instead of enforcing it
    const reported = await tessera.validate(issued.accessToken, { ignoreDpopBinding: true });
    assert.equal(reported.ok && reported.session.dpopJkt, JKT);
  });

  it('does not count a refused use as activity', async () => {
    const { tessera, clock } = engine();
    const issued = await tessera.create({ userId: 'u', dpopJkt: JKT });
    clock.advance(60_000);
    await tessera.validate(issued.accessToken);
    const after = await tessera.getLiveSession(issued.session.id);
    assert.equal(after?.lastActiveAt, issued.session.lastActiveAt);
  });

  it('refreshes a bound session only with the thumbprint, and a refusal changes nothing (§5)', async () => {
    const { tessera } = engine();
    const issued = await tessera.create({ userId: 'u', dpopJkt: JKT });
    assert.deepEqual(await tessera.refresh(issued.refreshToken), {
      ok: false,
      reason: 'dpop_binding_mismatch',
    });
    assert.equal((await tessera.refresh(issued.refreshToken, { dpopJkt: OTHER })).ok, false);
    assert.equal((await tessera.getLiveSession(issued.session.id))?.generation, 0);
    const rotated = await tessera.refresh(issued.refreshToken, { dpopJkt: JKT });
    assert.equal(rotated.ok, true);
    assert.equal(rotated.ok && rotated.session.dpopJkt, JKT, 'the binding survives rotation');
  });

  it('does not let an old refresh token without the key end the session through reuse detection', async () => {
    const { tessera, clock } = engine();
    const issued = await tessera.create({ userId: 'u', dpopJkt: JKT });
    await tessera.refresh(issued.refreshToken, { dpopJkt: JKT });
    clock.advance(120_000); // past the grace window: with the key, this would be reuse
    assert.equal((await tessera.refresh(issued.refreshToken)).ok, false);
    assert.notEqual(await tessera.getLiveSession(issued.session.id), null);
    const reuse = await tessera.refresh(issued.refreshToken, { dpopJkt: JKT });
    assert.equal(!reuse.ok && reuse.reason, 'refresh_token_reuse');
  });

  it('leaves unbound sessions as they were, with or without a thumbprint', async () => {
    const { tessera } = engine();
    const issued = await tessera.create({ userId: 'u' });
    assert.equal('dpopJkt' in issued.session, false);
    assert.equal((await tessera.validate(issued.accessToken)).ok, true);
    assert.equal((await tessera.validate(issued.accessToken, { dpopJkt: JKT })).ok, true);
    assert.equal((await tessera.refresh(issued.refreshToken)).ok, true);
  });
});
