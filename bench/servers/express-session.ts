// express-session with its default MemoryStore, used the way its README shows.
import express from 'express';
import session from 'express-session';

declare module 'express-session' {
  interface SessionData {
    userId: string;
  }
}

const app = express();
app.use(
  session({ secret: 'bench-secret-not-for-production', resave: false, saveUninitialized: false }),
);
app.post('/login', (req, res) => {
  req.session.regenerate(() => {
    req.session.userId = 'user-1';
    res.json({ ok: true });
  });
});
app.get('/me', (req, res) => {
  if (!req.session.userId) {
    res.status(401).end();
    return;
  }
  res.json({ user_id: req.session.userId });
});
const server = app.listen(0, '127.0.0.1', async () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const login = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST' });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  process.stdout.write(`${JSON.stringify({ port, headers: { cookie } })}\n`);
});
