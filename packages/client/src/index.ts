export type {
  DeviceSession,
  DpopOption,
  MonotonicClock,
  SignOutReason,
  TesseraClient,
  TesseraClientOptions,
  TokenAnswer,
} from './client.js';
export { createTesseraClient } from './client.js';
export type { DpopKeyHandle, DpopKeyStore, DpopProofClaims } from './dpop.js';
export {
  createDpopProof,
  defaultDpopKeyStore,
  ecdsaDerToJose,
  htuOf,
  indexedDbDpopKeyStore,
  jwkThumbprint,
  memoryDpopKeyStore,
  webCryptoDpopKey,
} from './dpop.js';
export type { TesseraClientErrorCode, TesseraClientErrorOptions } from './errors.js';
export { TesseraClientError } from './errors.js';
export type {
  BrowserStorageOptions,
  ExpoSecureStoreModule,
  ExpoSecureStoreOptions,
  MobileStorageOptions,
  ReactNativeKeychainModule,
  SecureStorage,
} from './storage.js';
export {
  browserStorage,
  createMemoryStorage,
  expoSecureStore,
  reactNativeKeychain,
} from './storage.js';
