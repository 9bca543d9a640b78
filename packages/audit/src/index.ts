export type {
  ClaimFindings,
  DecodedJwt,
} from './analysis/jwt.js';
export {
  COMMON_JWT_SECRETS,
  decodeJwt,
  findHmacSecret,
  forgeAlgConfusion,
  forgeAlgNone,
  inspectClaims,
  signHs,
} from './analysis/jwt.js';
export type {
  AnalyzeOptions,
  PatternFinding,
  RandomnessReport,
  StatVerdict,
  TestResult,
} from './analysis/randomness.js';
export { analyzeTokens, extractRandomPart } from './analysis/randomness.js';
export type { Area, CheckDefinition, Severity, Verdict } from './check-catalog.js';
export { CHECKS, checkById } from './check-catalog.js';
export type { CheckResult } from './check-result.js';
export type { CliIo } from './cli.js';
export { runAuditCli, USAGE } from './cli.js';
export type { LoadTargetOptions, LoadTargetResult } from './load-target.js';
export { loadTargetFile, parseTarget, targetSchema } from './load-target.js';
export { POLICY_PROFILES, resolvePolicy } from './policy.js';
export type { Redactor } from './redactor.js';
export { createRedactor } from './redactor.js';
export { escapeHtml, renderHtml } from './render-html.js';
export { renderSarif } from './render-sarif.js';
export { renderTerminal } from './render-terminal.js';
export type { AuditReport } from './report.js';
export { hasBlockingFailure, VERSION } from './report.js';
export type { RunAuditOptions } from './run-audit.js';
export { AuditSetupError, runAudit } from './run-audit.js';
export type {
  Account,
  CredentialKind,
  CredentialRule,
  CredentialSource,
  Limits,
  Oracle,
  Policy,
  PolicyProfile,
  Presentation,
  ProbeTemplate,
  RequestTemplate,
  Target,
} from './target.js';
