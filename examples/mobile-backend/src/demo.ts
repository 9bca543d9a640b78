import { type Stack, startStack } from './stack.js';

/** One line of the transcript: what was done, what came back, whether it is what must happen. */
export interface TranscriptLine {
  step: string;
  outcome: string;
  ok: boolean;
}

export interface DemoOptions {
  /** Where each line goes as it is made. @default console.log */
  print?: (line: TranscriptLine) => void;
}

type Json = Record<string, unknown>;

/**
 * The backend side of the example, played over HTTP as a phone and a browser would: sign-in
 * (and its uniform failure), the API, an access token expiring and refreshed, step-up for an
 * e-mail change, a password change ending the other sessions, logout, every old token refused,
 * and cookie mode with CSRF. Answers the transcript; every line says whether it matched.
 */
export async function runBackendDemo(options: DemoOptions = {}): Promise<TranscriptLine[]> {
  const print =
    options.print ?? ((l) => console.log(`${l.ok ? '✔' : '✘'} ${l.step}\n    ${l.outcome}`));
  const stack = await startStack({ emailChangeMaxAuthAgeSeconds: 2 });
  const lines: TranscriptLine[] = [];
  const expect = (step: string, outcome: string, ok: boolean) => {
    const line = { step, outcome, ok };
    lines.push(line);
    print(line);
  };
  try {
    await play(stack, expect);
  } finally {
    await stack.close();
  }
  return lines;
}

