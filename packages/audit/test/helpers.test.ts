import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { appearsInUrl } from '../src/checks/url-exposure.js';
import { createRedactor } from '../src/index.js';
import { readJsonPath } from '../src/json-path.js';
import { createScheduler } from '../src/scheduler.js';
import { isExpiringCookie, parseSetCookie } from '../src/set-cookie.js';
import { renderTemplate } from '../src/template.js';
import { referenceVariants } from '../src/token-variants.js';

describe('helpers', () => {
  test('Set-Cookie attributes are parsed case-insensitively', () => {
    const c = parseSetCookie(
      'sid=s%3Aabc.def; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; SameSite=Lax',
    );
    assert.deepEqual(
      [c.name, c.value, c.httpOnly, c.secure, c.sameSite, c.path],
      ['sid', 's%3Aabc.def', true, false, 'Lax', '/'],
    );
    assert.equal(isExpiringCookie(c), true);
  });

  test('the JSON path subset reads nested keys and indexes', () => {
    assert.equal(readJsonPath({ session: { id: 'x' }, list: [{ t: 1 }] }, '$.session.id'), 'x');
    assert.equal(readJsonPath({ list: [{ t: 1 }] }, '$.list[0].t'), 1);
    assert.equal(readJsonPath({ 'a-b': 2 }, "$['a-b']"), 2);
    assert.equal(readJsonPath({}, '$.missing.deeper'), undefined);
  });

  test('templates render variables and environment values', () => {
    assert.equal(
      renderTemplate('Bearer {{ value }} {{env.KEY}}', { value: 'v' }, { KEY: 'k' }),
      'Bearer v k',
    );
  });

  test('the redactor replaces raw and URL-encoded secrets by a 12-hex fingerprint', () => {
    const r = createRedactor(Buffer.alloc(32, 1));
    r.register('s:secret value');
    const out = r.redact('a s:secret value b s%3Asecret%20value c');
    assert.match(out, /^a \[fp:[0-9a-f]{12}\] b \[fp:[0-9a-f]{12}\] c$/);
    assert.equal(
      createRedactor(Buffer.alloc(32, 2)).fingerprint('x') === r.fingerprint('x'),
      false,
    );
  });

  test('a credential inside a URL is recognised, and plain JSON is not a URL', () => {
    assert.equal(appearsInUrl('<a href="/next?token=abcd1234">', 'abcd1234'), true);
    assert.equal(appearsInUrl('see https://x.test/cb#access_token=abcd1234', 'abcd1234'), true);
    assert.equal(appearsInUrl('{"access_token":"abcd1234"}', 'abcd1234'), false);
  });

  test('tampered variants keep the prefix and never touch only the last character', () => {
    const token = `tsa_${'a1B2'.repeat(11)}`;
    const variants = referenceVariants(token);
    assert.ok(variants.every((v) => v.value !== token));
    assert.ok(
      variants
        .filter((v) => v.label.startsWith('one character'))
        .every((v) => v.value.startsWith('tsa_') && v.value.at(-1) === token.at(-1)),
    );
    assert.ok(
      variants.some((v) => v.label.startsWith('never issued') && v.value.length === token.length),
    );
  });

  test('the scheduler overlaps waits: two 300 ms waits take about 300 ms, not 600', async () => {
    const scheduler = createScheduler();
    const start = Date.now();
    await Promise.all([scheduler.until(start + 300, 'a'), scheduler.until(start + 300, 'b')]);
    const took = Date.now() - start;
    scheduler.close();
    assert.ok(took >= 290 && took < 500, `took ${took} ms`);
  });
});
