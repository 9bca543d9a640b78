import { randomBytes } from 'node:crypto';
import type { HttpAnswer, HttpClient } from './http-client.js';
import { readJsonPath } from './json-path.js';
import type { Redactor } from './redactor.js';
import { isExpiringCookie, parseSetCookie } from './set-cookie.js';
import type { CredentialRule, Oracle, RequestTemplate, Target } from './target.js';
import { renderJson, renderTemplate } from './template.js';

/** The user a session belongs to. `{{random}}` in a user name is rendered once per identity. */
export interface Identity {
  username: string;
  password: string;
}

/** A session the auditor created. Values are raw secrets: never print them, fingerprint them. */
export interface Session {
  /** Local number, for evidence ("session #3"). */
  number: number;
  identity: Identity;
  /** Credential name → current value. */
  values: Map<string, string>;
  /** Every cookie received (name → value), as a browser would keep them. */
  jar: Map<string, string>;
  /** Credential names whose value was not issued by the login answer but taken from the jar. */
  carriedOver: Set<string>;
  loginAnswer: HttpAnswer;
  preLoginAnswer?: HttpAnswer;
  /** Cookies the pre-login request set, before login. */
  preLoginJar: Map<string, string>;
  createdAtMs: number;
  /** Last time the auditor used the session (login, probe, refresh). */
  lastTouchMs: number;
  ended: boolean;
}

export type ProbeVerdict = 'AUTH' | 'UNAUTH' | 'INCONCLUSIVE';

export interface ProbeOutcome {
  verdict: ProbeVerdict;
  status: number;
  /** Why the oracle decided so, in words. */
  reason: string;
  answer: HttpAnswer;
}

export type LoginOutcome =
  | { ok: true; session: Session }
  | { ok: false; reason: string; answer?: HttpAnswer };

export interface RefreshOutcome {
  outcome: 'ok' | 'refused' | 'inconclusive';
  status: number;
  answer: HttpAnswer;
  /** Values found in the answer (only when `ok`). */
  values: Map<string, string>;
}

/** What to present on one request, relative to a session. */
export interface PresentOptions {
  /** Present only these credentials (others omitted). */
  only?: string[];
  /** Do not present these credentials. */
  omit?: string[];
  /** Present these values instead of the session's. */
  override?: Record<string, string>;
  /** Present credentials in the query string instead of their declared place. */
  queryInstead?: Record<string, string>;
  /** Present nothing at all (anonymous request). */
  anonymous?: boolean;
  priority?: boolean;
}

export interface SessionAgent {
  readonly target: Target;
  readonly http: HttpClient;
  readonly redactor: Redactor;
  identity(accountIndex?: number): Identity;
  freshIdentity(accountIndex?: number): Identity;
  login(options?: {
    identity?: Identity;
    jar?: Map<string, string>;
    preLogin?: boolean;
    extraCookies?: Record<string, string>;
    credentialsToPresent?: Map<string, string>;
  }): Promise<LoginOutcome>;
  probe(session: Session | null, options?: PresentOptions): Promise<ProbeOutcome>;
  classify(answer: HttpAnswer, identity?: Identity): Omit<ProbeOutcome, 'answer'>;
  logout(session: Session): Promise<HttpAnswer>;
  refresh(
    session: Session,
    options?: { refreshValues?: Record<string, string>; apply?: boolean; priority?: boolean },
  ): Promise<RefreshOutcome>;
  send(
    template: RequestTemplate,
    session: Session | null,
    extraVars?: Record<string, string>,
    present?: PresentOptions,
  ): Promise<HttpAnswer>;
  extract(answer: HttpAnswer): Map<string, string>;
  /** Presented credentials (session/access kinds with a presentation). */
  readonly presented: CredentialRule[];
  readonly refreshRules: CredentialRule[];
  /** Every session created and not yet ended. */
  readonly open: Session[];
  /** Logs out every session still open; errors are swallowed (cleanup must not fail the run). */
  cleanup(): Promise<number>;
}