async function call(
  stack: Stack,
  method: string,
  path: string,
  init: { token?: string; json?: Json; form?: Json; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.json) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form as Record<string, string>).toString();
  }
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    json: (text ? JSON.parse(text) : {}) as Json,
    headers: response.headers,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function play(stack: Stack, expect: (step: string, outcome: string, ok: boolean) => void) {
  const email = 'ada@example.com';
  const password = 'correct horse battery staple';

  const wrong = await call(stack, 'POST', '/sign-in', { json: { email, password: 'nope' } });
  const unknown = await call(stack, 'POST', '/sign-in', {
    json: { email: 'who@example.com', password: 'nope' },
  });
  expect(
    'sign-in with a wrong password, then with an unknown e-mail',
    `${wrong.status} ${wrong.json.error} / ${unknown.status} ${unknown.json.error} (one answer for both)`,
    wrong.status === 401 && JSON.stringify(wrong.json) === JSON.stringify(unknown.json),
  );

  const phone = await call(stack, 'POST', '/sign-in', {
    json: { email, password, device: { id: 'phone-1', name: "Ada's phone", platform: 'ios' } },
  });
  const tablet = await call(stack, 'POST', '/sign-in', {
    json: {
      email,
      password,
      device: { id: 'tablet-1', name: "Ada's tablet", platform: 'android' },
    },
  });
  expect(
    'sign-in on the phone and on the tablet (POST /v1/sessions behind the scenes)',
    `${phone.status}, ${tablet.status}: two sessions, access tokens for ${phone.json.expires_in} s`,
    phone.status === 200 && tablet.status === 200 && phone.json.session !== undefined,
  );
  let access = phone.json.access_token as string;
  let refresh = phone.json.refresh_token as string;
  const oldTokens = [access, refresh];

  const profile = await call(stack, 'GET', '/api/profile', { token: access });
  expect(
    'GET /api/profile with the access token',
    `${profile.status} ${JSON.stringify(profile.json.email)}`,
    profile.status === 200,
  );

  await sleep(3200);
  const expired = await call(stack, 'GET', '/api/profile', { token: access });
  expect(
    'the same request after the access token expired (3 s)',
    `${expired.status} ${expired.json.error}`,
    expired.status === 401,
  );
  const refreshed = await call(stack, 'POST', '/v1/token', {
    form: { grant_type: 'refresh_token', refresh_token: refresh },
  });
  expect(
    'refresh at POST /v1/token',
    `${refreshed.status}: a new pair (the refresh token rotated)`,
    refreshed.status === 200 && refreshed.json.refresh_token !== refresh,
  );
  access = refreshed.json.access_token as string;
  refresh = refreshed.json.refresh_token as string;
  oldTokens.push(access, refresh);

  const stale = await call(stack, 'POST', '/api/email', {
    token: access,
    json: { email: 'ada@lovelace.example' },
  });
  expect(
    'change the e-mail: the sign-in is more than 2 s old',
    `${stale.status} ${stale.json.error}; WWW-Authenticate: ${stale.headers.get('www-authenticate')}`,
    stale.status === 401 && stale.json.error === 'insufficient_user_authentication',
  );
  const stepped = await call(stack, 'POST', '/api/step-up', { token: access, json: { password } });
  expect(
    'step up with the password again',
    `${stepped.status}: a new pair, the old one retired`,
    stepped.status === 200,
  );
  const beforeStepUp = access;
  access = stepped.json.access_token as string;
  refresh = stepped.json.refresh_token as string;
  oldTokens.push(access, refresh);
  const changed = await call(stack, 'POST', '/api/email', {
    token: access,
    json: { email: 'ada@lovelace.example' },
  });
  expect(
    'change the e-mail again, right after the step-up',
    `${changed.status} ${JSON.stringify(changed.json.email)}`,
    changed.status === 200,
  );
  const retired = await call(stack, 'GET', '/api/profile', { token: beforeStepUp });
  expect('the access token from before the step-up', `${retired.status}`, retired.status === 401);

  const newPassword = 'a much longer passphrase 42';
  const pw = await call(stack, 'POST', '/api/password', {
    token: access,
    json: { current_password: password, new_password: newPassword },
  });
  expect(
    'change the password on the phone',
    `${pw.status}: ${pw.json.ended} other session(s) ended`,
    pw.status === 200 && pw.json.ended === 1,
  );
  const tabletNow = await call(stack, 'GET', '/api/profile', {
    token: tablet.json.access_token as string,
  });
  const tabletRefresh = await call(stack, 'POST', '/v1/token', {
    form: { grant_type: 'refresh_token', refresh_token: tablet.json.refresh_token as string },
  });
  expect(
    "the tablet's tokens after the password change",
    `API ${tabletNow.status}; refresh ${tabletRefresh.status} ${tabletRefresh.json.error} (tessera_reason ${tabletRefresh.json.tessera_reason})`,
    tabletNow.status === 401 &&
      tabletRefresh.status === 400 &&
      tabletRefresh.json.tessera_reason === 'password_changed',
  );
  const phoneNow = await call(stack, 'GET', '/api/profile', { token: access });
  expect(
    'the phone, which changed the password, is still signed in',
    `${phoneNow.status}`,
    phoneNow.status === 200,
  );

  const out = await call(stack, 'POST', '/v1/revoke', { form: { token: refresh } });
  expect('log out (POST /v1/revoke)', `${out.status}`, out.status === 200);
  const refusals: number[] = [];
  for (const token of oldTokens) {
    const answer = token.startsWith('tsa_')
      ? await call(stack, 'GET', '/api/profile', { token })
      : await call(stack, 'POST', '/v1/token', {
          form: { grant_type: 'refresh_token', refresh_token: token },
        });
    refusals.push(answer.status);
  }
  expect(
    `every token the phone ever held (${oldTokens.length})`,
    `answers ${refusals.join(', ')}`,
    refusals.every((s) => s === 401 || s === 400),
  );

  // A web front end: cookie mode.
  const web = await fetch(`${stack.url}/web/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ada@lovelace.example', password: newPassword }),
  });
  const setCookies = web.headers.getSetCookie();
  const cookie = setCookies.map((c) => c.split(';')[0]).join('; ');
  const csrf = ((await web.json()) as Json).csrf_token as string;
  expect(
    'browser sign-in (cookie mode)',
    `${web.status}; ${setCookies.map((c) => c.split(';').slice(0, 1).join('').split('=')[0] + (c.includes('HttpOnly') ? ' (HttpOnly)' : '')).join(', ')}`,
    web.status === 200 &&
      setCookies.some(
        (c) => c.startsWith('__Host-tessera=') && c.includes('HttpOnly') && c.includes('Secure'),
      ),
  );
  const forged = await call(stack, 'POST', '/web/notes', {
    headers: { cookie },
    json: { text: 'hi' },
  });
  const crossSite = await call(stack, 'POST', '/web/notes', {
    headers: { cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' },
    json: { text: 'hi' },
  });
  const note = await call(stack, 'POST', '/web/notes', {
    headers: { cookie, 'x-csrf-token': csrf },
    json: { text: 'hi' },
  });
  expect(
    'POST /web/notes without the CSRF token, cross-site with it, then same-origin with it',
    `${forged.status} ${forged.json.error}, ${crossSite.status}, ${note.status}`,
    forged.status === 403 && crossSite.status === 403 && note.status === 201,
  );
  const signOut = await call(stack, 'POST', '/web/sign-out', {
    headers: { cookie, 'x-csrf-token': csrf },
  });
  const after = await call(stack, 'GET', '/web/me', { headers: { cookie } });
  expect(
    'browser sign-out, then the old cookies',
    `${signOut.status}, then ${after.status}`,
    signOut.status === 200 && after.status === 401,
  );
}
