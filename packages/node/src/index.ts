export type {
  AuthorityRefusal,
  AuthorityVerdict,
  IssuedPair,
  SessionAuthority,
  SignInInput,
} from './authority.js';
export { AuthorityUnavailableError } from './authority.js';
export type { PresentedCredential } from './authorization-header.js';
export { readAuthorization } from './authorization-header.js';
export { splitTarget } from './bearer-url.js';
export type { CookieAttributes, CookieAttributesOptions } from './cookie-config.js';
export { resolveCookieAttributes } from './cookie-config.js';
export type {
  CookieAuthenticated,
  CookieAuthResult,
  CookieIssued,
  CookieSessionRequirements,
  CookieSessions,
  CookieSessionsOptions,
} from './cookie-sessions.js';
export { createCookieSessions } from './cookie-sessions.js';
export type { CsrfTokens } from './csrf-token.js';
export { createCsrfTokens } from './csrf-token.js';
export type { DpopProofVerdict, DpopProofVerifier } from './dpop-proof-check.js';
export type { RequestView } from './http-request.js';
export { isSafeMethod } from './http-request.js';
export { inProcessAuthority, viewOf } from './in-process-authority.js';
export type { IntrospectionCache } from './introspection-cache.js';
export {
  createIntrospectionCache,
  MAX_INTROSPECTION_CACHE_SECONDS,
} from './introspection-cache.js';
export type { Refusal } from './refusal.js';
export { refusalBody } from './refusal.js';
export type { RemoteAuthority, RemoteAuthorityOptions } from './remote-authority.js';
export { remoteAuthority } from './remote-authority.js';
export type { OriginPolicyOptions } from './request-origin.js';
export { checkRequestOrigin } from './request-origin.js';
export type { AuthenticatedRequest } from './request-session.js';
export type {
  BearerRequestView,
  BearerRequirements,
  GuardResult,
  SessionGuard,
  SessionGuardOptions,
} from './session-guard.js';
export { createSessionGuard } from './session-guard.js';
export type { SessionRequirements } from './session-requirements.js';
export { checkRequirements } from './session-requirements.js';
export type { SessionView } from './session-view.js';
export type {
  VerifiedWebhook,
  VerifyWebhookOptions,
  WebhookPayload,
  WebhookReplayCache,
  WebhookRequest,
  WebhookVerificationCode,
} from './verify-webhook.js';
export {
  createMemoryReplayCache,
  verifyWebhook,
  WebhookVerificationError,
} from './verify-webhook.js';
export type { ChallengeParams, ChallengeScheme } from './www-authenticate.js';
export { challenge } from './www-authenticate.js';
