import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isTesseraError } from '../errors.js';
import type { SessionStore } from '../store.js';
import { generateId } from '../token.js';
import type { OperatorRecord } from '../types.js';
import { sampleSession, SAMPLE_EPOCH as T0 } from './fixtures.js';

function sampleOperator(overrides: Partial<OperatorRecord> = {}): OperatorRecord {
  return {
    id: generateId(),
    name: `op-${generateId().slice(0, 8).toLowerCase()}`,
    passwordHash:
      '$scrypt$ln=15,r=8,p=3$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U',
    createdAt: T0,
    passwordChangedAt: T0,
    disabledAt: null,
    failedSignIns: 0,
    lastFailedSignInAt: null,
    lastSignInAt: null,
    ...overrides,
  };
}

/** The operator and console verbs of the contract; run inside `runStoreConformance`. */
export function operatorConformance(store: () => SessionStore): void {
  it('keeps operators, finds them by id and name, refuses a taken name', async () => {
    const ada = sampleOperator({ name: 'ada', createdAt: T0 });
    const bob = sampleOperator({ name: 'bob', createdAt: T0 + 1 });
    await store().createOperator(bob);
    await store().createOperator(ada);
    assert.deepEqual(await store().getOperator(ada.id), ada);
    assert.deepEqual(await store().findOperatorByName('bob'), bob);
    assert.equal(await store().findOperatorByName('carol'), null);
    assert.deepEqual(
      (await store().listOperators()).map((o) => o.name),
      ['ada', 'bob'],
      'oldest first',
    );
    await assert.rejects(store().createOperator(sampleOperator({ name: 'ada' })), (error) =>
      isTesseraError(error, 'store_conflict'),
    );
  });

  it('counts failed sign-ins atomically and clears them on success and on a password reset', async () => {
    const op = sampleOperator();
    await store().createOperator(op);
    const counted = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store().recordOperatorFailure(op.id, T0 + i)),
    );
    assert.deepEqual(
      counted.map((o) => o?.failedSignIns).sort(),
      [1, 2, 3, 4, 5, 6],
      'no lost update between concurrent failures',
    );
    assert.equal((await store().getOperator(op.id))?.failedSignIns, 6);
    await store().recordOperatorSignIn(op.id, T0 + 100);
    const signedIn = await store().getOperator(op.id);
    assert.equal(signedIn?.failedSignIns, 0);
    assert.equal(signedIn?.lastFailedSignInAt, null);
    assert.equal(signedIn?.lastSignInAt, T0 + 100);
    await store().recordOperatorFailure(op.id, T0 + 200);
    assert.equal(await store().setOperatorPassword(op.id, 'new-hash', T0 + 300), true);
    const reset = await store().getOperator(op.id);
    assert.equal(reset?.passwordHash, 'new-hash');
    assert.equal(reset?.passwordChangedAt, T0 + 300);
    assert.equal(reset?.failedSignIns, 0);
    assert.equal(await store().recordOperatorFailure(generateId(), T0), null);
    assert.equal(await store().setOperatorPassword(generateId(), 'x', T0), false);
  });

  it('disables and enables an operator once each', async () => {
    const op = sampleOperator();
    await store().createOperator(op);
    assert.equal(await store().setOperatorDisabled(op.id, T0 + 5), true);
    assert.equal(await store().setOperatorDisabled(op.id, T0 + 6), false, 'already disabled');
    assert.equal((await store().getOperator(op.id))?.disabledAt, T0 + 5);
    assert.equal(await store().setOperatorDisabled(op.id, null), true);
    assert.equal((await store().getOperator(op.id))?.disabledAt, null);
  });

  it('keeps the first console secret written, whoever asks', async () => {
    const answers = await Promise.all(['a', 'b', 'c'].map((c) => store().consoleSecret(`s-${c}`)));
    assert.equal(new Set(answers).size, 1);
    assert.equal(await store().consoleSecret('later'), answers[0]);
  });

  it('counts live sessions by policy, leaving out ended and expired ones', async () => {
    const now = T0 + 1000;
    await store().createSession(sampleSession({ policy: 'high' }));
    await store().createSession(sampleSession({ policy: 'high' }));
    await store().createSession(sampleSession({ policy: 'low' }));
    const ended = sampleSession({ policy: 'low' });
    await store().createSession(ended);
    await store().endSession(ended.id, 'logout', now);
    await store().createSession(sampleSession({ policy: 'medium', idleExpiresAt: now }));
    assert.deepEqual(await store().countLiveSessionsByPolicy(now), { high: 2, low: 1 });
  });
}
