import { fromBase64, toBase64 } from './encoding.js';
import { openKeyValueDb } from './idb.js';
import type { WebCryptoKey } from './webcrypto.js';

/**
 * Where the client keeps its refresh token. On phones this must be the Keychain (iOS) or the
 * Keystore (Android), never AsyncStorage or localStorage (MASVS-STORAGE-1): see the README.
 */
export interface SecureStorage {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** Storage that lives as long as the process: for tests and for servers acting as clients. */
export function createMemoryStorage(): SecureStorage {
  const values = new Map<string, string>();
  return {
    get: async (key) => values.get(key) ?? null,
    set: async (key, value) => {
      values.set(key, value);
    },
    delete: async (key) => {
      values.delete(key);
    },
  };
}

export interface BrowserStorageOptions {
  /** The IndexedDB database (default `tessera`). */
  databaseName?: string;
}

interface Sealed {
  iv: string;
  data: string;
}

/**
 * Browser storage: values encrypted with AES-256-GCM under a key generated non-extractable and
 * kept (as the WebCryptoKey itself) in IndexedDB, the ciphertext beside it. Script in the page can
 * use the key but never read it, so a copy of the database (a disk image, a backup, a synced
 * profile, an extension reading storage) yields nothing usable elsewhere. Each value is bound to
 * its name (AES-GCM additional data), so ciphertexts cannot be swapped between names.
 *
 * It does not protect against script running in the page itself (XSS): such script can call the
 * API like the app does. Where that matters, keep tokens out of the page entirely (cookie mode
 * of `@tessera/node`).
 */
export function browserStorage(options: BrowserStorageOptions = {}): SecureStorage {
  const db = openKeyValueDb(options.databaseName ?? 'tessera');
  const KEY = 'storage.key';
  let key: Promise<WebCryptoKey> | null = null;

  function storageKey(): Promise<WebCryptoKey> {
    key ??= (async () => {
      const found = await db.get<WebCryptoKey>(KEY);
      if (found !== undefined) return found;
      const generated = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
        'encrypt',
        'decrypt',
      ]);
      if (await db.add(KEY, generated)) return generated;
      // Another tab generated the key first: use that one.
      const winner = await db.get<WebCryptoKey>(KEY);
      if (winner === undefined) throw new Error('the storage key vanished while being created');
      return winner;
    })().catch((error) => {
      key = null;
      throw error;
    });
    return key;
  }

  const slot = (name: string) => `value.${name}`;
  const aad = (name: string) => new TextEncoder().encode(`tessera:${name}`);

  return {
    async get(name) {
      const sealed = await db.get<Sealed>(slot(name));
      if (sealed === undefined) return null;
      try {
        const plain = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: fromBase64(sealed.iv), additionalData: aad(name) },
          await storageKey(),
          fromBase64(sealed.data),
        );
        return new TextDecoder().decode(plain);
      } catch {
        // Sealed under a key that is gone (the key was cleared) or tampered with: unreadable
        // is the same as absent, and the stale value is dropped.
        await db.delete(slot(name));
        return null;
      }
    },
    async set(name, value) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const data = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: aad(name) },
        await storageKey(),
        new TextEncoder().encode(value),
      );
      await db.put(slot(name), { iv: toBase64(iv), data: toBase64(new Uint8Array(data)) });
    },
    delete: (name) => db.delete(slot(name)),
  };
}

/** The part of `expo-secure-store` the adapter uses (its documented API). */
export interface ExpoSecureStoreModule {
  getItemAsync(key: string, options?: ExpoSecureStoreOptions): Promise<string | null>;
  setItemAsync(key: string, value: string, options?: ExpoSecureStoreOptions): Promise<void>;
  deleteItemAsync(key: string, options?: ExpoSecureStoreOptions): Promise<void>;
  WHEN_UNLOCKED_THIS_DEVICE_ONLY: unknown;
}

export interface ExpoSecureStoreOptions {
  keychainService?: string;
  keychainAccessible?: unknown;
}

export interface MobileStorageOptions<M> {
  /** The library module, when the app imports it itself (or a test passes a fake). */
  module?: M;
  /** Keychain service name / key prefix (default `tessera`). */
  service?: string;
}

/** Module specifiers kept in variables so that bundlers do not insist on resolving them. */
const EXPO_SECURE_STORE = 'expo-secure-store';
const REACT_NATIVE_KEYCHAIN = 'react-native-keychain';

