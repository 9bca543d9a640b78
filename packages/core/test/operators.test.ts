import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createMemoryStore,
  createOperatorAccounts,
  createTessera,
  hashOperatorPassword,
  manualClock,
  operatorUserId,
  verifyOperatorPassword,
} from '@tessera/core';

const SCRYPT = { logN: 10, r: 8, p: 1 };
const PASSWORD = 'a long enough pass phrase';

function setup() {
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const tessera = createTessera({ store: createMemoryStore(), clock });
  return { clock, tessera, accounts: createOperatorAccounts({ tessera, scrypt: SCRYPT }) };
}

describe('operator passwords', () => {
  test('scrypt hashes carry their own salt and parameters and verify in constant time', async () => {
    const a = await hashOperatorPassword(PASSWORD, SCRYPT);
    const b = await hashOperatorPassword(PASSWORD, SCRYPT);
    assert.match(a, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b, 'a fresh salt each time');
    assert.equal(await verifyOperatorPassword(PASSWORD, a), true);
    assert.equal(await verifyOperatorPassword(`${PASSWORD}!`, a), false);
    assert.equal(await verifyOperatorPassword(PASSWORD, a.replace('ln=10', 'ln=11')), false);
    assert.equal(await verifyOperatorPassword(PASSWORD, 'plain text'), false);
    // NFKC: the same password typed with a composed or a decomposed "é" verifies.
    const accented = await hashOperatorPassword('caf\u00e9 pass phrase long', SCRYPT);
    assert.equal(await verifyOperatorPassword('cafe\u0301 pass phrase long', accented), true);
  });

  test('names and passwords are checked before anything is stored', async () => {
    const { accounts } = setup();
    await assert.rejects(accounts.create({ name: 'ada', password: 'too short' }), /at least 15/);
    await assert.rejects(
      accounts.create({ name: 'no spaces', password: PASSWORD }),
      /operator name/,
    );
    assert.equal((await accounts.list()).length, 0);
  });
});

describe('operator lock-out', () => {
  test('five failures in a row, then waits of 30 s doubling to 15 min; a success clears it', async () => {
    const { accounts, clock } = setup();
    await accounts.create({ name: 'ada', password: PASSWORD });
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await accounts.signIn('ada', 'wrong wrong wrong')).ok, false);
    }
    const waits: number[] = [];
    for (let round = 0; round < 7; round += 1) {
      const locked = await accounts.signIn('ada', PASSWORD);
      assert.equal(locked.ok, false);
      assert.equal(locked.ok === false && locked.reason, 'locked');
      const retryAt = locked.ok === false ? (locked.retryAt as number) : 0;
      waits.push((retryAt - clock.now()) / 1000);
      clock.advance(retryAt - clock.now());
      // At the instant the wait ends, one more failure doubles the next wait.
      assert.equal((await accounts.signIn('ada', 'wrong again, sorry')).ok, false);
    }
    assert.deepEqual(waits, [30, 60, 120, 240, 480, 900, 900]);
    clock.advance(900_000);
    const ok = await accounts.signIn('ada', PASSWORD);
    assert.equal(ok.ok, true);
    assert.equal(ok.ok && ok.operator.failedSignIns, 0);
  });

  test('a locked or unknown name costs a scrypt run like a real check', async () => {
    const { accounts } = setup();
    const unknown = await accounts.signIn('nobody', PASSWORD);
    assert.deepEqual(unknown, { ok: false, reason: 'unknown', operator: null });
  });

  test('changing one own password ends the other console sessions only', async () => {
    const { accounts, tessera } = setup();
    const ada = await accounts.create({ name: 'ada', password: PASSWORD });
    const here = await tessera.create({ userId: operatorUserId(ada.id), policy: 'high' });
    const there = await tessera.create({ userId: operatorUserId(ada.id), policy: 'high' });
    const changed = await accounts.changePassword(ada.id, {
      current: PASSWORD,
      next: 'the next long pass phrase',
      keepSessionId: here.session.id,
    });
    assert.equal(changed.ok, true);
    assert.equal(changed.endedSessions, 1);
    assert.equal((await tessera.validate(here.accessToken)).ok, true);
    assert.equal((await tessera.validate(there.accessToken)).ok, false);
    assert.equal((await accounts.signIn('ada', PASSWORD)).ok, false);
    assert.equal((await accounts.signIn('ada', 'the next long pass phrase')).ok, true);
  });
});
