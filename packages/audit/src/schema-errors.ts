import type { ErrorObject } from 'ajv';

/** How to fix a missing required field, by field name. */
const REQUIRED_HINTS: Record<string, string> = {
  base_url: 'add the origin to audit, e.g. `base_url: https://api.example.com`',
  accounts:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the target file's own ${VAR} syntax.
    'add at least one test account, e.g. `accounts: [{ username: alice, password: "${AUDIT_PASSWORD}" }]`',
  login:
    'add the login request, e.g. `login: { method: POST, path: /login, json: { user: "{{username}}", pass: "{{password}}" } }`',
  credentials:
    'say where the session credential is read, e.g. `credentials: [{ name: session, from: cookie, cookie: sid }]`',
  probe:
    'add an authenticated read-only request with its oracle, e.g. `probe: { path: /me, authenticated: { status: 200 } }`',
  logout: 'add the logout request, e.g. `logout: { method: POST, path: /logout }`',
  path: 'add the request path, starting with "/"',
  authenticated:
    'add the oracle that recognises an authenticated answer, e.g. `authenticated: { status: 200, body_contains: "alice" }`',
  username: 'add the account user name',
  name: 'add a name; it is how templates refer to the value, e.g. {{session}}',
  from: 'say where the value is read: cookie, json or header',
  cookie: 'with `from: cookie`, add the cookie name, e.g. `cookie: connect.sid`',
  json_path: 'with `from: json`, add the JSON path, e.g. `json_path: $.access_token`',
  header: 'with `from: header`, add the response header name',
  as: 'add how the credential is sent: cookie, header or query',
  request: 'add the request template',
};

/** Hints for a failed `pattern`, by field name. */
const PATTERN_HINTS: Record<string, string> = {
  base_url:
    'must be an absolute http(s) URL with no query or fragment, e.g. https://api.example.com',
  path: 'must start with "/", e.g. /v1/session',
  jwks_path: 'must start with "/"',
  json_path: 'must be a JSON path starting with "$", e.g. $.access_token',
  name: 'must be a simple identifier (letters, digits, "_"), e.g. access_token',
};

/** Formats an ajv instance path (`/credentials/0/from`) the way users write it (`credentials[0].from`). */
export function formatPath(instancePath: string): string {
  if (instancePath === '') return '(top level)';
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
      '',
    );
}

function lastField(instancePath: string): string {
  const parts = instancePath.split('/').filter((p) => p !== '' && !/^\d+$/.test(p));
  return parts.at(-1) ?? '';
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const temp = row[j] ?? 0;
      row[j] = Math.min(
        (row[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = temp;
    }
  }
  return row[b.length] ?? 0;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Turns ajv's errors into one message per mistake: where, what is wrong, how to fix it.
 * `oneOf` noise is reduced to the branch whose type matches the value, and `if/then` wrappers are
 * dropped in favour of the `required` error they carry.
 */
export function formatSchemaErrors(
  errors: ErrorObject[],
  allowedFields: (schemaPath: string) => string[],
): string[] {
  const dropped = new Set<ErrorObject>();
  const extra: string[] = [];
  for (const e of errors) {
    if (e.keyword === 'if') dropped.add(e);
    if (e.keyword !== 'oneOf') continue;
    dropped.add(e);
    const branches = new Map<string, ErrorObject[]>();
    for (const other of errors) {
      if (other === e || !other.schemaPath.startsWith(`${e.schemaPath}/`)) continue;
      if (!other.instancePath.startsWith(e.instancePath)) continue;
      const branch = other.schemaPath.slice(e.schemaPath.length + 1).split('/')[0] ?? '';
      branches.set(branch, [...(branches.get(branch) ?? []), other]);
    }
    const mismatched = (list: ErrorObject[]) =>
      list.some(
        (x) => x.instancePath === e.instancePath && (x.keyword === 'type' || x.keyword === 'enum'),
      );
    const keep = [...branches.values()].filter((list) => !mismatched(list));
    for (const list of branches.values()) for (const x of list) dropped.add(x);
    if (keep.length > 0) {
      for (const list of keep) for (const x of list) dropped.delete(x);
    } else {
      const expected = [...branches.values()]
        .flat()
        .filter((x) => x.instancePath === e.instancePath)
        .map((x) =>
          x.keyword === 'enum'
            ? `one of ${(x.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
            : `${/^[aeiou]/.test((x.params as { type: string }).type) ? 'an' : 'a'} ${(x.params as { type: string }).type}`,
        );
      extra.push(
        `${formatPath(e.instancePath)}: ${describe(e.data)} is not allowed; use ${[...new Set(expected)].join(' or ')}.`,
      );
    }
  }
  const messages = errors
    .filter((e) => !dropped.has(e))
    .map((e) => {
      const where = formatPath(e.instancePath);
      switch (e.keyword) {
        case 'required': {
          const field = (e.params as { missingProperty: string }).missingProperty;
          const at = e.instancePath === '' ? field : `${where}.${field}`;
          return `${at}: missing; ${REQUIRED_HINTS[field] ?? `add \`${field}\``}.`;
        }
        case 'additionalProperties': {
          const field = (e.params as { additionalProperty: string }).additionalProperty;
          // With ajv's verbose mode the failing schema node itself is at hand; schemaPath is
          // relative to a $ref target and so cannot be resolved on its own.
          const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)
            ?.properties;
          const suggestion = closest(
            field,
            props ? Object.keys(props) : allowedFields(e.schemaPath),
          );
          const at = e.instancePath === '' ? field : `${where}.${field}`;
          return `${at}: unknown field; ${suggestion ? `did you mean \`${suggestion}\`?` : 'remove it or check its spelling.'}`;
        }
        case 'enum':
          return `${where}: ${describe(e.data)} is not allowed; use one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}.`;
        case 'type':
          return `${where}: must be ${(e.params as { type: string }).type}, got ${describe(e.data)}.`;
        case 'pattern':
          return `${where}: ${describe(e.data)} ${PATTERN_HINTS[lastField(e.instancePath)] ?? `must match ${(e.params as { pattern: string }).pattern}`}.`;
        case 'minItems':
          return `${where}: must not be empty; add at least ${(e.params as { limit: number }).limit} item.`;
        case 'not':
          return `${where}: give only one of \`json\`, \`form\` or \`body\`.`;
        case 'minimum':
        case 'maximum':
        case 'exclusiveMinimum':
        case 'exclusiveMaximum':
        case 'minLength':
          return `${where}: ${describe(e.data)} ${e.message ?? 'is out of range'}.`;
        default:
          return `${where}: ${e.message ?? 'is not valid'}.`;
      }
    });
  return [...new Set([...extra, ...messages])];
}
