/**
 * The audit target as the runner uses it: the file's fields after validation, environment
 * interpolation and defaults. The file format itself is described in README.md and in
 * `schema/target.schema.json`.
 */

/** Where a credential is read from in an answer. */
export type CredentialSource = 'cookie' | 'json' | 'header';

/** What a credential is for; `refresh` credentials are only sent to the refresh endpoint. */
export type CredentialKind = 'session' | 'access' | 'refresh' | 'other';

/** How a credential is sent back on authenticated requests. */
export type Presentation =
  | { as: 'cookie'; name: string }
  | { as: 'header'; name: string; template: string }
  | { as: 'query'; name: string }
  | { as: 'none' };

export interface CredentialRule {
  name: string;
  from: CredentialSource;
  /** Cookie name, JSON path or header name, depending on `from`. */
  key: string;
  kind: CredentialKind;
  transform?: { stripPrefix?: string; regex?: string; group: number };
  present: Presentation;
}

export interface RequestTemplate {
  method: string;
  path: string;
  headers: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  body?: string;
  sendCredentials: boolean;
  followRedirects: boolean;
}

export interface Oracle {
  statuses: number[];
  bodyContains?: string;
  bodyRegex?: string;
  jsonPath?: string;
  equals?: string | number | boolean;
}

export interface ProbeTemplate extends RequestTemplate {
  authenticated: Oracle;
  unauthenticated: Oracle & { redirect: boolean };
}

export interface Account {
  username: string;
  password: string;
}

export type PolicyProfile = 'high' | 'medium' | 'low';

export interface Policy {
  profile: PolicyProfile | 'custom';
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
  /** Clock skew and scheduling slack around each limit. */
  toleranceSeconds: number;
  /** Declared window during which a rotated refresh token may still be replayed idempotently. */
  refreshGraceSeconds: number;
  client: 'public' | 'confidential';
  minimumEntropyBits: number;
}

export interface Limits {
  maxWaitSeconds: number;
  sampleSize: number;
  requestsPerSecond: number;
  timeBudgetSeconds: number;
  maxRequests: number;
  requestTimeoutSeconds: number;
}

export interface Target {
  name: string;
  baseUrl: URL;
  /** Judge cookies as if served over https. */
  https: boolean;
  accounts: Account[];
  preLogin?: RequestTemplate;
  login: RequestTemplate & { expectStatuses?: number[] };
  credentials: CredentialRule[];
  probe: ProbeTemplate;
  logout: RequestTemplate;
  refresh?: RequestTemplate & { expectStatuses?: number[] };
  logoutAll?: RequestTemplate;
  passwordChange?: { request: RequestTemplate; revert?: RequestTemplate; newPassword?: string };
  policy: Policy;
  jwt: { publicKeyPem?: string; jwksPath?: string };
  limits: Limits;
  /** Values that came from the environment or the accounts: redacted from every output. */
  secrets: string[];
}
