// The floor: a bare node:http server that does the least a stateful session check can do,
// a SHA-256 of the presented token and a Map lookup. Nothing can be faster and still be a
// server-side session, so every other row is compared with this one.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const sessions = new Map<string, { userId: string }>();
const token = randomBytes(32).toString('base64url');
sessions.set(createHash('sha256').update(token).digest('hex'), { userId: 'user-1' });

const server = createServer((req, res) => {
  const header = req.headers.authorization ?? '';
  const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
  const session = sessions.get(createHash('sha256').update(presented).digest('hex'));
  if (!session) {
    res.writeHead(401).end();
    return;
  }
  const body = JSON.stringify({ user_id: session.userId });
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(
    `${JSON.stringify({ port, headers: { authorization: `Bearer ${token}` } })}\n`,
  );
});
