// The phone as its own process, for the part of the example where it is killed: the SDK over
// the crash-safe file storage and a DPoP key that outlives the process (src/file-dpop-key.ts),
// as the Keychain/Keystore and the Secure Enclave/Keystore key do on a device.
//
//   phone-process sign-in  <url> <dir> <email> <password>   signs in, uses the API, then on the
//                                                           line "refresh" on stdin refreshes
//                                                           (and is killed while it does)
//   phone-process recover  <url> <dir>                      starts over the same files, uses
//                                                           the API, logs out online
//
// It writes one JSON line per step to stdout. The tokens in those lines go to the parent (which
// checks that each is refused at the end) over a pipe, never to a terminal.
import { createInterface } from 'node:readline';
import { createTesseraClient, type TokenAnswer } from '@tessera/client';
import { fileDpopKey } from './file-dpop-key.js';
import { fileStorage, phoneStoragePath } from './file-storage.js';
import { tokenRecorder } from './token-recorder.js';

const [mode, url, dir, email, password] = process.argv.slice(2) as [
  string,
  string,
  string,
  string?,
  string?,
];
const say = (message: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify(message)}\n`);

// The phone's monotonic clock; `refresh` moves it past the access token's lifetime, which is
// what a phone meets when the app comes back after a while.
let clockOffsetMs = 0;
const recorder = tokenRecorder();
const key = fileDpopKey(`${dir}/phone-b.key`);
const client = createTesseraClient({
  baseUrl: url,
  storage: fileStorage(phoneStoragePath(dir, 'phone-b')),
  fetch: recorder.fetch,
  dpop: key,
  clock: { now: () => performance.now() + clockOffsetMs },
  refreshMarginSeconds: 1,
});

const signOuts: string[] = [];
client.onSignOut((reason) => signOuts.push(reason));

/** GET /api/profile; a refusal the SDK throws (the session ended, …) is reported, not thrown. */
async function profile() {
  try {
    const response = await client.fetch('/api/profile');
    const body = (await response.json()) as { session_id?: string };
    return { status: response.status, sessionId: body.session_id ?? null };
  } catch (error) {
    const { code, reason } = error as { code?: string; reason?: string };
    return { status: null, sessionId: null, error: code ?? String(error), reason, signOuts };
  }
}

if (mode === 'sign-in') {
  const response = await fetch(`${url}/sign-in`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      // Proof of the key at sign-in: the service binds the new session to it (RFC 9449 §10).
      dpop: await client.dpopProof('POST', `${url}/sign-in`),
    },
    body: JSON.stringify({
      email,
      password,
      device: { id: 'phone-b', name: "Ada's second phone", platform: 'android' },
    }),
  });
  const answer = (await response.json()) as TokenAnswer;
  recorder.noteAnswer(answer);
  await client.setSession(answer);
  const used = await profile();
  say({
    step: 'ready',
    signIn: response.status,
    tokenType: answer.token_type,
    jkt: await client.jkt(),
    ...used,
    tokens: [...recorder.tokens],
  });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'refresh') {
      clockOffsetMs += 3600_000;
      say({ step: 'refreshing' });
      // The gateway holds the answer of this refresh: the parent kills us while we wait.
      await profile();
      say({ step: 'not killed' });
    }
  }
} else if (mode === 'recover') {
  const signedIn = await client.isSignedIn();
  const used = await profile();
  const tokens = [...recorder.tokens];
  await client.logout();
  say({
    step: 'recovered',
    signedIn,
    ...used,
    tokens,
    signedInAfterLogout: await client.isSignedIn(),
  });
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
