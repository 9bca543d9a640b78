import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parseDocument } from 'yaml';
import { parseJsonPath } from './json-path.js';
import { type PolicyInput, resolvePolicy } from './policy.js';
import { formatPath, formatSchemaErrors } from './schema-errors.js';
import type {
  CredentialKind,
  CredentialRule,
  Oracle,
  Presentation,
  ProbeTemplate,
  RequestTemplate,
  Target,
} from './target.js';
import { placeholdersOf, stringsOf } from './template.js';

/** The JSON Schema of the target file, as shipped in `schema/target.schema.json`. */
export const targetSchema: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../schema/target.schema.json', import.meta.url), 'utf8'),
);

export type LoadTargetResult = { ok: true; target: Target } | { ok: false; errors: string[] };

export interface LoadTargetOptions {
  /** Environment for `${VAR}` and `{{env.VAR}}`. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

let validator: ReturnType<Ajv['compile']> | undefined;

function validate(document: unknown) {
  validator ??= new Ajv({
    allErrors: true,
    strict: false,
    coerceTypes: true,
    verbose: true,
  }).compile(targetSchema);
  return { valid: validator(document) as boolean, errors: validator.errors ?? [] };
}

/** Field names allowed by the schema node an `additionalProperties` error points at. */
function allowedFields(schemaPath: string): string[] {
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1);
  let node: unknown = targetSchema;
  for (const part of parts) node = (node as Record<string, unknown> | undefined)?.[part];
  const properties = (node as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties ? Object.keys(properties) : [];
}

/** Replaces `${VAR}` in every string, recording which values came from the environment. */
function interpolate(
  value: unknown,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  errors: string[],
  secrets: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const found = env[name];
      if (found === undefined) {
        errors.push(
          `${formatPath(path)}: environment variable ${name} is not set; export it before running the audit (or write the value in the file).`,
        );
        return '';
      }
      secrets.push(found);
      return found;
    });
  }
  if (Array.isArray(value))
    return value.map((v, i) => interpolate(v, `${path}/${i}`, env, errors, secrets));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        interpolate(v, `${path}/${k}`, env, errors, secrets),
      ]),
    );
  }
  return value;
}

type Raw = Record<string, unknown>;

function statuses(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? (value as number[]) : [value as number];
}

function request(raw: Raw, sendCredentialsDefault: boolean): RequestTemplate {
  return {
    method:
      (raw['method'] as string | undefined) ??
      (raw['json'] || raw['form'] || raw['body'] ? 'POST' : 'GET'),
    path: raw['path'] as string,
    headers: (raw['headers'] as Record<string, string> | undefined) ?? {},
    ...(raw['json'] !== undefined ? { json: raw['json'] } : {}),
    ...(raw['form'] !== undefined ? { form: raw['form'] as Record<string, string> } : {}),
    ...(raw['body'] !== undefined ? { body: raw['body'] as string } : {}),
    sendCredentials: (raw['send_credentials'] as boolean | undefined) ?? sendCredentialsDefault,
    followRedirects: (raw['follow_redirects'] as boolean | undefined) ?? false,
  };
}

function oracle(raw: Raw | undefined, defaultStatuses: number[]): Oracle {
  const o: Oracle = { statuses: statuses(raw?.['status']) ?? defaultStatuses };
  if (raw?.['body_contains'] !== undefined) o.bodyContains = raw['body_contains'] as string;
  if (raw?.['body_regex'] !== undefined) o.bodyRegex = raw['body_regex'] as string;
  if (raw?.['json_path'] !== undefined) o.jsonPath = raw['json_path'] as string;
  if (raw?.['equals'] !== undefined) o.equals = raw['equals'] as string | number | boolean;
  return o;
}

function defaultKind(from: string, name: string): CredentialKind {
  if (/refresh/i.test(name)) return 'refresh';
  return from === 'cookie' ? 'session' : 'access';
}

