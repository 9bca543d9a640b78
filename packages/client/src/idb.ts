/*
 * A few lines over IndexedDB: one database, one object store, structured-clone values. A
 * CryptoKey is structured-cloneable, so it is stored as the key object itself: a key created
 * non-extractable stays non-extractable, and its bytes never reach script.
 */

export interface KeyValueDb {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
  /** Writes only when the key is absent; false when another tab or call wrote it first. */
  add(key: string, value: unknown): Promise<boolean>;
  delete(key: string): Promise<void>;
}

const STORE = 'kv';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Opens (creating on first use) the database `name` with its single `kv` object store. */
export function openKeyValueDb(name: string): KeyValueDb {
  let opened: Promise<IDBDatabase> | null = null;
  const db = () => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (idb === undefined) {
        reject(new Error('IndexedDB is not available here'));
        return;
      }
      const open = idb.open(name, 1);
      open.onupgradeneeded = () => {
        open.result.createObjectStore(STORE);
      };
      open.onsuccess = () => {
        // Another tab upgrading later must not be blocked by us.
        open.result.onversionchange = () => open.result.close();
        resolve(open.result);
      };
      open.onerror = () => reject(open.error);
    }).catch((error) => {
      opened = null;
      throw error;
    });
    return opened;
  };

  async function run<T>(
    mode: IDBTransactionMode,
    action: (store: IDBObjectStore) => IDBRequest<T>,
  ): Promise<T> {
    const transaction = (await db()).transaction(STORE, mode);
    const result = request(action(transaction.objectStore(STORE)));
    // Its failure is the transaction's failure, reported below.
    result.catch(() => undefined);
    // Resolve only once the transaction is durable (a write that rolls back must not succeed).
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onabort = () => reject(transaction.error ?? new Error('transaction aborted'));
      transaction.onerror = () => reject(transaction.error);
    });
    return result;
  }

  return {
    get: <T>(key: string) => run('readonly', (s) => s.get(key)) as Promise<T | undefined>,
    put: async (key, value) => {
      await run('readwrite', (s) => s.put(value, key));
    },
    add: async (key, value) => {
      try {
        await run('readwrite', (s) => s.add(value, key));
        return true;
      } catch (error) {
        if ((error as { name?: string } | null)?.name === 'ConstraintError') return false;
        throw error;
      }
    },
    delete: async (key) => {
      await run('readwrite', (s) => s.delete(key));
    },
  };
}
