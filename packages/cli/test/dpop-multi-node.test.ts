import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type CliIo, loadConfig, type RunningService, startService } from 'tessera';
import { makeProof, makeProofKey, type ProofKey } from '../../server/test/dpop-proof-maker.js';
import { POSTGRES_URL, REDIS_URL, removeTestData } from './test-stores.js';

/**
 * RFC 9449 §11.1 across nodes: two `tessera serve` nodes behind one public URL (a load
 * balancer) on one store. A proof used on one node is refused on the other (the replay cache is
 * the store's `rememberDpopJti`, not a node's memory), the same proof sent to both at once is
 * accepted exactly once, and a server nonce handed out by one node is good on the other (§8:
 * nonces are a MAC of a time slot under the secret every node shares). The shared Redis and
 * PostgreSQL must be running: an unreachable one fails these tests, it never skips them.
 */

const run = randomBytes(4).toString('hex');
const PUBLIC_URL = 'https://auth.example.com';
const NONCE_SECRET = randomBytes(32).toString('base64url');

interface Node {
  service: RunningService;
  lines: string[];
}

async function startNode(store: string): Promise<Node> {
  const lines: string[] = [];
  const io: CliIo = { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} };
  const env = {
    TESSERA_LOG_LEVEL: 'silent',
    TESSERA_PUBLIC_URL: PUBLIC_URL,
    TESSERA_DPOP_NONCE_SECRET: NONCE_SECRET,
    TESSERA_RATE_LIMIT_ENABLED: 'false',
  };
  const config = loadConfig({ env, flags: { store, port: '0' } });
  return { service: await startService(config, io), lines };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Bound {
  access_token: string;
  refresh_token: string;
  token_type: string;
}

async function bindSession(node: Node, key: ProofKey): Promise<Bound> {
  const admin = /shown only once: (tsk_\w+)/.exec(node.lines.join('\n'))?.[1];
  assert.ok(admin, `no admin key printed:\n${node.lines.join('\n')}`);
  const response = await fetch(`${node.service.url}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: `dpop-${run}`, dpop_jkt: key.jkt }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  const bound = (await response.json()) as Bound;
  assert.equal(bound.token_type, 'DPoP');
  return bound;
}

function useToken(node: Node, accessToken: string, proof: string) {
  return fetch(`${node.service.url}/v1/session`, {
    headers: { authorization: `DPoP ${accessToken}`, dpop: proof },
  });
}

function refresh(node: Node, refreshToken: string, proof: string) {
  return fetch(`${node.service.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

async function replayIsRefusedOnTheOtherNode(store: string) {
  const a = await startNode(store);
  let b: Node | undefined;
  try {
    b = await startNode(store);
    const key = makeProofKey();
    const bound = await bindSession(a, key);
    const resource = (nonce?: string) =>
      makeProof(key, {
        htm: 'GET',
        htu: `${PUBLIC_URL}/v1/session`,
        iat: nowSeconds(),
        accessToken: bound.access_token,
        ...(nonce === undefined ? {} : { nonce }),
      });

    // Node A asks for a nonce (§9); node B accepts the one A handed out.
    const asked = await useToken(a, bound.access_token, resource());
    assert.equal(asked.status, 401);
    assert.match(String(asked.headers.get('www-authenticate')), /error="use_dpop_nonce"/);
    const nonce = asked.headers.get('dpop-nonce');
    assert.ok(nonce, 'a DPoP-Nonce header with the use_dpop_nonce challenge');

    const proof = resource(nonce);
    assert.equal((await useToken(a, bound.access_token, proof)).status, 200);
    const replayed = await useToken(b, bound.access_token, proof);
    assert.equal(replayed.status, 401, 'node B refuses the proof node A accepted');
    assert.equal(await errorOf(replayed), 'invalid_dpop_proof');
    assert.equal((await useToken(b, bound.access_token, resource(nonce))).status, 200);

    // One proof sent to both nodes at the same moment: exactly one of them accepts it.
    for (let round = 0; round < 5; round++) {
      const raced = resource(nonce);
      const statuses: number[] = (
        await Promise.all([a, b].map((node) => useToken(node, bound.access_token, raced)))
      ).map((r) => r.status);
      assert.deepEqual(statuses.sort(), [200, 401], `round ${round}: ${statuses}`);
    }

    // The token endpoint too: a refresh on B, its proof replayed on A with the new token.
    const grantProof = makeProof(key, {
      htm: 'POST',
      htu: `${PUBLIC_URL}/v1/token`,
      iat: nowSeconds(),
      nonce,
    });
    const refreshed = await refresh(b, bound.refresh_token, grantProof);
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    const pair = (await refreshed.json()) as Bound;
    const again = await refresh(a, pair.refresh_token, grantProof);
    assert.equal(again.status, 400);
    assert.equal(await errorOf(again), 'invalid_dpop_proof');
  } finally {
    await b?.service.stop();
    await a.service.stop();
  }
}

describe('DPoP proofs across nodes on one store (RFC 9449 §8, §11.1)', () => {
  const prefix = `dpop-multi-node-${run}:`;
  const schema = `dpop_multi_node_${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-dpop-'));

  after(async () => {
    await removeTestData({ prefix, schema });
    rmSync(dir, { recursive: true, force: true });
  });

  test('a proof used on node A is refused on node B, on SQLite (two nodes, two connections to one file)', async () => {
    await replayIsRefusedOnTheOtherNode(`sqlite:${join(dir, 'tessera.db')}`);
  });

  test('a proof used on node A is refused on node B, on Redis', async () => {
    await replayIsRefusedOnTheOtherNode(`${REDIS_URL}?prefix=${prefix}`);
  });

  test('a proof used on node A is refused on node B, on PostgreSQL', async () => {
    await replayIsRefusedOnTheOtherNode(`${POSTGRES_URL}?schema=${schema}`);
  });
});