function credential(raw: Raw): CredentialRule {
  const from = raw['from'] as CredentialRule['from'];
  const name = raw['name'] as string;
  const key = (
    from === 'cookie' ? raw['cookie'] : from === 'json' ? raw['json_path'] : raw['header']
  ) as string;
  const kind = (raw['kind'] as CredentialKind | undefined) ?? defaultKind(from, name);
  const rawPresent = raw['present'] as Raw | 'none' | undefined;
  let present: Presentation;
  if (rawPresent === 'none') present = { as: 'none' };
  else if (rawPresent === undefined) {
    if (kind === 'refresh' || kind === 'other') present = { as: 'none' };
    else if (from === 'cookie') present = { as: 'cookie', name: key };
    else present = { as: 'header', name: 'Authorization', template: 'Bearer {{value}}' };
  } else {
    const as = rawPresent['as'] as 'cookie' | 'header' | 'query';
    const presentName =
      (rawPresent['name'] as string | undefined) ??
      (as === 'cookie' && from === 'cookie' ? key : as === 'header' ? 'Authorization' : 'token');
    present =
      as === 'header'
        ? {
            as,
            name: presentName,
            template:
              (rawPresent['template'] as string | undefined) ??
              (presentName.toLowerCase() === 'authorization' ? 'Bearer {{value}}' : '{{value}}'),
          }
        : { as, name: presentName };
  }
  const transformRaw = raw['transform'] as Raw | undefined;
  const rule: CredentialRule = { name, from, key, kind, present };
  if (transformRaw) {
    rule.transform = { group: (transformRaw['group'] as number | undefined) ?? 1 };
    if (transformRaw['strip_prefix'] !== undefined)
      rule.transform.stripPrefix = transformRaw['strip_prefix'] as string;
    if (transformRaw['regex'] !== undefined) rule.transform.regex = transformRaw['regex'] as string;
    if (transformRaw['regex'] === undefined) rule.transform.group = 0;
  }
  return rule;
}

