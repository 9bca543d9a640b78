// Fastify with @fastify/session (and its default in-memory store), as its README shows.
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';

declare module 'fastify' {
  interface Session {
    userId?: string;
  }
}

const app = Fastify({ logger: false });
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: 'a-bench-secret-with-at-least-32-characters!',
  cookie: { secure: false },
  saveUninitialized: false,
});
app.post('/login', async (request) => {
  await request.session.regenerate();
  request.session.userId = 'user-1';
  return { ok: true };
});
app.get('/me', async (request, reply) => {
  if (!request.session.userId) return reply.code(401).send();
  return { user_id: request.session.userId };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
const login = await fetch(`${address}/login`, { method: 'POST' });
const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
process.stdout.write(
  `${JSON.stringify({ port: Number(new URL(address).port), headers: { cookie } })}\n`,
);
