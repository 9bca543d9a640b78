export type { ConnectRedisOptions } from './connect-redis.js';
export { connectRedis, parseRedisUrl } from './connect-redis.js';
export type { RedisInvalidationChannel } from './invalidation-channel.js';
export type { KeyLayout } from './key-layout.js';
export { keyLayout } from './key-layout.js';
export type {
  RedisClient,
  RedisClusterClient,
  RedisStandaloneClient,
} from './redis-link.js';
export type { RedisStoreOptions } from './redis-store.js';
export { createRedisStore } from './redis-store.js';