/** Checks the file cannot express but the runner needs: known placeholders, sane regexes, roles. */
function semanticErrors(doc: Raw, env: Readonly<Record<string, string | undefined>>): string[] {
  const errors: string[] = [];
  const creds = (doc['credentials'] as Raw[]).map((c) => c['name'] as string);
  const seen = new Set<string>();
  for (const [i, name] of creds.entries()) {
    if (seen.has(name))
      errors.push(
        `credentials[${i}].name: "${name}" is used twice; give each credential its own name.`,
      );
    seen.add(name);
  }
  const base = ['username', 'password', 'random'];
  const check = (where: string, value: unknown, allowed: string[]) => {
    for (const text of stringsOf(value)) {
      for (const name of placeholdersOf(text)) {
        if (name.startsWith('env.')) {
          if (env[name.slice(4)] === undefined)
            errors.push(
              `${where}: {{${name}}} needs environment variable ${name.slice(4)}; export it before running the audit.`,
            );
        } else if (!allowed.includes(name)) {
          errors.push(
            `${where}: unknown placeholder {{${name}}}; use one of ${allowed.map((a) => `{{${a}}}`).join(', ')} or {{env.NAME}}.`,
          );
        }
      }
    }
  };
  const requestKeys = ['path', 'headers', 'json', 'form', 'body'];
  const checkRequest = (where: string, raw: unknown, allowed: string[], extras: string[]) => {
    if (raw === undefined || raw === null || typeof raw !== 'object') return;
    for (const key of requestKeys) check(`${where}.${key}`, (raw as Raw)[key], allowed);
    for (const key of ['expect_status', 'authenticated', 'unauthenticated']) {
      if ((raw as Raw)[key] !== undefined && !extras.includes(key))
        errors.push(
          `${where}.${key}: not used here; \`${key}\` belongs to ${key === 'expect_status' ? 'login or refresh' : 'probe'}.`,
        );
    }
  };
  checkRequest('pre_login', doc['pre_login'], base, []);
  checkRequest('login', doc['login'], base, ['expect_status']);
  checkRequest('probe', doc['probe'], [...base, ...creds], ['authenticated', 'unauthenticated']);
  checkRequest('logout', doc['logout'], [...base, ...creds], []);
  checkRequest('refresh', doc['refresh'], [...base, ...creds], ['expect_status']);
  checkRequest('logout_all', doc['logout_all'], [...base, ...creds], []);
  const pw = doc['password_change'] as Raw | undefined;
  checkRequest('password_change.request', pw?.['request'], [...base, 'new_password', ...creds], []);
  checkRequest('password_change.revert', pw?.['revert'], [...base, 'new_password', ...creds], []);
  for (const [i, c] of (doc['credentials'] as Raw[]).entries()) {
    const present = c['present'] as Raw | string | undefined;
    if (present && typeof present === 'object' && typeof present['template'] === 'string')
      check(`credentials[${i}].present.template`, present['template'], ['value', ...base]);
    const t = c['transform'] as Raw | undefined;
    if (typeof t?.['regex'] === 'string') {
      try {
        new RegExp(t['regex']);
      } catch (e) {
        errors.push(
          `credentials[${i}].transform.regex: not a valid regular expression (${(e as Error).message}).`,
        );
      }
    }
    if (typeof c['json_path'] === 'string' && parseJsonPath(c['json_path']) === null)
      errors.push(
        `credentials[${i}].json_path: "${c['json_path']}" is not supported; use $.a.b, $.a[0] or $['a-b'].`,
      );
  }
  const probe = doc['probe'] as Raw;
  for (const key of ['authenticated', 'unauthenticated']) {
    const re = (probe[key] as Raw | undefined)?.['body_regex'];
    if (typeof re === 'string') {
      try {
        new RegExp(re);
      } catch (e) {
        errors.push(
          `probe.${key}.body_regex: not a valid regular expression (${(e as Error).message}).`,
        );
      }
    }
  }
  const presented = (doc['credentials'] as Raw[]).filter(
    (c) =>
      (c['present'] !== 'none' &&
        !['refresh', 'other'].includes(
          (c['kind'] as string | undefined) ??
            defaultKind(c['from'] as string, c['name'] as string),
        )) ||
      typeof c['present'] === 'object',
  );
  if (presented.length === 0)
    errors.push(
      'credentials: none of them is presented on requests; give the session or access credential a `present` rule (or leave `present` out to use the default).',
    );
  if (
    doc['refresh'] !== undefined &&
    !(doc['credentials'] as Raw[]).some(
      (c) => (c['kind'] ?? defaultKind(c['from'] as string, c['name'] as string)) === 'refresh',
    )
  )
    errors.push(
      'refresh: no credential has `kind: refresh`; declare the refresh token, e.g. `{ name: refresh_token, from: json, json_path: $.refresh_token, kind: refresh }`.',
    );
  const policy = doc['policy'];
  if (policy && typeof policy === 'object') {
    const p = policy as PolicyInput;
    const resolved = resolvePolicy(p);
    if (resolved.idleTimeoutSeconds >= resolved.absoluteTimeoutSeconds)
      errors.push(
        `policy: the idle timeout (${resolved.idleTimeoutSeconds} s) must be shorter than the absolute timeout (${resolved.absoluteTimeoutSeconds} s).`,
      );
  }
  return errors;
}

/**
 * Parses, interpolates and validates a target file (YAML or JSON). Every mistake is reported,
 * each as one message naming the field, what is wrong and how to fix it.
 *
 * @example
 * const result = parseTarget(readFileSync('target.yaml', 'utf8'));
 * if (!result.ok) console.error(result.errors.join('\n'));
 */
