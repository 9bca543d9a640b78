/** How bad a failure of a check is. */
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** A check's outcome. Nothing PASSes on an inconclusive probe; SKIPPED always carries a reason. */
export type Verdict = 'PASS' | 'FAIL' | 'WARN' | 'INCONCLUSIVE' | 'SKIPPED';

export type Area =
  | 'Token generation'
  | 'Token validation'
  | 'Self-contained tokens (JWT)'
  | 'Login'
  | 'Logout and termination'
  | 'Timeouts'
  | 'Refresh tokens'
  | 'Transport and caching'
  | 'Cookies';

export interface CheckDefinition {
  id: string;
  title: string;
  area: Area;
  /** Severity of a FAIL (a check may raise or lower it for a given finding). */
  severity: Severity;
  /** Requirement ids: ASVS 5.0 "7.x.y", MASVS/MSTG, WSTG-SESS-xx, NIST SP 800-63B-4, RFCs. */
  refs: string[];
  helpUri: string;
  /** True when the check needs to wait (idle, absolute or grace windows). */
  waits: boolean;
}

const ASVS_V7 = 'https://github.com/OWASP/ASVS/blob/v5.0.0/5.0/en/0x16-V7-Session-Management.md';
const ASVS_V9 = 'https://github.com/OWASP/ASVS/blob/v5.0.0/5.0/en/0x18-V9-Self-contained-Tokens.md';
const ASVS_V3 = 'https://github.com/OWASP/ASVS/blob/v5.0.0/5.0/en/0x12-V3-Web-Frontend-Security.md';
const ASVS_V10 = 'https://github.com/OWASP/ASVS/blob/v5.0.0/5.0/en/0x19-V10-OAuth-and-OIDC.md';
const ASVS_V14 = 'https://github.com/OWASP/ASVS/blob/v5.0.0/5.0/en/0x23-V14-Data-Protection.md';
const WSTG =
  'https://owasp.org/www-project-web-security-testing-guide/v42/4-Web_Application_Security_Testing/06-Session_Management_Testing/';

