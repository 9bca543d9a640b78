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
