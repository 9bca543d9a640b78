import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  createDpopProof,
  createMemoryStorage,
  createTesseraClient,
  type DpopKeyHandle,
  memoryDpopKeyStore,
  type TokenAnswer,
  webCryptoDpopKey,
} from '@tessera/client';
import type { TranscriptLine } from './demo.js';
import { fileDpopKey } from './file-dpop-key.js';
import { DEMO_TIER, DEMO_USER, type Stack, startStack } from './stack.js';
import { tokenRecorder } from './token-recorder.js';

/**
 * The phone's tier: access tokens of 20 s. Long enough that a phone process restarted after a
 * kill finds the replayed access token still alive (a grace replay answers the pair minted at
 * the rotation, with what is left of its life), short enough to show refreshes.
 */
const PHONE_TIER = { ...DEMO_TIER, accessTokenTtlSeconds: 20 };

/**
 * The service's clock. "The phone sleeps" moves it forward past the access token's life, in an
 * instant: the phone's monotonic clock does not move (as iOS's `mach_absolute_time`, which does
 * not count sleep), so the SDK still believes its token good and the service says it expired.
 */
function movableClock() {
  let skewMs = 0;
  return {
    now: () => Date.now() + skewMs,
    forward(ms: number) {
      skewMs += ms;
    },
  };
}

export interface PhoneDemoOptions {
  /** Where each line goes as it is made. @default console.log */
  print?: (line: TranscriptLine) => void;
}

/** What the transcript measured, for the test to check beyond the ✔ of each line. */
export interface PhoneFacts {
  /** `POST /v1/token` requests the gateway forwarded for the 20 concurrent requests. */
  refreshesForConcurrentRequests: number;
  concurrentStatuses: number[];
  /** Whether the phone's session is bound to its DPoP key (`cnf.jkt` at the service). */
  dpopBound: boolean;
  /** The killed phone: rotated at the service, answer never received, then recovered. */
  killedDuringRefresh: boolean;
  recoveredWithSameSession: boolean;
  /** `session.refresh_reuse` events recorded (a recovery must never look like a theft). */
  reuseEvents: number;
  /** `/v1/revoke` requests that reached the service while the phone was offline, then after. */
  revokesWhileOffline: number;
  revokesAfterOnline: number;
  /** The server session of the phone that logged out offline: live while offline, then ended. */
  liveWhileOffline: boolean;
  endedAfterOnline: boolean;
  /** Every old token, by kind, with the answer it got. */
  oldTokens: { kind: 'access' | 'refresh'; status: number; error: string | null }[];
}

type Json = Record<string, unknown>;

/**
 * The phone side of the example, with `@tessera/client` against the running example through the
 * gateway, over real sockets: sign-in (the session bound to the phone's DPoP key), the API, 20
 * concurrent requests across an access-token expiry with one refresh, a phone process killed
 * while its refresh is in flight and a new one that recovers, logout offline then online, and
 * every old token refused. Every line says whether it matched.
 */
export async function runPhoneDemo(
  options: PhoneDemoOptions = {},
): Promise<{ lines: TranscriptLine[]; facts: PhoneFacts }> {
  const print =
    options.print ?? ((l) => console.log(`${l.ok ? '✔' : '✘'} ${l.step}\n    ${l.outcome}`));
  const serviceClock = movableClock();
  const stack = await startStack({ tier: PHONE_TIER, clock: serviceClock });
  const lines: TranscriptLine[] = [];
  const expect = (step: string, outcome: string, ok: boolean) => {
    const line = { step, outcome, ok };
    lines.push(line);
    print(line);
  };
  try {
    const facts = await play(stack, serviceClock, expect);
    return { lines, facts };
  } finally {
    await stack.close();
  }
}

