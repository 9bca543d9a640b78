import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseTarget, targetSchema } from '../src/index.js';

const MINIMAL = `
base_url: https://api.example.com
accounts: [{ username: alice, password: "\${AUDIT_PASSWORD}" }]
login: { method: POST, path: /login, json: { user: "{{username}}", pass: "{{password}}" } }
credentials: [{ name: session, from: cookie, cookie: sid }]
probe: { path: /me, authenticated: { status: 200, body_contains: alice } }
logout: { method: POST, path: /logout }
`;

describe('target file', () => {
  test('a minimal YAML target resolves with defaults and the password from the environment', () => {
    const result = parseTarget(MINIMAL, { env: { AUDIT_PASSWORD: 'pw-from-env' } });
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    const t = result.target;
    assert.equal(t.accounts[0]?.password, 'pw-from-env');
    assert.deepEqual(t.credentials[0]?.present, { as: 'cookie', name: 'sid' });
    assert.equal(t.policy.idleTimeoutSeconds, 1800);
    assert.equal(t.policy.absoluteTimeoutSeconds, 86400);
    assert.equal(t.limits.sampleSize, 200);
    assert.equal(t.https, true);
    assert.ok(t.secrets.includes('pw-from-env'));
    assert.deepEqual(t.probe.unauthenticated.statuses, [401, 403]);
  });

  test('JSON is accepted as well as YAML', () => {
    const json = JSON.stringify({
      base_url: 'http://127.0.0.1:3000',
      accounts: [{ username: 'a', password: 'b' }],
      login: { path: '/login', form: { u: '{{username}}' } },
      credentials: [{ name: 'token', from: 'json', json_path: '$.token' }],
      probe: { path: '/me', authenticated: { status: 200 } },
      logout: { path: '/logout' },
      policy: 'high',
    });
    const result = parseTarget(json, { env: {} });
    assert.ok(result.ok);
    assert.equal(result.target.policy.idleTimeoutSeconds, 900);
    assert.equal(result.target.login.method, 'POST');
    assert.deepEqual(result.target.credentials[0]?.present, {
      as: 'header',
      name: 'Authorization',
      template: 'Bearer {{value}}',
    });
  });

  test('each mistake gets one message naming the field, the problem and the fix', () => {
    const broken = `
base_url: ftp://example.com
accounts: []
login: { method: POST, pth: /login }
credentials: [{ name: session, from: cookies }]
probe: { path: me }
policy: extreme
`;
    const result = parseTarget(broken, { env: {} });
    assert.equal(result.ok, false);
    const errors = result.ok ? [] : result.errors;
    const expected = [
      /^logout: missing; add the logout request/,
      /^base_url: string "ftp:\/\/example.com" must be an absolute http\(s\) URL/,
      /^accounts: must not be empty/,
      /^login.pth: unknown field; did you mean `path`\?/,
      /^login.path: missing/,
      /^credentials\[0\].from: string "cookies" is not allowed; use one of "cookie", "json", "header"/,
      /^probe.path: string "me" must start with "\/"/,
      /^probe.authenticated: missing/,
      /^policy: string "extreme" is not allowed; use one of "high", "medium", "low" or an object/,
    ];
    for (const re of expected)
      assert.ok(
        errors.some((e) => re.test(e)),
        `no message matches ${re}:\n${errors.join('\n')}`,
      );
    assert.equal(errors.length, expected.length, errors.join('\n'));
  });

  test('an unset environment variable and an unknown placeholder are reported with their place', () => {
    const text = MINIMAL.replace('pass: "{{password}}"', 'pass: "{{pasword}}"');
    const result = parseTarget(text, { env: {} });
    assert.equal(result.ok, false);
    const errors = result.ok ? [] : result.errors;
    assert.ok(
      errors.some((e) =>
        e.startsWith('accounts[0].password: environment variable AUDIT_PASSWORD is not set'),
      ),
      errors.join('\n'),
    );
  });

  test('an unknown placeholder in a template is refused with the allowed names', () => {
    const result = parseTarget(MINIMAL.replace('pass: "{{password}}"', 'pass: "{{pasword}}"'), {
      env: { AUDIT_PASSWORD: 'x' },
    });
    assert.equal(result.ok, false);
    assert.match(
      result.ok ? '' : (result.errors[0] ?? ''),
      /^login\.json: unknown placeholder \{\{pasword\}\}; use one of \{\{username\}\}, \{\{password\}\}/,
    );
  });

  test('a refresh section needs a refresh credential', () => {
    const result = parseTarget(`${MINIMAL}refresh: { path: /token, form: { rt: x } }\n`, {
      env: { AUDIT_PASSWORD: 'x' },
    });
    assert.equal(result.ok, false);
    assert.match(
      result.ok ? '' : (result.errors[0] ?? ''),
      /^refresh: no credential has `kind: refresh`/,
    );
  });

  test('the shipped schema file is the one the loader validates with', () => {
    const onDisk = JSON.parse(
      readFileSync(new URL('../schema/target.schema.json', import.meta.url), 'utf8'),
    );
    assert.deepEqual(onDisk, targetSchema);
  });

  test('the example target for Tessera is valid', () => {
    const text = readFileSync(new URL('../examples/tessera.target.yaml', import.meta.url), 'utf8');
    const result = parseTarget(text, {
      env: { TESSERA_SERVICE_KEY: 'tsk_example', TESSERA_URL: 'http://127.0.0.1:8080' },
    });
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    assert.ok(result.target.secrets.includes('tsk_example'));
  });
});
