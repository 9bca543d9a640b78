// Fastify with no session, answering what Tessera's `GET /v1/session` answers: the security
// headers of every Tessera answer and a session object of the same shape and size. The gap
// between this row and "Fastify, no session" is the cost of the answer itself (bytes to write,
// headers to serialize, and more for the load generator to read), which no session layer can
// save; the gap between this row and Tessera is what Tessera's own checks cost.
import Fastify from 'fastify';

const HEADERS = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};
const SESSION = {
  id: 'k3Jq9ZpT7bWmX2vR5nL8cY',
  user_id: 'bench-user',
  policy: 'low',
  created_at: '2026-12-07T12:00:00.000Z',
  last_active_at: '2026-12-07T12:00:00.000Z',
  idle_expires_at: '2026-12-07T12:30:00.000Z',
  absolute_expires_at: '2026-12-08T12:00:00.000Z',
  authenticated_at: '2026-12-07T12:00:00.000Z',
  auth_methods: [],
  device: {
    id: 'device-1',
    name: null,
    platform: 'ios',
    app_version: '1.0.0',
    ip: null,
    user_agent: null,
  },
};

const app = Fastify({ logger: false });
app.addHook('onRequest', (_request, reply, done) => {
  reply.headers(HEADERS);
  done();
});
app.get('/me', async () => SESSION);
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port), headers: {} })}\n`);