/** Waits for `promise`, failing after `ms` rather than hanging the transcript. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The phone process of src/phone-process.ts, run as source (tsx) or built (dist). */
function spawnPhone(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  next: () => Promise<Json>;
} {
  const source = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(
    new URL(source ? './phone-process.ts' : './phone-process.js', import.meta.url),
  );
  const child = spawn(
    process.execPath,
    [...(source ? ['--conditions=source', '--import', 'tsx'] : []), script, ...args],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const reader: Interface = createInterface({ input: child.stdout });
  const iterator = reader[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await within(iterator.next(), 20_000, 'the phone process');
    if (done) throw new Error(`the phone process ended without answering: ${stderr.trim()}`);
    return JSON.parse(value as string) as Json;
  };
  return { child, next };
}

async function play(
  stack: Stack,
  serviceClock: { forward(ms: number): void },
  expect: (step: string, outcome: string, ok: boolean) => void,
): Promise<PhoneFacts> {
  const { gateway, service } = stack;
  const url = stack.url;
  const tokenRequests = () => gateway.count('POST /v1/token');
  const revokeRequests = () => gateway.count('POST /v1/revoke');
  const introspect = async (token: string) => {
    const response = await fetch(`${service.url}/v1/introspect`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${service.serviceKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }),
    });
    return (await response.json()) as Json;
  };

  // ---- phone A: in this process, WebCrypto non-extractable P-256 key --------------------------
  const keyA = await webCryptoDpopKey(memoryDpopKeyStore());
  const recorderA = tokenRecorder();
  const phoneA = createTesseraClient({
    baseUrl: url,
    storage: createMemoryStorage(),
    fetch: recorderA.fetch,
    dpop: keyA,
    // Tokens live 20 s here; refresh in their last second (30 s ahead by default).
    refreshMarginSeconds: 1,
    revokeRetrySeconds: 60,
  });
  const signOuts: string[] = [];
  phoneA.onSignOut((reason) => signOuts.push(reason));

  const signIn = await fetch(`${url}/sign-in`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      dpop: await phoneA.dpopProof('POST', `${url}/sign-in`),
    },
    body: JSON.stringify({
      ...DEMO_USER,
      device: { id: 'phone-a', name: "Ada's phone", platform: 'ios' },
    }),
  });
  const answer = (await signIn.json()) as TokenAnswer & { session: { id: string } };
  recorderA.noteAnswer(answer);
  await phoneA.setSession(answer);
  const sessionA = answer.session.id;
  const jktA = await phoneA.jkt();
  const bound = await introspect(answer.access_token);
  const dpopBound = answer.token_type === 'DPoP' && (bound.cnf as Json | undefined)?.jkt === jktA;
  expect(
    'phone A signs in (a DPoP proof of its non-extractable key at /sign-in), client.setSession()',
    `${signIn.status}, token_type ${answer.token_type}; the service holds cnf.jkt ${String((bound.cnf as Json | undefined)?.jkt).slice(0, 8)}… = the key's thumbprint`,
    signIn.status === 200 && dpopBound,
  );

  const profile = await phoneA.fetch('/api/profile');
  const note = await phoneA.fetch('/api/notes', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'buy milk' }),
  });
  expect(
    'GET /api/profile and POST /api/notes with client.fetch (Authorization: DPoP + a proof each)',
    `${profile.status}, ${note.status}`,
    profile.status === 200 && note.status === 201,
  );

  const stolenBearer = await fetch(`${url}/api/profile`, {
    headers: { authorization: `Bearer ${answer.access_token}` },
  });
  const stolenDpop = await fetch(`${url}/api/profile`, {
    headers: { authorization: `DPoP ${answer.access_token}` },
  });
  const thief = await webCryptoDpopKey(memoryDpopKeyStore());
  const stolenOtherKey = await fetch(`${url}/api/profile`, {
    headers: {
      authorization: `DPoP ${answer.access_token}`,
      dpop: await createDpopProof(thief, {
        htm: 'GET',
        htu: `${url}/api/profile`,
        accessToken: answer.access_token,
      }),
    },
  });
  expect(
    'the same access token stolen: as Bearer, as DPoP without a proof, with a proof of another key',
    `${stolenBearer.status}, ${stolenDpop.status}, ${stolenOtherKey.status}`,
    stolenBearer.status === 401 && stolenDpop.status === 401 && stolenOtherKey.status === 401,
  );

  // 20 concurrent requests across an expiry: the phone sleeps past the token's life, which
  // its monotonic clock does not count; the service's clock does.
  serviceClock.forward((PHONE_TIER.accessTokenTtlSeconds + 1) * 1000);
  const before = tokenRequests();
  const notesBefore = gateway.count('GET /api/notes');
  const concurrent = await Promise.all(
    Array.from({ length: 20 }, () => phoneA.fetch('/api/notes')),
  );
  const concurrentStatuses = concurrent.map((r) => r.status);
  const refreshesForConcurrentRequests = tokenRequests() - before;
  const notesRequests = gateway.count('GET /api/notes') - notesBefore;
  expect(
    `20 concurrent requests after the phone slept past the access token's ${PHONE_TIER.accessTokenTtlSeconds} s`,
    `${concurrentStatuses.filter((s) => s === 200).length} × 200 (${notesRequests} requests at the gateway: each refused as expired, then retried); POST /v1/token at the gateway: ${refreshesForConcurrentRequests}`,
    concurrentStatuses.every((s) => s === 200) &&
      refreshesForConcurrentRequests === 1 &&
      notesRequests === 40,
  );

  // ---- phone B: its own process over a file, killed while its refresh is in flight ------------
  const first = spawnPhone(['sign-in', url, stack.dataDir, DEMO_USER.email, DEMO_USER.password]);
  const ready = await first.next().catch((error) => {
    first.child.kill('SIGKILL');
    throw error;
  });
  const tokensB = new Set(ready.tokens as string[]);
  expect(
    'phone B (a separate process; file storage, key kept like a Keystore key) signs in and uses the API',
    `${ready.signIn}, token_type ${ready.tokenType}; GET /api/profile ${ready.status}`,
    ready.signIn === 200 && ready.tokenType === 'DPoP' && ready.status === 200,
  );
  const sessionB = ready.sessionId as string;

  const devices = await phoneA.sessions();
  expect(
    'client.sessions() on phone A ("your devices")',
    devices.map((d) => `${d.device.name}${d.current ? ' (this one)' : ''}`).join(', '),
    devices.length === 2 && devices.find((d) => d.current)?.id === sessionA,
  );

  gateway.holdTokenAnswers = true;
  const held = new Promise<void>((resolve) => gateway.events.once('held', () => resolve()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    first.child.once('exit', (_code, signal) => resolve(signal)),
  );
  const refreshedBefore = service.events.filter(
    (e) => e.sessionId === sessionB && e.type === 'session.refreshed',
  ).length;
  first.child.stdin.write('refresh\n');
  // The service rotated and answered; the answer stops at the gateway.
  await within(held, 20_000, 'the held refresh').catch((error) => {
    first.child.kill('SIGKILL');
    throw error;
  });
  first.child.kill('SIGKILL');
  const signal = await exited;
  gateway.holdTokenAnswers = false;
  const rotated =
    service.events.filter((e) => e.sessionId === sessionB && e.type === 'session.refreshed')
      .length ===
    refreshedBefore + 1;
  const killedDuringRefresh = signal === 'SIGKILL' && rotated;
  expect(
    'phone B refreshes; the service rotates, the answer is held at the gateway; kill -9 the phone',
    `killed by ${signal}; the service rotated: ${rotated}; the phone never heard the new pair`,
    killedDuringRefresh,
  );

  const tokensBefore = tokenRequests();
  const revokesBeforeB = revokeRequests();
  const second = spawnPhone(['recover', url, stack.dataDir]);
  const secondExited = new Promise((resolve) => second.child.once('exit', resolve));
  const recovered = await second.next().catch((error) => {
    second.child.kill('SIGKILL');
    throw error;
  });
  await within(secondExited, 20_000, 'the recovered phone process exiting');
  for (const token of recovered.tokens as string[]) tokensB.add(token);
  const replayed = service.events.some(
    (e) => e.sessionId === sessionB && e.type === 'session.refresh_replayed',
  );
  const recoveredWithSameSession =
    recovered.signedIn === true && recovered.status === 200 && recovered.sessionId === sessionB;
  expect(
    'a new phone B process over the same file: it retries the interrupted refresh with the old token',
    `GET /api/profile ${recovered.status ?? `refused (${recovered.error}; signed out: ${String(recovered.signOuts)})`}, same session: ${recovered.sessionId === sessionB}; POST /v1/token: ${tokenRequests() - tokensBefore}, the first answered within the grace window with the same pair (session.refresh_replayed: ${replayed})`,
    recoveredWithSameSession && replayed && tokenRequests() - tokensBefore >= 1,
  );
  const endedB = await service.tessera.getLiveSession(sessionB);
  expect(
    'phone B logs out online',
    `POST /v1/revoke delivered (${revokeRequests() - revokesBeforeB}); the server session ${endedB === null ? 'ended' : 'is still live'}; signed in: ${recovered.signedInAfterLogout}`,
    revokeRequests() - revokesBeforeB === 1 &&
      endedB === null &&
      recovered.signedInAfterLogout === false,
  );

  // ---- phone A logs out offline, then the network comes back ----------------------------------
  gateway.offline = true;
  const revokesBeforeA = revokeRequests();
  await phoneA.logout();
  const revokesWhileOffline = revokeRequests() - revokesBeforeA;
  const liveWhileOffline = (await service.tessera.getLiveSession(sessionA)) !== null;
  const signedInA = await phoneA.isSignedIn();
  expect(
    'phone A logs out with the network down (the gateway drops every connection)',
    `signed out on the phone at once (signed in: ${signedInA}; onSignOut: ${signOuts.join(', ')}); the revoke is queued: ${revokesWhileOffline} reached the service, the server session is still live: ${liveWhileOffline}`,
    !signedInA && signOuts.join() === 'logout' && revokesWhileOffline === 0 && liveWhileOffline,
  );

  gateway.offline = false;
  const flushed = await phoneA.flushPendingRevokes();
  const revokesAfterOnline = revokeRequests() - revokesBeforeA;
  const endedAfterOnline = (await service.tessera.getLiveSession(sessionA)) === null;
  const endEvent = service.events.find(
    (e) => e.sessionId === sessionA && e.type === 'session.ended',
  );
  expect(
    'the network is back: the queued revoke is delivered',
    `POST /v1/revoke delivered (${revokesAfterOnline}); the server session ended (${endEvent?.reason ?? 'not ended'}); queue empty: ${flushed}`,
    flushed && revokesAfterOnline >= 1 && endedAfterOnline && endEvent?.reason === 'logout',
  );

  // ---- every old token, presented with a valid proof of the right key ------------------------
  const keyB = fileDpopKey(`${stack.dataDir}/phone-b.key`);
  const oldTokens: PhoneFacts['oldTokens'] = [];
  // Counted before the old tokens are tried: presenting them is the last act, after every end.
  const reuseEvents = service.events.filter((e) => e.type === 'session.refresh_reuse').length;
  const everyToken = [
    ...[...recorderA.tokens].map((token) => ({ token, key: keyA })),
    ...[...tokensB].map((token) => ({ token, key: keyB })),
  ];
  for (const { token, key } of everyToken) {
    oldTokens.push(await presentOldToken(url, token, key));
  }
  const access = oldTokens.filter((t) => t.kind === 'access');
  const refresh = oldTokens.filter((t) => t.kind === 'refresh');
  expect(
    `every token phones A and B ever held (${access.length} access, ${refresh.length} refresh), each with a valid proof of its key`,
    `access → ${summary(access)}; refresh → ${summary(refresh)}`,
    access.length >= 3 &&
      refresh.length >= 3 &&
      access.every((t) => t.status === 401) &&
      refresh.every((t) => t.status === 400 && t.error === 'invalid_grant'),
  );
  expect(
    'no refresh was ever taken for a theft (the recovery is a grace replay, not a reuse)',
    `session.refresh_reuse events: ${reuseEvents}`,
    reuseEvents === 0,
  );

  return {
    refreshesForConcurrentRequests,
    concurrentStatuses,
    dpopBound,
    killedDuringRefresh,
    recoveredWithSameSession: recoveredWithSameSession && replayed,
    reuseEvents,
    revokesWhileOffline,
    revokesAfterOnline,
    liveWhileOffline,
    endedAfterOnline,
    oldTokens,
  };
}

function summary(answers: { status: number; error: string | null }[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const key = `${a.status}${a.error === null ? '' : ` ${a.error}`}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} × ${k}`).join(', ');
}

/** An old token as its phone would use it: with a fresh, valid DPoP proof of the bound key. */
async function presentOldToken(url: string, token: string, key: DpopKeyHandle) {
  if (token.startsWith('tsa_')) {
    const response = await fetch(`${url}/api/profile`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await createDpopProof(key, {
          htm: 'GET',
          htu: `${url}/api/profile`,
          accessToken: token,
        }),
      },
    });
    const body = (await response.json().catch(() => ({}))) as Json;
    return {
      kind: 'access' as const,
      status: response.status,
      error: typeof body.error === 'string' ? body.error : null,
    };
  }
  const response = await fetch(`${url}/v1/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await createDpopProof(key, { htm: 'POST', htu: `${url}/v1/token` }),
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }),
  });
  const body = (await response.json().catch(() => ({}))) as Json;
  return {
    kind: 'refresh' as const,
    status: response.status,
    error: typeof body.error === 'string' ? body.error : null,
  };
}