async function importPeer<M>(specifier: string): Promise<M> {
  try {
    const loaded = (await import(/* @vite-ignore */ specifier)) as M & { default?: M };
    return (loaded.default ?? loaded) as M;
  } catch (cause) {
    throw new Error(`${specifier} is not installed: add it to the app (a peer dependency)`, {
      cause,
    });
  }
}

/** Keys as expo-secure-store and Keychain service names accept them: `[A-Za-z0-9._-]`. */
function checkKey(key: string): string {
  if (!/^[\w.-]+$/.test(key)) throw new TypeError(`invalid storage key ${JSON.stringify(key)}`);
  return key;
}

/**
 * Storage in the iOS Keychain / Android Keystore through `expo-secure-store` (a peer dependency,
 * loaded on first use). Items are `WHEN_UNLOCKED_THIS_DEVICE_ONLY`: readable only while the
 * device is unlocked and never restored to another device from a backup (MASVS-STORAGE-1,
 * MASVS-STORAGE-2).
 */
export function expoSecureStore(
  options: MobileStorageOptions<ExpoSecureStoreModule> = {},
): SecureStorage {
  let loaded: Promise<ExpoSecureStoreModule> | null = options.module
    ? Promise.resolve(options.module)
    : null;
  const store = () => {
    loaded ??= importPeer<ExpoSecureStoreModule>(EXPO_SECURE_STORE).catch((error) => {
      loaded = null;
      throw error;
    });
    return loaded;
  };
  const service = options.service ?? 'tessera';
  const itemOptions = (m: ExpoSecureStoreModule): ExpoSecureStoreOptions => ({
    keychainService: service,
    keychainAccessible: m.WHEN_UNLOCKED_THIS_DEVICE_ONLY,
  });
  return {
    async get(key) {
      const m = await store();
      return m.getItemAsync(checkKey(key), itemOptions(m));
    },
    async set(key, value) {
      const m = await store();
      await m.setItemAsync(checkKey(key), value, itemOptions(m));
    },
    async delete(key) {
      const m = await store();
      await m.deleteItemAsync(checkKey(key), itemOptions(m));
    },
  };
}

/** The part of `react-native-keychain` the adapter uses (its documented API). */
export interface ReactNativeKeychainModule {
  setGenericPassword(
    username: string,
    password: string,
    options?: { service?: string; accessible?: unknown },
  ): Promise<unknown>;
  getGenericPassword(options?: {
    service?: string;
  }): Promise<false | { username: string; password: string; service?: string }>;
  resetGenericPassword(options?: { service?: string }): Promise<boolean>;
  ACCESSIBLE: { WHEN_UNLOCKED_THIS_DEVICE_ONLY: unknown };
}

/**
 * Storage in the iOS Keychain / Android Keystore through `react-native-keychain` (a peer
 * dependency, loaded on first use): one generic-password item per key, under the service
 * `<service>.<key>`, accessible `WHEN_UNLOCKED_THIS_DEVICE_ONLY` (MASVS-STORAGE-1, -2).
 */
export function reactNativeKeychain(
  options: MobileStorageOptions<ReactNativeKeychainModule> = {},
): SecureStorage {
  let loaded: Promise<ReactNativeKeychainModule> | null = options.module
    ? Promise.resolve(options.module)
    : null;
  const keychain = () => {
    loaded ??= importPeer<ReactNativeKeychainModule>(REACT_NATIVE_KEYCHAIN).catch((error) => {
      loaded = null;
      throw error;
    });
    return loaded;
  };
  const prefix = options.service ?? 'tessera';
  const serviceOf = (key: string) => `${prefix}.${checkKey(key)}`;
  return {
    async get(key) {
      const found = await (await keychain()).getGenericPassword({ service: serviceOf(key) });
      return found === false ? null : found.password;
    },
    async set(key, value) {
      const m = await keychain();
      const stored = await m.setGenericPassword(key, value, {
        service: serviceOf(key),
        accessible: m.ACCESSIBLE.WHEN_UNLOCKED_THIS_DEVICE_ONLY,
      });
      if (stored === false) throw new Error(`the Keychain refused to store ${key}`);
    },
    async delete(key) {
      await (await keychain()).resetGenericPassword({ service: serviceOf(key) });
    },
  };
}
