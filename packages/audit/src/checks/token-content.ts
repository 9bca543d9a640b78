import type { AuditContext } from '../audit-context.js';
import { type CheckResult, result } from '../check-result.js';

/** Readable forms of a token: as is, URL-decoded, and base64/base64url/hex-decoded when printable. */
export function decodings(token: string): { label: string; text: string }[] {
  const out = [{ label: 'as sent', text: token }];
  try {
    const u = decodeURIComponent(token);
    if (u !== token) out.push({ label: 'URL-decoded', text: u });
  } catch {
    // Not URL-encoded: nothing to add.
  }
  const printable = (s: string) =>
    s.length > 0 && [...s].filter((ch) => ch >= ' ' && ch <= '~').length / s.length > 0.85;
  for (const part of token.split(/[.:|~]/)) {
    if (/^[A-Za-z0-9+/_-]{6,}={0,2}$/.test(part)) {
      const text = Buffer.from(part.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString(
        'latin1',
      );
      if (printable(text)) out.push({ label: 'base64-decoded', text });
    }
    if (/^([0-9a-fA-F]{2}){3,}$/.test(part)) {
      const text = Buffer.from(part, 'hex').toString('latin1');
      if (printable(text)) out.push({ label: 'hex-decoded', text });
    }
  }
  return out;
}

/**
 * SH-TOK-03 (NIST SP 800-63B-4 §5.1.1, WSTG-SESS-01): a reference token must not carry the user
 * name or password, in clear or merely encoded; no token may carry the password. (A JWT `sub`
 * naming the user is normal; personal data in JWT claims is judged by SH-JWT-02.)
 */
export async function checkTokenContent(ctx: AuditContext): Promise<CheckResult[]> {
  const fresh = await ctx.freshSession('SH-TOK-03');
  if (!fresh.ok) return [result('SH-TOK-03', 'INCONCLUSIVE', fresh.reason)];
  const { session } = fresh;
  const { username, password } = session.identity;
  const problems: string[] = [];
  const evidence: string[] = [];
  for (const [name, value] of session.values) {
    const profile = ctx.profiles.find((p) => p.name === name);
    const forms = decodings(value);
    evidence.push(`${name} ${ctx.fp(value)}: looked at ${forms.map((f) => f.label).join(', ')}`);
    for (const form of forms) {
      // Case-sensitive and at least 4 characters: a random token contains a given 3-letter
      // name by chance often enough to matter; 4 exact characters, about once in 10^5 tokens.
      if (password.length >= 4 && form.text.includes(password))
        problems.push(`${name} contains the password (${form.label})`);
      if (profile?.shape !== 'jwt' && username.length >= 4 && form.text.includes(username))
        problems.push(`${name} contains the user name (${form.label})`);
    }
  }
  if (problems.length > 0)
    return [result('SH-TOK-03', 'FAIL', [...new Set(problems)].join('; '), evidence)];
  return [
    result(
      'SH-TOK-03',
      'PASS',
      'no token contains the user name or password, in clear or encoded',
      evidence,
    ),
  ];
}
