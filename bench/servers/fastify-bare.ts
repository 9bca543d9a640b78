// Fastify with no session at all: how fast the framework alone answers.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/me', async () => ({ user_id: 'user-1' }));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port), headers: {} })}\n`);
