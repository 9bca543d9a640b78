import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The phone's secure storage, played by a file for the Node phone of this example: the same
 * `get`/`set`/`delete` shape as the SDK's `SecureStorage`. On a real phone this is the Keychain
 * or the Keystore; a plain file is only acceptable here because the "phone" is a test process
 * in a private temporary directory (mode 0600).
 *
 * Crash-safe: every change writes the whole map to a temporary file, fsyncs it and renames it
 * over the old one (rename is atomic on POSIX), then fsyncs the directory. A process killed with
 * SIGKILL at any instant leaves either the previous state or the new one, never a torn file:
 * that is what lets a phone killed in the middle of a token rotation restart on what it had
 * persisted.
 */
export interface FileStorage {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

function readAll(path: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

function writeAll(path: string, data: Record<string, string>): void {
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(data));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export function fileStorage(path: string): FileStorage {
  // One process owns the file at a time (the phone); writes are serialised in it.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => T): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    get: (key) => serial(() => readAll(path)[key] ?? null),
    set: (key, value) =>
      serial(() => {
        const data = readAll(path);
        data[key] = value;
        writeAll(path, data);
      }),
    delete: (key) =>
      serial(() => {
        const data = readAll(path);
        delete data[key];
        writeAll(path, data);
      }),
  };
}

/** Where a phone keeps its file storage inside a data directory. */
export const phoneStoragePath = (dataDir: string, phone: string) =>
  join(dataDir, `${phone}.storage.json`);
