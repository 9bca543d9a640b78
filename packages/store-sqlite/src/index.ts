export type { MigrationResult } from './migrate.js';
export { migrateSchema } from './migrate.js';
export type { OpenSqliteDatabaseOptions } from './open-database.js';
export { openSqliteDatabase } from './open-database.js';
export type { Migration } from './schema.js';
export { MIGRATIONS } from './schema.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { createSqliteStore } from './sqlite-store.js';