function applyTransform(rule: CredentialRule, value: string): string | undefined {
  let v = value;
  const t = rule.transform;
  if (!t) return v;
  if (t.stripPrefix && v.startsWith(t.stripPrefix)) v = v.slice(t.stripPrefix.length);
  if (t.regex) {
    const m = new RegExp(t.regex).exec(v);
    if (!m) return undefined;
    v = m[t.group] ?? m[0];
  }
  return v;
}

function cookiesOf(answer: HttpAnswer): Map<string, { value: string; expiring: boolean }> {
  const out = new Map<string, { value: string; expiring: boolean }>();
  for (const hop of answer.chain) {
    for (const header of hop.setCookies) {
      const c = parseSetCookie(header);
      out.set(c.name, { value: c.value, expiring: isExpiringCookie(c) });
    }
  }
  return out;
}

/**
 * A browser keeps the cookies an answer sets: a session cookie that the server renews on an
 * ordinary request (rotation behind the cookie, a rolling session) is what the next request
 * carries. Only renewals are taken, and only from a probe made with the session's own
 * credentials: an expiring (clearing) cookie is left to the checks that look for it, and an
 * answer to a tampered or partial presentation never changes the session.
 */
function keepRenewedCookies(
  session: Session,
  answer: HttpAnswer,
  rules: readonly CredentialRule[],
): void {
  for (const [name, c] of cookiesOf(answer)) {
    if (c.expiring) continue;
    session.jar.set(name, c.value);
    for (const rule of rules) {
      if (rule.from === 'cookie' && rule.key === name) session.values.set(rule.name, c.value);
    }
  }
}

function bodyMatches(
  oracle: Oracle,
  answer: HttpAnswer,
  vars: Record<string, string>,
): { ok: boolean; checked: boolean } {
  let checked = false;
  if (oracle.bodyContains !== undefined) {
    checked = true;
    if (!answer.body.includes(renderTemplate(oracle.bodyContains, vars, {})))
      return { ok: false, checked };
  }
  if (oracle.bodyRegex !== undefined) {
    checked = true;
    if (!new RegExp(oracle.bodyRegex).test(answer.body)) return { ok: false, checked };
  }
  if (oracle.jsonPath !== undefined) {
    checked = true;
    let doc: unknown;
    try {
      doc = JSON.parse(answer.body);
    } catch {
      return { ok: false, checked };
    }
    const found = readJsonPath(doc, oracle.jsonPath);
    if (oracle.equals !== undefined) {
      const expected =
        typeof oracle.equals === 'string' ? renderTemplate(oracle.equals, vars, {}) : oracle.equals;
      if (found !== expected && String(found) !== String(expected)) return { ok: false, checked };
    } else if (found === undefined || found === null) return { ok: false, checked };
  }
  return { ok: true, checked };
}

/**
 * Plays the app: logs in, presents credentials the declared way, probes, refreshes and logs out.
 * Every credential it sees is registered with the redactor before anything else happens to it.
 *
 * @example
 * const agent = createSessionAgent({ target, http, redactor, env: process.env });
 * const login = await agent.login();
 * if (login.ok) console.log((await agent.probe(login.session)).verdict);
 */
