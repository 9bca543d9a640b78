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

/*
 * The slice of the IndexedDB API used here, typed locally so that the package compiles with or
 * without the DOM library (Node builds and tests have none).
 */
interface IdbRequest<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbDatabase {
  transaction(store: string, mode: 'readonly' | 'readwrite'): IdbTransaction;
  createObjectStore(name: string): unknown;
  close(): void;
  onversionchange: (() => void) | null;
}
interface IdbTransaction {
  objectStore(name: string): IdbObjectStore;
  readonly error: unknown;
  oncomplete: (() => void) | null;
  onabort: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbObjectStore {
  get(key: string): IdbRequest<unknown>;
  put(value: unknown, key: string): IdbRequest<unknown>;
  add(value: unknown, key: string): IdbRequest<unknown>;
  delete(key: string): IdbRequest<unknown>;
}
interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
}

function request<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Opens (creating on first use) the database `name` with its single `kv` object store. */
export function openKeyValueDb(name: string): KeyValueDb {
  let opened: Promise<IdbDatabase> | null = null;
  const db = () => {
    opened ??= new Promise<IdbDatabase>((resolve, reject) => {
      const idb = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
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
    mode: 'readonly' | 'readwrite',
    action: (store: IdbObjectStore) => IdbRequest<T>,
  ): Promise<T> {
    const transaction = (await db()).transaction(STORE, mode);
    // Resolves only once the transaction is durable: a write that rolls back must not succeed.
    const done = new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onabort = () => reject(transaction.error ?? new Error('transaction aborted'));
      transaction.onerror = () => reject(transaction.error ?? new Error('transaction failed'));
    });
    done.catch(() => undefined); // a failed request reports its own error first, below
    // The request's own error (say, ConstraintError from add) is the one worth reporting.
    const value = await request(action(transaction.objectStore(STORE)));
    await done;
    return value;
  }

  return {
    get: <T>(key: string) => run('readonly', (s) => s.get(key) as IdbRequest<T | undefined>),
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
