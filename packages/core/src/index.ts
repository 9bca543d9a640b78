export type { Clock, ManualClock } from './clock.js';
export { manualClock, systemClock } from './clock.js';
export type {
  DpopAlgorithm,
  DpopFailureCode,
  DpopProofRequest,
  DpopProofResult,
  DpopVerifier,
  DpopVerifierOptions,
} from './dpop.js';
export {
  accessTokenHashForDpop,
  createDpopVerifier,
  DPOP_ASYMMETRIC_ALGORITHMS,
  isJwkThumbprint,
  normalizeHtu,
} from './dpop.js';
export type { DpopNonceOptions, DpopNonces } from './dpop-nonce.js';
export { createDpopNonces } from './dpop-nonce.js';
export type {
  CreateSessionInput,
  IssuedServiceKey,
  IssuedSession,
  RefreshFailure,
  RefreshOptions,
  RefreshResult,
  StepUpResult,
  Tessera,
  TesseraOptions,
  ValidateFailure,
  ValidateOptions,
  ValidateResult,
} from './engine.js';
export { createTessera } from './engine.js';
export type { TesseraErrorCode } from './errors.js';
export { isTesseraError, TesseraError } from './errors.js';
export type { MemoryStoreOptions } from './memory-store.js';
export { createMemoryStore } from './memory-store.js';
export type { DecodedMessage, NodeLease, NodeLeaseOptions } from './node-lease.js';
export {
  createNodeLease,
  decodeInvalidationMessage,
  dispatchInvalidationMessage,
  encodeAckMessage,
  encodeInvalidationMessage,
  supportsNodeLeases,
} from './node-lease.js';
export type { ScryptParameters } from './operator-password.js';
export {
  DEFAULT_SCRYPT,
  hashOperatorPassword,
  verifyOperatorPassword,
} from './operator-password.js';
export type {
  OperatorAccounts,
  OperatorAccountsOptions,
  OperatorSignInFailure,
  OperatorSignInResult,
} from './operators.js';
export {
  createOperatorAccounts,
  normalizeOperatorName,
  OPERATOR_PASSWORD_MIN_LENGTH,
  OPERATOR_USER_PREFIX,
  operatorNameProblem,
  operatorPasswordProblem,
  operatorUserId,
} from './operators.js';
export type { PolicyTier } from './policy.js';
export { BUILT_IN_POLICIES, resolvePolicies } from './policy.js';
export type { TokenPair } from './seal.js';
export { openSuccessor, sealSuccessor } from './seal.js';
export type {
  DpopJtiEntry,
  EndSelector,
  InvalidationChannel,
  InvalidationEvents,
  LeaseHolder,
  LeaseRenewal,
  NodeInvalidation,
  RotationPatch,
  SessionStore,
} from './store.js';
export { matchesEventQuery } from './store.js';
export type { TokenKind } from './token.js';
export {
  generateId,
  generateToken,
  hashesEqual,
  hashToken,
  isWellFormedToken,
  looksLikeToken,
  tokenKindOf,
} from './token.js';
export type {
  DeviceInfo,
  EndReason,
  EventPage,
  EventQuery,
  NewSessionEvent,
  OperatorRecord,
  Scope,
  ServiceKeyRecord,
  SessionEvent,
  SessionEventType,
  SessionRecord,
} from './types.js';
export { END_REASONS, EVENT_TYPES, SCOPES } from './types.js';
export type {
  ClaimedWebhookDelivery,
  NewWebhookSubscriptionInput,
  WebhookAttemptOutcome,
  WebhookClaim,
  WebhookCompletion,
  WebhookDeliveryQuery,
  WebhookDeliveryRecord,
  WebhookDeliveryState,
  WebhookDisabledReason,
  WebhookOutbox,
  WebhookSecretRotation,
  WebhookSubscriptionRecord,
} from './webhooks.js';
export {
  DEFAULT_SECRET_OVERLAP_SECONDS,
  MAX_SECRET_OVERLAP_SECONDS,
  newWebhookDelivery,
  newWebhookSubscription,
  publicDelivery,
  publicSubscription,
  rotateSubscriptionSecret,
  supportsWebhooks,
  WEBHOOK_DELIVERY_STATES,
  WEBHOOK_DESCRIPTION_MAX_LENGTH,
  WEBHOOK_URL_MAX_LENGTH,
  WEBHOOK_VERBS,
  webhookDeliveryId,
  webhookEventTypesProblem,
  webhookPayload,
  webhookUrlProblem,
} from './webhooks.js';
export {
  generateWebhookSecret,
  isWebhookSecret,
  signWebhook,
  webhookHeaders,
  webhookSecretKey,
} from './webhooks-signing.js';
export type { WebhookWorker, WebhookWorkerOptions } from './webhooks-worker.js';
export { createWebhookWorker, webhookBackoffMs } from './webhooks-worker.js';
