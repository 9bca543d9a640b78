export type { CreatePoolOptions } from './create-pool.js';
export { createPool } from './create-pool.js';
export type { MigrateOptions, MigrateResult } from './migrate.js';
export { migrate, SCHEMA_VERSION } from './migrate.js';
export type { InvalidationOptions, PostgresStoreOptions } from './postgres-store.js';
export { createPostgresStore } from './postgres-store.js';
