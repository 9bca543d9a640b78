import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearer, startHarness } from './harness.js';

const lines = (logs: string[]) => logs.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('the request logger is made on first use and writes what the eager one wrote', () => {
  it('a request that logs (a token in the URL) writes its line with its request id and level', async () => {
    const h = await startHarness();
    try {
      const created = await h.createSession();
      const before = h.logs.length;
      const answer = await h.inject({
        method: 'GET',
        url: `/v1/session?access_token=${created.access_token}`,
      });
      assert.equal(answer.statusCode, 400);
      const written = lines(h.logs.slice(before));
      assert.equal(written.length, 1);
      assert.equal(written[0]?.msg, 'refused a URL carrying a token');
      assert.equal(written[0]?.level, 40);
      assert.equal(written[0]?.method, 'GET');
      assert.match(String(written[0]?.reqId), /^req-/);
    } finally {
      await h.close();
    }
  });

  it('two requests that log carry their own request ids', async () => {
    const h = await startHarness();
    try {
      const created = await h.createSession();
      const before = h.logs.length;
      for (let i = 0; i < 2; i++) {
        await h.inject({ method: 'GET', url: `/v1/session?token=${created.access_token}` });
      }
      const ids = lines(h.logs.slice(before)).map((line) => line.reqId);
      assert.equal(ids.length, 2);
      assert.notEqual(ids[0], ids[1]);
    } finally {
      await h.close();
    }
  });

  it('a debug line below the level writes nothing; at debug it is written with the request id', async () => {
    for (const [level, expected] of [
      ['info', 0],
      ['debug', 1],
    ] as const) {
      const h = await startHarness({ logLevel: level });
      try {
        const before = h.logs.length;
        // A schema refusal goes through the error handler, which logs it at debug.
        const answer = await h.inject({ method: 'GET', url: '/v1/session?max_auth_age=soon' });
        assert.equal(answer.statusCode, 400);
        const refused = lines(h.logs.slice(before)).filter((l) => l.msg === 'request refused');
        assert.equal(refused.length, expected, `at ${level}`);
        for (const line of refused) {
          assert.equal(line.level, 20);
          assert.match(String(line.reqId), /^req-/);
        }
      } finally {
        await h.close();
      }
    }
  });

  it('the healthy hot path writes no line at the default level', async () => {
    const h = await startHarness();
    try {
      const created = await h.createSession();
      const before = h.logs.length;
      for (let i = 0; i < 3; i++) {
        const answer = await h.inject({
          method: 'GET',
          url: '/v1/session',
          headers: bearer(created.access_token),
        });
        assert.equal(answer.statusCode, 200);
      }
      assert.equal(h.logs.length, before);
    } finally {
      await h.close();
    }
  });
});
