import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CliError, parseStoreUrl, redactStoreUrl } from 'tessera';

describe('store URLs', () => {
  test('sqlite: takes a relative or absolute path', () => {
    assert.deepEqual(parseStoreUrl('sqlite:./tessera.db'), {
      kind: 'sqlite',
      path: './tessera.db',
    });
    assert.deepEqual(parseStoreUrl('sqlite:/var/lib/t.db'), {
      kind: 'sqlite',
      path: '/var/lib/t.db',
    });
    assert.deepEqual(parseStoreUrl('sqlite:///var/lib/t.db'), {
      kind: 'sqlite',
      path: '/var/lib/t.db',
    });
  });

  test('redis:// keeps the URL for the client and takes the prefix out', () => {
    assert.deepEqual(parseStoreUrl('redis://127.0.0.1:6379'), {
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
      prefix: undefined,
    });
    assert.deepEqual(parseStoreUrl('rediss://u:p@cache:6380/2?prefix=app1:'), {
      kind: 'redis',
      url: 'rediss://u:p@cache:6380/2',
      prefix: 'app1:',
    });
  });

  test('redis+cluster:// lists its seed nodes', () => {
    assert.deepEqual(
      parseStoreUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002?prefix=t'),
      {
        kind: 'redis-cluster',
        url: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002',
        nodes: ['10.0.0.1:7000', '10.0.0.2:7001', '[::1]:7002'],
        prefix: 't',
      },
    );
    const withCredentials = parseStoreUrl('redis+cluster://user:pw@h1:7000,h2:7000');
    assert.equal(withCredentials.kind, 'redis-cluster');
    assert.deepEqual(withCredentials.nodes, ['h1:7000', 'h2:7000']);
  });

  test('postgres:// takes the schema out of what the driver sees', () => {
    assert.deepEqual(
      parseStoreUrl('postgres://postgres@127.0.0.1:5432/test?schema=t1&sslmode=disable'),
      {
        kind: 'postgres',
        url: 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable',
        schema: 't1',
      },
    );
    assert.equal(parseStoreUrl('postgresql://db/app').kind, 'postgres');
  });

  test('bad URLs are usage errors that name the source and list what works', () => {
    const cases: Array<[string, RegExp]> = [
      ['tessera.db', /--store: "tessera.db" is not a store URL — use sqlite:PATH/],
      ['sqlite:', /needs a file path/],
      ['mongodb://x', /unsupported store "mongodb:"/],
      ['redis+cluster://h1', /cluster node "h1" must be HOST:PORT/],
      ['redis+cluster://h1:0', /port from 1 to 65535/],
      ['redis+cluster://', /at least one HOST:PORT/],
      ['redis://h:1?prefix=a b', /prefix "a b" must be/],
      ['redis://h:1?prefix={t}', /prefix "{t}" must be/],
      ['postgres://db/app?schema=1x', /schema "1x" must be/],
    ];
    for (const [url, message] of cases) {
      assert.throws(
        () => parseStoreUrl(url, '--store'),
        (error: unknown) =>
          error instanceof CliError && error.exitCode === 2 && message.test(error.message),
        url,
      );
    }
  });

  test('passwords are redacted before a URL is printed', () => {
    assert.equal(
      redactStoreUrl('postgres://app:s3cret@db:5432/app'),
      'postgres://app:***@db:5432/app',
    );
    assert.equal(
      redactStoreUrl('redis+cluster://u:pw@h1:1,h2:2'),
      'redis+cluster://u:***@h1:1,h2:2',
    );
    assert.equal(redactStoreUrl('redis://:pw@h:1'), 'redis://:***@h:1');
    assert.equal(
      redactStoreUrl('postgres://db/app?password=x&a=b'),
      'postgres://db/app?password=***&a=b',
    );
    assert.equal(redactStoreUrl('sqlite:./t.db'), 'sqlite:./t.db');
  });
});
