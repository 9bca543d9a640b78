import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectRedis, parseRedisUrl } from '@tessera/store-redis';
import { freePorts } from './redis-server-harness.js';

describe('store URLs', () => {
  it('reads a standalone URL as it is', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6379/2'), {
      kind: 'standalone',
      url: 'redis://127.0.0.1:6379/2',
    });
  });

  it('reads a cluster URL into root nodes, credentials and TLS', () => {
    assert.deepEqual(parseRedisUrl('rediss+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2:7001'), {
      kind: 'cluster',
      rootNodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7001'],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
  });

  it('refuses what is not a Redis URL', () => {
    for (const url of ['postgres://x', 'redis+cluster://', 'redis+cluster://h:1/0', 'nope']) {
      assert.throws(() => parseRedisUrl(url), { code: 'invalid_config' }, url);
    }
  });

  it('fails fast and closed when nothing listens, without the password in the message', async () => {
    const [port] = await freePorts(1);
    const started = Date.now();
    await assert.rejects(
      connectRedis(`redis://user:hunter2@127.0.0.1:${port}`, { connectTimeoutMs: 300 }),
      (error: Error & { code?: string }) =>
        error.code === 'store_unavailable' && !error.message.includes('hunter2'),
    );
    assert.ok(Date.now() - started < 2000);
  });
});
