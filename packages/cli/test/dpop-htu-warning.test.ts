import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type CliIo, loadConfig, startService } from 'tessera';

/*
 * RFC 9449 §4.3 check 9 rests on the server knowing its own URL. Without public_url it is
 * rebuilt from the caller's Host header, so `tessera serve` says so when strangers can reach it.
 */

const dir = mkdtempSync(join(tmpdir(), 'tessera-htu-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function errLinesOfServe(env: Record<string, string>, host: string): Promise<string[]> {
  const err: string[] = [];
  const io: CliIo = { out: () => {}, err: (l) => err.push(l), env: {} };
  const config = loadConfig({
    env: { TESSERA_LOG_LEVEL: 'silent', ...env },
    flags: { store: `sqlite:${join(dir, `${Math.random()}.db`)}`, port: '0', host },
  });
  const service = await startService(config, io);
  await service.stop();
  return err;
}

describe('tessera serve warns when DPoP htu would follow the Host header', () => {
  test('warns on a public address without public_url or server nonces', async () => {
    const err = await errLinesOfServe({}, '0.0.0.0');
    assert.equal(err.length, 1, err.join('\n'));
    assert.match(err[0] as string, /public_url is not set.*Host header/);
  });

  test('is quiet with public_url, with server nonces, or on loopback', async () => {
    const nonceSecret = 'n'.repeat(43);
    assert.deepEqual(
      await errLinesOfServe({ TESSERA_PUBLIC_URL: 'https://auth.example.com' }, '0.0.0.0'),
      [],
    );
    assert.deepEqual(
      await errLinesOfServe({ TESSERA_DPOP_NONCE_SECRET: nonceSecret }, '0.0.0.0'),
      [],
    );
    assert.deepEqual(await errLinesOfServe({}, '127.0.0.1'), []);
  });
});