export function parseTarget(
  text: string,
  { env = process.env }: LoadTargetOptions = {},
): LoadTargetResult {
  const parsed = parseDocument(text, { prettyErrors: true });
  if (parsed.errors.length > 0) {
    return { ok: false, errors: parsed.errors.map((e) => `syntax: ${e.message.split('\n')[0]}`) };
  }
  const secrets: string[] = [];
  const envErrors: string[] = [];
  const document = interpolate(parsed.toJS(), '', env, envErrors, secrets);
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    return {
      ok: false,
      errors: [
        '(top level): the target file must be a YAML or JSON object with base_url, accounts, login, credentials, probe and logout.',
      ],
    };
  }
  const { valid, errors } = validate(document);
  if (!valid)
    return { ok: false, errors: [...envErrors, ...formatSchemaErrors(errors, allowedFields)] };
  const doc = document as Raw;
  const semantic = [...envErrors, ...semanticErrors(doc, env)];
  if (semantic.length > 0) return { ok: false, errors: semantic };

  const accounts = (doc['accounts'] as Raw[]).map((a) => ({
    username: a['username'] as string,
    password: (a['password'] as string | undefined) ?? '',
  }));
  for (const a of accounts) if (a.password.length > 0) secrets.push(a.password);
  const rawProbe = doc['probe'] as Raw;
  const authenticated = oracle(rawProbe['authenticated'] as Raw, [200]);
  const authIsRedirect = authenticated.statuses.some((s) => s >= 300 && s < 400);
  const rawUnauth = rawProbe['unauthenticated'] as Raw | undefined;
  const probe: ProbeTemplate = {
    ...request(rawProbe, true),
    authenticated,
    unauthenticated: {
      ...oracle(rawUnauth, [401, 403]),
      redirect: (rawUnauth?.['redirect'] as boolean | undefined) ?? !authIsRedirect,
    },
  };
  const limitsRaw = (doc['limits'] as Raw | undefined) ?? {};
  const jwtRaw = (doc['jwt'] as Raw | undefined) ?? {};
  const pw = doc['password_change'] as Raw | undefined;
  const baseUrl = new URL(doc['base_url'] as string);
  // Values a template reads from the environment are secrets too (a service key, a password).
  for (const text of stringsOf(doc)) {
    for (const name of placeholdersOf(text)) {
      const value = name.startsWith('env.') ? env[name.slice(4)] : undefined;
      if (value) secrets.push(value);
    }
  }
  const target: Target = {
    name: (doc['name'] as string | undefined) ?? baseUrl.host,
    baseUrl,
    https: baseUrl.protocol === 'https:' || doc['assume_https'] === true,
    accounts,
    login: {
      ...request(doc['login'] as Raw, false),
      ...(statuses((doc['login'] as Raw)['expect_status'])
        ? { expectStatuses: statuses((doc['login'] as Raw)['expect_status']) }
        : {}),
    },
    credentials: (doc['credentials'] as Raw[]).map(credential),
    probe,
    logout: request(doc['logout'] as Raw, true),
    policy: resolvePolicy(doc['policy'] as PolicyInput | undefined),
    jwt: {
      ...(jwtRaw['public_key_pem'] ? { publicKeyPem: jwtRaw['public_key_pem'] as string } : {}),
      ...(jwtRaw['jwks_path'] ? { jwksPath: jwtRaw['jwks_path'] as string } : {}),
    },
    limits: {
      maxWaitSeconds: (limitsRaw['max_wait_seconds'] as number | undefined) ?? 3900,
      sampleSize: (limitsRaw['sample_size'] as number | undefined) ?? 200,
      requestsPerSecond: (limitsRaw['requests_per_second'] as number | undefined) ?? 20,
      timeBudgetSeconds: (limitsRaw['time_budget_seconds'] as number | undefined) ?? 7200,
      maxRequests: (limitsRaw['max_requests'] as number | undefined) ?? 50000,
      requestTimeoutSeconds: (limitsRaw['request_timeout_seconds'] as number | undefined) ?? 15,
    },
    secrets,
  };
  if (doc['pre_login']) target.preLogin = request(doc['pre_login'] as Raw, false);
  if (doc['refresh']) {
    const raw = doc['refresh'] as Raw;
    const expect = statuses(raw['expect_status']);
    target.refresh = { ...request(raw, false), ...(expect ? { expectStatuses: expect } : {}) };
  }
  if (doc['logout_all']) target.logoutAll = request(doc['logout_all'] as Raw, true);
  if (pw) {
    target.passwordChange = { request: request(pw['request'] as Raw, true) };
    if (pw['revert']) target.passwordChange.revert = request(pw['revert'] as Raw, true);
    if (pw['new_password']) {
      target.passwordChange.newPassword = pw['new_password'] as string;
      secrets.push(pw['new_password'] as string);
    }
  }
  return { ok: true, target };
}

/** Reads and parses a target file from disk; a read failure is reported like any other mistake. */
export function loadTargetFile(path: string, options: LoadTargetOptions = {}): LoadTargetResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return {
      ok: false,
      errors: [
        `${path}: cannot read the target file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
      ],
    };
  }
  return parseTarget(text, options);
}