export function createSessionAgent({
  target,
  http,
  redactor,
  env,
}: {
  target: Target;
  http: HttpClient;
  redactor: Redactor;
  env: Readonly<Record<string, string | undefined>>;
}): SessionAgent {
  let counter = 0;
  const identities = new Map<number, Identity>();
  const sessions: Session[] = [];
  const presented = target.credentials.filter(
    (c) => c.present.as !== 'none' && c.kind !== 'refresh',
  );
  const refreshRules = target.credentials.filter((c) => c.kind === 'refresh');

  const render = (account: number): Identity => {
    const a = target.accounts[account] ?? target.accounts[0]!;
    return {
      username: renderTemplate(a.username, { random: randomBytes(6).toString('hex') }, env),
      password: a.password,
    };
  };

  function vars(
    session: Session | null,
    identity: Identity | undefined,
    extra: Record<string, string> = {},
  ) {
    const v: Record<string, string> = { random: randomBytes(6).toString('hex') };
    if (identity) {
      v['username'] = identity.username;
      v['password'] = identity.password;
    }
    if (session) for (const [k, val] of session.values) v[k] = val;
    return { ...v, ...extra };
  }

  function build(
    template: RequestTemplate,
    session: Session | null,
    extraVars: Record<string, string> = {},
    present: PresentOptions = {},
    jarOverride?: Map<string, string>,
  ) {
    const identity = session?.identity;
    const v = vars(session, identity, extraVars);
    const url = new URL(renderTemplate(template.path, v, env), target.baseUrl);
    const headers: Record<string, string> = {};
    for (const [k, val] of Object.entries(template.headers))
      headers[k.toLowerCase()] = renderTemplate(val, v, env);
    let body: string | undefined;
    if (template.json !== undefined) {
      body = JSON.stringify(renderJson(template.json, v, env));
      headers['content-type'] ??= 'application/json';
    } else if (template.form !== undefined) {
      body = new URLSearchParams(
        Object.entries(template.form).map(([k, val]): [string, string] => [
          k,
          renderTemplate(val, v, env),
        ]),
      ).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (template.body !== undefined) {
      body = renderTemplate(template.body, v, env);
    }
    const cookies = new Map<string, string>(jarOverride ?? session?.jar ?? []);
    const sendCreds = template.sendCredentials && !present.anonymous && session !== null;
    // When the credentials are presented, the jar's copies are replaced by what the options
    // select; otherwise (login, a refresh without credentials) the jar goes as a browser sends it.
    if (sendCreds) {
      for (const rule of presented) {
        if (rule.present.as === 'cookie') cookies.delete(rule.present.name);
        if (rule.from === 'cookie') cookies.delete(rule.key);
      }
    }
    if (present.anonymous) cookies.clear();
    if (sendCreds && session) {
      for (const rule of presented) {
        if (present.only && !present.only.includes(rule.name)) continue;
        if (present.omit?.includes(rule.name)) continue;
        const value = present.override?.[rule.name] ?? session.values.get(rule.name);
        if (value === undefined) continue;
        const p = rule.present;
        if (present.queryInstead) continue;
        if (p.as === 'cookie') cookies.set(p.name, value);
        else if (p.as === 'header')
          headers[p.name.toLowerCase()] = renderTemplate(p.template, { ...v, value }, env);
        else if (p.as === 'query') url.searchParams.set(p.name, value);
      }
    }
    for (const [k, val] of Object.entries(present.queryInstead ?? {}))
      url.searchParams.append(k, val);
    if (cookies.size > 0) {
      const existing = headers['cookie'];
      const jarText = [...cookies].map(([k, val]) => `${k}=${val}`).join('; ');
      headers['cookie'] = existing ? `${existing}; ${jarText}` : jarText;
    }
    return {
      method: template.method,
      url: url.pathname + url.search,
      headers,
      ...(body !== undefined ? { body } : {}),
    };
  }

  /** Sends a request, following same-origin redirects itself so cookies travel between hops. */
  async function dispatch(
    req: ReturnType<typeof build>,
    follow: boolean,
    jar: Map<string, string> | null,
    priority = false,
  ): Promise<HttpAnswer> {
    let answer = await http.send({ ...req, priority });
    if (!follow) return answer;
    const chain = [...answer.chain];
    for (let hop = 0; hop < 5; hop++) {
      const location = answer.headers['location'];
      if (!(answer.status >= 300 && answer.status < 400 && location)) break;
      for (const [name, c] of cookiesOf(answer)) {
        if (c.expiring) jar?.delete(name);
        else jar?.set(name, c.value);
      }
      const next = new URL(location, answer.url);
      const headers = { ...req.headers };
      delete headers['content-type'];
      if (jar && jar.size > 0) headers['cookie'] = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      answer = await http.send({ method: 'GET', url: next.href, headers, priority });
      chain.push(...answer.chain);
    }
    return { ...answer, chain };
  }

  function extract(answer: HttpAnswer): Map<string, string> {
    const found = new Map<string, string>();
    const cookies = cookiesOf(answer);
    let json: unknown;
    let parsed = false;
    for (const rule of target.credentials) {
      let raw: string | undefined;
      if (rule.from === 'cookie') {
        const c = cookies.get(rule.key);
        if (c && !c.expiring && c.value !== '') raw = c.value;
      } else if (rule.from === 'header') {
        raw = answer.headers[rule.key.toLowerCase()];
      } else {
        if (!parsed) {
          parsed = true;
          try {
            json = JSON.parse(answer.body);
          } catch {
            json = undefined;
          }
        }
        const v = readJsonPath(json, rule.key);
        if (typeof v === 'string' || typeof v === 'number') raw = String(v);
      }
      if (raw === undefined || raw === '') continue;
      const value = applyTransform(rule, raw);
      if (value === undefined || value === '') continue;
      redactor.register(raw);
      redactor.register(value);
      found.set(rule.name, value);
    }
    return found;
  }

  function classify(answer: HttpAnswer, identity?: Identity): Omit<ProbeOutcome, 'answer'> {
    const { authenticated, unauthenticated } = target.probe;
    const v: Record<string, string> = identity ? { username: identity.username } : {};
    const status = answer.status;
    if (authenticated.statuses.includes(status)) {
      const body = bodyMatches(authenticated, answer, v);
      if (body.ok)
        return {
          verdict: 'AUTH',
          status,
          reason: `status ${status}${body.checked ? ' and the authenticated marker' : ''}`,
        };
      const unauthBody = bodyMatches(unauthenticated, answer, v);
      if (unauthenticated.statuses.includes(status) && unauthBody.checked && unauthBody.ok)
        return { verdict: 'UNAUTH', status, reason: `status ${status} with the anonymous marker` };
      return {
        verdict: 'INCONCLUSIVE',
        status,
        reason: `status ${status} without the authenticated marker (a login page?)`,
      };
    }
    if (unauthenticated.statuses.includes(status)) {
      const body = bodyMatches(unauthenticated, answer, v);
      if (body.ok) return { verdict: 'UNAUTH', status, reason: `status ${status}` };
      return {
        verdict: 'INCONCLUSIVE',
        status,
        reason: `status ${status} without the anonymous marker`,
      };
    }
    if (unauthenticated.redirect && status >= 300 && status < 400)
      return { verdict: 'UNAUTH', status, reason: `redirect ${status} (to a login page)` };
    return { verdict: 'INCONCLUSIVE', status, reason: `status ${status} matches neither oracle` };
  }

  const agent: SessionAgent = {
    target,
    http,
    redactor,
    presented,
    refreshRules,
    get open() {
      return sessions.filter((s) => !s.ended);
    },
    identity(accountIndex = 0) {
      let id = identities.get(accountIndex);
      if (!id) {
        id = render(accountIndex);
        identities.set(accountIndex, id);
      }
      return id;
    },
    freshIdentity(accountIndex = 0) {
      return render(accountIndex);
    },
    extract,
    classify,
    async login({
      identity = agent.identity(),
      jar,
      preLogin = true,
      extraCookies,
      credentialsToPresent,
    } = {}) {
      const cookieJar = new Map<string, string>(jar ?? []);
      let preLoginAnswer: HttpAnswer | undefined;
      if (target.preLogin && preLogin) {
        const req = build(
          target.preLogin,
          null,
          { username: identity.username, password: identity.password },
          {},
          cookieJar,
        );
        preLoginAnswer = await dispatch(req, target.preLogin.followRedirects, cookieJar);
        for (const [name, c] of cookiesOf(preLoginAnswer)) {
          redactor.register(c.value);
          if (c.expiring) cookieJar.delete(name);
          else cookieJar.set(name, c.value);
        }
      }
      const preLoginJar = new Map(cookieJar);
      for (const [k, v] of Object.entries(extraCookies ?? {})) cookieJar.set(k, v);
      const pseudo: Session | null = credentialsToPresent
        ? {
            number: 0,
            identity,
            values: credentialsToPresent,
            jar: cookieJar,
            carriedOver: new Set(),
            loginAnswer: undefined as unknown as HttpAnswer,
            preLoginJar,
            createdAtMs: 0,
            lastTouchMs: 0,
            ended: false,
          }
        : null;
      const req = build(
        { ...target.login, sendCredentials: pseudo !== null },
        pseudo,
        { username: identity.username, password: identity.password },
        {},
        cookieJar,
      );
      const answer = await dispatch(req, target.login.followRedirects, cookieJar);
      const okStatus = target.login.expectStatuses
        ? target.login.expectStatuses.includes(answer.status)
        : answer.status >= 200 && answer.status < 400;
      if (!okStatus) return { ok: false, reason: `login answered ${answer.status}`, answer };
      for (const [name, c] of cookiesOf(answer)) {
        redactor.register(c.value);
        if (c.expiring) cookieJar.delete(name);
        else cookieJar.set(name, c.value);
      }
      const values = extract(answer);
      const carriedOver = new Set<string>();
      // A cookie credential the login answer did not set is the one the client already held: the
      // server kept (adopted) it. Keep it as the session's value and remember that it was carried.
      for (const rule of target.credentials) {
        if (values.has(rule.name) || rule.from !== 'cookie') continue;
        const held = cookieJar.get(rule.key);
        if (held === undefined) continue;
        const value = applyTransform(rule, held);
        if (value === undefined) continue;
        values.set(rule.name, value);
        carriedOver.add(rule.name);
      }
      const missing = presented.filter((r) => !values.has(r.name)).map((r) => r.name);
      if (missing.length > 0)
        return {
          ok: false,
          reason: `login answered ${answer.status} but did not yield ${missing.join(', ')}`,
          answer,
        };
      const now = Date.now();
      const session: Session = {
        number: ++counter,
        identity,
        values,
        jar: cookieJar,
        carriedOver,
        loginAnswer: answer,
        ...(preLoginAnswer ? { preLoginAnswer } : {}),
        preLoginJar,
        createdAtMs: now,
        lastTouchMs: now,
        ended: false,
      };
      sessions.push(session);
      return { ok: true, session };
    },
    async probe(session, options = {}) {
      const req = build(
        target.probe,
        session,
        {},
        session ? options : { ...options, anonymous: true },
      );
      const answer = await dispatch(
        req,
        target.probe.followRedirects,
        null,
        options.priority ?? false,
      );
      if (session) session.lastTouchMs = answer.receivedAtMs;
      const plain = !options.only && !options.omit && !options.override && !options.queryInstead;
      if (session && plain) keepRenewedCookies(session, answer, target.credentials);
      return { ...classify(answer, session?.identity), answer };
    },
    async send(template, session, extraVars = {}, present = {}) {
      const req = build(template, session, extraVars, present);
      const answer = await dispatch(req, template.followRedirects, session?.jar ?? null);
      if (session) session.lastTouchMs = answer.receivedAtMs;
      return answer;
    },
    async logout(session) {
      const answer = await agent.send(target.logout, session);
      // The session counts as ended for cleanup whatever the answer: logging out twice only adds
      // noise, and a failed logout is what the logout checks are there to catch.
      session.ended = true;
      extract(answer);
      return answer;
    },
    async refresh(session, { refreshValues, apply = true, priority = false } = {}) {
      if (!target.refresh) throw new Error('refresh is not configured');
      const extra: Record<string, string> = { ...(refreshValues ?? {}) };
      const req = build(target.refresh, session, extra, {});
      const answer = await dispatch(req, target.refresh.followRedirects, session.jar, priority);
      session.lastTouchMs = answer.receivedAtMs;
      const expect = target.refresh.expectStatuses;
      const values = extract(answer);
      const ok = expect
        ? expect.includes(answer.status)
        : answer.status >= 200 && answer.status < 300;
      if (ok && values.size > 0) {
        if (apply) for (const [k, v] of values) session.values.set(k, v);
        return { outcome: 'ok', status: answer.status, answer, values };
      }
      if ([400, 401, 403].includes(answer.status))
        return { outcome: 'refused', status: answer.status, answer, values: new Map() };
      if (answer.status >= 300 && answer.status < 400)
        return { outcome: 'refused', status: answer.status, answer, values: new Map() };
      return { outcome: 'inconclusive', status: answer.status, answer, values: new Map() };
    },
    async cleanup() {
      let n = 0;
      for (const s of sessions) {
        if (s.ended) continue;
        try {
          await agent.logout(s);
          n++;
        } catch {
          s.ended = true;
        }
      }
      return n;
    },
  };
  return agent;
}
