import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { generateWebhookSecret, webhookHeaders } from '@tessera/core';
import { Webhook } from 'standardwebhooks';
import { createMemoryReplayCache, verifyWebhook, WebhookVerificationError } from '../src/index.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const now = () => NOW;
const body = JSON.stringify({
  type: 'session.refresh_reuse',
  timestamp: new Date(NOW).toISOString(),
  data: { event_id: '42', session_id: 's1', user_id: 'alice', reason: 'refresh_token_reuse' },
});

function signed(secrets: string[], { id = 'msg_sub_42', at = NOW, text = body } = {}) {
  return { headers: webhookHeaders(secrets, id, Math.floor(at / 1000), text), body: text };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof WebhookVerificationError, String(error));
    return error.code;
  }
  assert.fail('the webhook was accepted');
}

describe('verifyWebhook (Standard Webhooks)', () => {
  test('accepts a signed message and answers its id, timestamp and payload', async () => {
    const secret = generateWebhookSecret();
    const verified = await verifyWebhook(signed([secret]), secret, { now });
    assert.equal(verified.id, 'msg_sub_42');
    assert.equal(verified.timestamp, NOW / 1000);
    assert.equal(verified.payload.data.user_id, 'alice');
  });

  test('interoperates with the standardwebhooks package both ways', async () => {
    const secret = generateWebhookSecret();
    const ours = signed([secret], { at: Date.now() });
    // Their verifier accepts what Tessera sends…
    assert.deepEqual(new Webhook(secret).verify(ours.body, ours.headers), JSON.parse(body));
    // …and ours accepts what their signer makes.
    const timestamp = new Date();
    const signature = new Webhook(secret).sign('msg_x', timestamp, body);
    const theirs = {
      headers: {
        'webhook-id': 'msg_x',
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body,
    };
    assert.equal((await verifyWebhook(theirs, secret)).id, 'msg_x');
  });

  test('refuses a forged signature, an altered body and a wrong secret', async () => {
    const secret = generateWebhookSecret();
    const good = signed([secret]);
    const forged = {
      ...good,
      headers: {
        ...good.headers,
        'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
      },
    };
    assert.equal(await refusal(verifyWebhook(forged, secret, { now })), 'invalid_signature');
    const altered = { ...good, body: good.body.replace('alice', 'mallory') };
    assert.equal(await refusal(verifyWebhook(altered, secret, { now })), 'invalid_signature');
    const otherId = { ...good, headers: { ...good.headers, 'webhook-id': 'msg_sub_43' } };
    assert.equal(await refusal(verifyWebhook(otherId, secret, { now })), 'invalid_signature');
    const wrong = generateWebhookSecret();
    assert.equal(await refusal(verifyWebhook(good, wrong, { now })), 'invalid_signature');
    const v2 = {
      ...good,
      headers: {
        ...good.headers,
        'webhook-signature': good.headers['webhook-signature'].replace('v1,', 'v2,'),
      },
    };
    assert.equal(await refusal(verifyWebhook(v2, secret, { now })), 'invalid_signature');
  });

  test('refuses a stale or future timestamp beyond the tolerance, accepts one within', async () => {
    const secret = generateWebhookSecret();
    const old = signed([secret], { at: NOW - 301_000 });
    assert.equal(await refusal(verifyWebhook(old, secret, { now })), 'timestamp_too_old');
    const future = signed([secret], { at: NOW + 301_000 });
    assert.equal(await refusal(verifyWebhook(future, secret, { now })), 'timestamp_too_new');
    const edge = signed([secret], { at: NOW - 300_000 });
    assert.equal((await verifyWebhook(edge, secret, { now })).id, 'msg_sub_42');
    const tight = signed([secret], { at: NOW - 11_000 });
    assert.equal(
      await refusal(verifyWebhook(tight, secret, { now, toleranceSeconds: 10 })),
      'timestamp_too_old',
    );
    const text = { ...old, headers: { ...old.headers, 'webhook-timestamp': '17e8' } };
    assert.equal(await refusal(verifyWebhook(text, secret, { now })), 'invalid_timestamp');
  });

  test('refuses a replayed id once accepted, but not after a forged attempt with that id', async () => {
    const secret = generateWebhookSecret();
    const replayCache = createMemoryReplayCache({ now });
    const good = signed([secret]);
    const forged = { ...good, headers: { ...good.headers, 'webhook-signature': 'v1,AAAA' } };
    assert.equal(
      await refusal(verifyWebhook(forged, secret, { now, replayCache })),
      'invalid_signature',
    );
    assert.equal(
      (await verifyWebhook(good, secret, { now, replayCache })).id,
      good.headers['webhook-id'],
    );
    assert.equal(await refusal(verifyWebhook(good, secret, { now, replayCache })), 'replayed');
    const retry = signed([secret], { at: NOW + 5000 });
    assert.equal(await refusal(verifyWebhook(retry, secret, { now, replayCache })), 'replayed');
  });

  test('during a rotation either secret verifies the doubly signed message', async () => {
    const previous = generateWebhookSecret();
    const next = generateWebhookSecret();
    const message = signed([next, previous]);
    assert.match(message.headers['webhook-signature'], /^v1,\S+ v1,\S+$/);
    assert.equal((await verifyWebhook(message, previous, { now })).id, 'msg_sub_42');
    assert.equal((await verifyWebhook(message, next, { now })).id, 'msg_sub_42');
    assert.equal(
      (await verifyWebhook(message, [generateWebhookSecret(), next], { now })).id,
      'msg_sub_42',
    );
  });

  test('needs every header and the raw body, and a well-formed secret', async () => {
    const secret = generateWebhookSecret();
    const good = signed([secret]);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const headers: Record<string, string> = { ...good.headers };
      delete headers[name];
      assert.equal(
        await refusal(verifyWebhook({ ...good, headers }, secret, { now })),
        'missing_headers',
      );
    }
    const parsed = { headers: good.headers, body: JSON.parse(body) };
    assert.equal(await refusal(verifyWebhook(parsed, secret, { now })), 'invalid_body');
    await assert.rejects(verifyWebhook(good, 'not-a-secret', { now }), TypeError);
    await assert.rejects(verifyWebhook(good, [], { now }), TypeError);
  });

  test('verifies a real POST on node:http from its raw body buffer and Fetch Headers', async () => {
    const secret = generateWebhookSecret();
    const results: string[] = [];
    const server = createServer(async (request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      try {
        const { payload } = await verifyWebhook(
          { headers: request.headers, body: Buffer.concat(chunks) },
          secret,
        );
        results.push(payload.type);
        response.writeHead(204).end();
      } catch (error) {
        results.push((error as WebhookVerificationError).code);
        response.writeHead(400).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const message = signed([secret], { at: Date.now() });
      const ok = await fetch(url, { method: 'POST', headers: message.headers, body: message.body });
      assert.equal(ok.status, 204);
      const bad = await fetch(url, {
        method: 'POST',
        headers: message.headers,
        body: `${message.body} `,
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(results, ['session.refresh_reuse', 'invalid_signature']);
      const fetchHeaders = new Headers(message.headers);
      assert.equal(
        (await verifyWebhook({ headers: fetchHeaders, body: message.body }, secret)).id,
        'msg_sub_42',
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
