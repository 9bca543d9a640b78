import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createDpopProof,
  createMemoryStorage,
  createTesseraClient,
  type ExpoSecureStoreModule,
  ecdsaDerToJose,
  expoSecureStore,
  jwkThumbprint,
  memoryDpopKeyStore,
  type ReactNativeKeychainModule,
  reactNativeKeychain,
  TesseraClientError,
  webCryptoDpopKey,
} from '@tessera/client';
import { calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from 'jose';
import { sha256Js } from '../src/sha256.js';

/*
 * The storage adapters against fakes that follow the libraries' documented APIs, and the DPoP
 * building blocks checked with jose. (browserStorage and the IndexedDB key store run in real
 * Chromium: browser-sdk.test.ts.)
 */

/**
 * expo-secure-store as documented: getItemAsync / setItemAsync / deleteItemAsync(key, options),
 * keys of `[A-Za-z0-9._-]`, items kept per `keychainService`, the accessibility constants are
 * opaque values exported by the module (numbers from the native side).
 */
function fakeExpoSecureStore() {
  const items = new Map<string, { value: string; accessible: unknown }>();
  const calls: { verb: string; key: string; options: unknown }[] = [];
  const WHEN_UNLOCKED_THIS_DEVICE_ONLY = 5; // an opaque constant, as the native module gives
  const slot = (key: string, options?: { keychainService?: string }) => {
    if (!/^[\w.-]+$/.test(key)) throw new Error(`Invalid key provided to SecureStore: ${key}`);
    return `${options?.keychainService ?? 'app'}/${key}`;
  };
  const module: ExpoSecureStoreModule = {
    WHEN_UNLOCKED_THIS_DEVICE_ONLY,
    async getItemAsync(key, options) {
      calls.push({ verb: 'get', key, options });
      return items.get(slot(key, options))?.value ?? null;
    },
    async setItemAsync(key, value, options) {
      calls.push({ verb: 'set', key, options });
      if (typeof value !== 'string') throw new Error('SecureStore values must be strings');
      items.set(slot(key, options), { value, accessible: options?.keychainAccessible });
    },
    async deleteItemAsync(key, options) {
      calls.push({ verb: 'delete', key, options });
      items.delete(slot(key, options));
    },
  };
  return { module, items, calls, WHEN_UNLOCKED_THIS_DEVICE_ONLY };
}

/**
 * react-native-keychain as documented: one generic password per `service`;
 * getGenericPassword resolves `false` when there is none, resetGenericPassword resolves a
 * boolean, `ACCESSIBLE.WHEN_UNLOCKED_THIS_DEVICE_ONLY` is 'AccessibleWhenUnlockedThisDeviceOnly'.
 */
function fakeKeychain() {
  const items = new Map<string, { username: string; password: string; accessible: unknown }>();
  const module: ReactNativeKeychainModule = {
    ACCESSIBLE: { WHEN_UNLOCKED_THIS_DEVICE_ONLY: 'AccessibleWhenUnlockedThisDeviceOnly' },
    async setGenericPassword(username, password, options) {
      items.set(options?.service ?? 'default', {
        username,
        password,
        accessible: options?.accessible,
      });
      return { service: options?.service ?? 'default', storage: 'KeychainiOS' };
    },
    async getGenericPassword(options) {
      const item = items.get(options?.service ?? 'default');
      return item === undefined
        ? false
        : { username: item.username, password: item.password, service: options?.service ?? '' };
    },
    async resetGenericPassword(options) {
      return items.delete(options?.service ?? 'default');
    },
  };
  return { module, items };
}

describe('expoSecureStore()', () => {
  it('round-trips values in its keychain service, WHEN_UNLOCKED_THIS_DEVICE_ONLY (MASVS-STORAGE-1)', async () => {
    const fake = fakeExpoSecureStore();
    const storage = expoSecureStore({ module: fake.module, service: 'com.example.app' });
    assert.equal(await storage.get('tessera.session'), null);
    await storage.set('tessera.session', '{"refreshToken":"tsr_1"}');
    assert.equal(await storage.get('tessera.session'), '{"refreshToken":"tsr_1"}');
    assert.deepEqual(fake.items.get('com.example.app/tessera.session'), {
      value: '{"refreshToken":"tsr_1"}',
      accessible: fake.WHEN_UNLOCKED_THIS_DEVICE_ONLY,
    });
    for (const call of fake.calls) {
      assert.deepEqual(call.options, {
        keychainService: 'com.example.app',
        keychainAccessible: fake.WHEN_UNLOCKED_THIS_DEVICE_ONLY,
      });
    }
    await storage.delete('tessera.session');
    assert.equal(await storage.get('tessera.session'), null);
    assert.equal(fake.items.size, 0);
  });

  it('carries a whole client session (sign-in, rotation, logout)', async () => {
    const fake = fakeExpoSecureStore();
    const storage = expoSecureStore({ module: fake.module });
    let refreshes = 0;
    const client = createTesseraClient({
      baseUrl: 'https://auth.example.test',
      storage,
      clock: { now: () => 0 },
      fetch: async (input, init) => {
        const request = new Request(input, init);
        const path = new URL(request.url).pathname;
        if (path === '/v1/token') {
          refreshes++;
          return Response.json({
            access_token: `tsa_${refreshes + 1}`,
            refresh_token: `tsr_${refreshes + 1}`,
            expires_in: 300,
            token_type: 'Bearer',
          });
        }
        if (path === '/v1/revoke') return new Response(null, { status: 200 });
        return request.headers.get('authorization') === 'Bearer tsa_1'
          ? Response.json(
              { error: 'invalid_token', tessera_reason: 'access_token_expired' },
              { status: 401 },
            )
          : Response.json({ ok: true });
      },
    });
    await client.setSession({ access_token: 'tsa_1', refresh_token: 'tsr_1', expires_in: 300 });
    assert.equal((await client.fetch('/api')).status, 200);
    assert.equal(
      JSON.parse(fake.items.get('tessera/tessera.session')?.value ?? '{}').refreshToken,
      'tsr_2',
    );
    await client.logout();
    assert.equal(fake.items.size, 0);
  });

  it('refuses keys the library would refuse, before calling it', async () => {
    const fake = fakeExpoSecureStore();
    const storage = expoSecureStore({ module: fake.module });
    await assert.rejects(storage.set('a key/with spaces', 'x'), TypeError);
    assert.equal(fake.calls.length, 0);
  });

  it('without the peer dependency installed, says so when first used', async () => {
    const storage = expoSecureStore();
    await assert.rejects(storage.get('tessera.session'), /expo-secure-store is not installed/);
  });
});

describe('reactNativeKeychain()', () => {
  it('keeps one generic password per key under <service>.<key>, WHEN_UNLOCKED_THIS_DEVICE_ONLY', async () => {
    const fake = fakeKeychain();
    const storage = reactNativeKeychain({ module: fake.module, service: 'com.example.app' });
    assert.equal(await storage.get('tessera.session'), null);
    await storage.set('tessera.session', 'one');
    await storage.set('tessera.pendingRevoke', '["tsr_9"]');
    assert.equal(await storage.get('tessera.session'), 'one');
    assert.equal(await storage.get('tessera.pendingRevoke'), '["tsr_9"]');
    assert.deepEqual(fake.items.get('com.example.app.tessera.session'), {
      username: 'tessera.session',
      password: 'one',
      accessible: 'AccessibleWhenUnlockedThisDeviceOnly',
    });
    await storage.delete('tessera.session');
    assert.equal(await storage.get('tessera.session'), null);
    assert.equal(await storage.get('tessera.pendingRevoke'), '["tsr_9"]');
  });

  it('fails loudly when the Keychain refuses to store (setGenericPassword resolves false)', async () => {
    const fake = fakeKeychain();
    fake.module.setGenericPassword = async () => false;
    const storage = reactNativeKeychain({ module: fake.module });
    await assert.rejects(storage.set('tessera.session', 'x'), /refused/);
  });

  it('without the peer dependency installed, says so when first used', async () => {
    await assert.rejects(reactNativeKeychain().get('x'), /react-native-keychain is not installed/);
  });
});

describe('DPoP building blocks', () => {
  it('the WebCrypto key: non-extractable, loaded again from its store, thumbprint as jose computes it', async () => {
    const store = memoryDpopKeyStore();
    const key = await webCryptoDpopKey(store);
    const pair = await store.load();
    assert.equal(pair?.privateKey.extractable, false);
    await assert.rejects(crypto.subtle.exportKey('jwk', pair!.privateKey));
    assert.deepEqual(Object.keys(key.publicJwk).sort(), ['crv', 'kty', 'x', 'y']);
    const again = await webCryptoDpopKey(store);
    assert.deepEqual(again.publicJwk, key.publicJwk);
    assert.equal(
      await jwkThumbprint(key.publicJwk),
      await calculateJwkThumbprint(key.publicJwk as JWK, 'sha256'),
    );
  });

  it('a platform key handle that signs in DER (Secure Enclave, Android Keystore) through ecdsaDerToJose', async () => {
    // The platform side: a P-256 key whose signer returns DER, like SecKeyCreateSignature.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = publicKey.export({ format: 'jwk' });
    for (let i = 0; i < 20; i++) {
      const handle = {
        alg: 'ES256',
        publicJwk,
        sign: async (data: Uint8Array) =>
          ecdsaDerToJose(new Uint8Array(sign('sha256', data, privateKey))),
      };
      const proof = await createDpopProof(handle, {
        htm: 'post',
        htu: 'https://auth.example.test/v1/token?x=1#y',
        accessToken: 'tsa_x',
        nonce: 'n-1',
        iat: 1_800_000_000,
      });
      const { payload } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        currentDate: new Date(1_800_000_000_000),
      });
      assert.equal(payload['htm'], 'POST');
      assert.equal(payload['htu'], 'https://auth.example.test/v1/token');
      assert.equal(payload['nonce'], 'n-1');
      assert.equal(typeof payload['ath'], 'string');
    }
  });

  it('the plain-JavaScript SHA-256 (runtimes without crypto.subtle) agrees with node:crypto', () => {
    const inputs = [
      ...Array.from({ length: 130 }, (_, n) => randomBytes(n)), // every padding boundary
      randomBytes(1 << 20),
      new TextEncoder().encode('tsa_ünïcödé ✓'),
    ];
    for (const input of inputs) {
      assert.equal(
        Buffer.from(sha256Js(input)).toString('hex'),
        createHash('sha256').update(input).digest('hex'),
        `length ${input.length}`,
      );
    }
  });

  it('ecdsaDerToJose rejects what is not a DER signature', () => {
    assert.throws(() => ecdsaDerToJose(new Uint8Array([1, 2, 3])), TypeError);
  });

  it('jkt() and dpopProof() need a key: dpop_unavailable otherwise', async () => {
    const client = createTesseraClient({
      baseUrl: 'https://auth.example.test',
      storage: createMemoryStorage(),
    });
    await assert.rejects(
      client.dpopProof('POST', 'https://api.example.test/sign-in'),
      (e: unknown) => e instanceof TesseraClientError && e.code === 'dpop_unavailable',
    );
  });
});
