import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory for database files, and how to remove it. */
export function tempDir(): { dir: string; path: (name?: string) => string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
  return {
    dir,
    path: (name = 'tessera.db') => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