/** Every check the auditor runs, in report order. */
export const CHECKS: readonly CheckDefinition[] = [
  {
    id: 'SH-TOK-01',
    title: 'Session tokens are unique per login, not a static key',
    area: 'Token generation',
    severity: 'high',
    refs: ['ASVS 7.2.2', 'ASVS 7.2.3', 'MSTG-AUTH-2', 'WSTG-SESS-01', 'M9 2014'],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-TOK-02',
    title: 'Reference tokens have at least 128 bits of effective entropy',
    area: 'Token generation',
    severity: 'high',
    refs: [
      'ASVS 7.2.3',
      'NIST SP 800-63B-4 §5.1',
      'WSTG-SESS-01',
      'MSTG-AUTH-2',
      'NIST SP 800-90B §6.3.1',
      'FIPS 140-2 §4.9.1',
    ],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-TOK-03',
    title: 'Tokens carry no readable personal data or credentials',
    area: 'Token generation',
    severity: 'medium',
    refs: [
      'NIST SP 800-63B-4 §5.1.1',
      'WSTG-SESS-01',
      'Session Management Cheat Sheet: Session ID Content',
    ],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-TOK-04',
    title: 'Tokens show no time, counter or hash-of-known-data pattern',
    area: 'Token generation',
    severity: 'high',
    refs: ['ASVS 7.2.3', 'WSTG-SESS-01', 'M9 2014 (insecure token creation)'],
    helpUri: WSTG,
    waits: false,
  },
  {
    id: 'SH-TOK-05',
    title: 'Tampered, truncated and never-issued tokens are refused',
    area: 'Token validation',
    severity: 'critical',
    refs: ['ASVS 7.2.1', 'MSTG-AUTH-1', 'MSTG-AUTH-2', 'M3 2024'],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-JWT-01',
    title: 'JWT signature and algorithm are enforced (no alg none, no confusion, no weak secret)',
    area: 'Self-contained tokens (JWT)',
    severity: 'critical',
    refs: ['ASVS 9.1.1', 'ASVS 9.1.2', 'ASVS 9.1.3', 'WSTG-SESS-10 (latest)', 'MSTG-AUTH-3'],
    helpUri: ASVS_V9,
    waits: false,
  },
  {
    id: 'SH-JWT-02',
    title: 'JWT claims: exp present and bounded, no personal data',
    area: 'Self-contained tokens (JWT)',
    severity: 'medium',
    refs: ['ASVS 9.2.1', 'WSTG-SESS-10 (latest)', 'MSTG-AUTH-3', 'NIST SP 800-63B-4 §5.1.1'],
    helpUri: ASVS_V9,
    waits: false,
  },
  {
    id: 'SH-LIFE-01',
    title: 'A new session token is issued at login; no fixation or adoption',
    area: 'Login',
    severity: 'high',
    refs: ['ASVS 7.2.4', 'WSTG-SESS-03', 'M9 2014 (rotate cookies)'],
    helpUri: WSTG,
    waits: false,
  },
  {
    id: 'SH-TERM-01',
    title: 'Logout invalidates every credential on the server',
    area: 'Logout and termination',
    severity: 'high',
    refs: [
      'ASVS 7.4.1',
      'WSTG-SESS-06',
      'MSTG-AUTH-4',
      'NIST SP 800-63B-4 §5.1',
      'RFC 9700 §4.14.2',
    ],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-TERM-02',
    title: 'A JWT stops working at logout (deny-list or cutoff)',
    area: 'Logout and termination',
    severity: 'high',
    refs: ['ASVS 7.4.1', 'WSTG-SESS-10 (latest)', 'MSTG-AUTH-4'],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-TERM-04',
    title: '"Log out everywhere" ends the other sessions',
    area: 'Logout and termination',
    severity: 'medium',
    refs: ['ASVS 7.4.3', 'ASVS 7.5.2', 'MSTG-AUTH-11'],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-TERM-06',
    title: 'A password change ends the other sessions',
    area: 'Logout and termination',
    severity: 'medium',
    refs: ['ASVS 7.4.3', 'RFC 9700 §4.14.2', 'MSTG-AUTH-11'],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-TIME-01',
    title: 'Declared lifetimes (cookie, expires_in, JWT exp) fit the policy',
    area: 'Timeouts',
    severity: 'low',
    refs: ['ASVS 7.1.1', 'ASVS 7.3.1', 'ASVS 7.3.2', 'NIST SP 800-63B-4 §2.2.3'],
    helpUri: ASVS_V7,
    waits: false,
  },
  {
    id: 'SH-TIME-02',
    title: 'Idle timeout is enforced by the server',
    area: 'Timeouts',
    severity: 'medium',
    refs: ['ASVS 7.3.1', 'NIST SP 800-63B-4 §5.2', 'WSTG-SESS-07', 'MSTG-AUTH-7', 'M9 2014'],
    helpUri: ASVS_V7,
    waits: true,
  },
  {
    id: 'SH-TIME-03',
    title: 'Absolute session lifetime is enforced by the server',
    area: 'Timeouts',
    severity: 'medium',
    refs: ['ASVS 7.3.2', 'ASVS 10.4.8', 'NIST SP 800-63B-4 §2.3.3'],
    helpUri: ASVS_V7,
    waits: true,
  },
  {
    id: 'SH-RT-01',
    title: 'Refresh rotates the refresh token and kills the previous one',
    area: 'Refresh tokens',
    severity: 'high',
    refs: ['ASVS 10.4.5', 'RFC 9700 §2.2.2', 'RFC 9700 §4.14.2'],
    helpUri: ASVS_V10,
    waits: true,
  },
  {
    id: 'SH-RT-02',
    title: 'Reusing a rotated refresh token ends the whole token family',
    area: 'Refresh tokens',
    severity: 'high',
    refs: ['ASVS 10.4.5', 'RFC 9700 §4.14.2'],
    helpUri: ASVS_V10,
    waits: true,
  },
  {
    id: 'SH-RT-04',
    title: 'Refresh grace window is short and idempotent',
    area: 'Refresh tokens',
    severity: 'low',
    refs: ['RFC 9700 §4.14.2'],
    helpUri: ASVS_V10,
    waits: false,
  },
  {
    id: 'SH-TRN-01',
    title: 'No credential is accepted from, or placed in, a URL',
    area: 'Transport and caching',
    severity: 'high',
    refs: ['ASVS 14.2.1', 'WSTG-SESS-04', 'RFC 6750 §5.3'],
    helpUri: ASVS_V14,
    waits: false,
  },
  {
    id: 'SH-TRN-03',
    title: 'Answers carrying credentials are not cacheable (Cache-Control: no-store)',
    area: 'Transport and caching',
    severity: 'medium',
    refs: ['ASVS 14.3.2', 'RFC 6749 §5.1', 'WSTG-SESS-04'],
    helpUri: ASVS_V14,
    waits: false,
  },
  {
    id: 'SH-COOK-01',
    title: 'Session cookies have HttpOnly, SameSite, Secure/__Host- and a narrow scope',
    area: 'Cookies',
    severity: 'medium',
    refs: [
      'ASVS 3.3.1',
      'ASVS 3.3.2',
      'ASVS 3.3.3',
      'ASVS 3.3.4',
      'WSTG-SESS-02',
      'NIST SP 800-63B-4 §5.1.1',
    ],
    helpUri: ASVS_V3,
    waits: false,
  },
];

/** The definition of a check by id (throws on an unknown id: that is a bug). */
export function checkById(id: string): CheckDefinition {
  const found = CHECKS.find((c) => c.id === id);
  if (!found) throw new Error(`unknown check ${id}`);
  return found;
}

export const SEVERITY_RANK: Record<Severity, number> = {
  info: 0,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};
