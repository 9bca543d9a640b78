// The example's web app: @tessera/client's ESM build in a browser, as a single-page app would
// use it. Tokens live in browserStorage() (IndexedDB, sealed with AES-GCM under a non-extractable
// key), the session is bound to a non-extractable P-256 DPoP key kept in IndexedDB (dpop: true),
// so a reload finds both, and a token copied out of the page is worthless without the key.
import { browserStorage, createTesseraClient } from './sdk/index.js';

const client = createTesseraClient({
  baseUrl: location.origin, // the gateway: the service's /v1/… and the backend on one origin
  storage: browserStorage(),
  dpop: true,
  // The example's access tokens live 3 s; refresh in their last second (30 s by default).
  refreshMarginSeconds: 1,
});

const $ = (id) => document.getElementById(id);

function show(state, message = '') {
  $('sign-in').hidden = state !== 'signed-out';
  $('account').hidden = state !== 'signed-in';
  $('status').textContent = message;
  document.body.dataset.state = state;
}

async function showAccount() {
  const response = await client.fetch('/api/profile');
  if (!response.ok) return show('signed-out', `the session is over (${response.status})`);
  const profile = await response.json();
  $('who').textContent = `Signed in as ${profile.email}`;
  show('signed-in');
}

client.onSignOut((reason) => show('signed-out', `signed out: ${reason}`));

$('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await fetch('/sign-in', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      // A proof of the key: the backend forwards it and the service binds the session to it.
      dpop: await client.dpopProof('POST', `${location.origin}/sign-in`),
    },
    body: JSON.stringify({
      email: $('email').value,
      password: $('password').value,
      device: { name: 'Web app', platform: 'web' },
    }),
  });
  if (!response.ok) return show('signed-out', 'wrong e-mail or password');
  await client.setSession(await response.json());
  await showAccount();
});

$('sign-out').addEventListener('click', async () => {
  await client.logout(); // ends the session on the server first (POST /v1/revoke)
});

// For the test that drives this page (concurrent calls, the key's thumbprint); an app would
// keep the client inside its modules.
window.exampleApp = { client };

try {
  if (await client.isSignedIn()) await showAccount();
  else show('signed-out');
} catch (error) {
  show('signed-out', `could not restore the session: ${error.code ?? error.message}`);
}
