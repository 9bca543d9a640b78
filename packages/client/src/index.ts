export type {
  MonotonicClock,
  SignOutReason,
  TesseraClient,
  TesseraClientOptions,
  TokenAnswer,
} from './client.js';
export { createTesseraClient } from './client.js';
export type { TesseraClientErrorCode } from './errors.js';
export { TesseraClientError } from './errors.js';
export type { SecureStorage } from './storage.js';
export { createMemoryStorage } from './storage.js';
