export type { RateLimitOptions, ServerOptions, TlsOptions } from './build-server.js';
export { buildServer } from './build-server.js';
export type { DpopServerOptions } from './dpop.js';
export type { ServerLoggerOptions } from './logger.js';
export { createLogger, maskCredentials } from './logger.js';
export type { MetricsOptions, TesseraMetrics } from './metrics.js';
export { createMetrics } from './metrics.js';
export type { TesseraReason } from './refusal-reason.js';
export { TESSERA_REASONS } from './refusal-reason.js';
