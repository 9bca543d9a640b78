import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { AuditHttpError, createHttpClient, retryAfterSeconds } from '../src/http-client.js';

describe('origin-locked HTTP client', () => {
  let server: Server;
  let base: URL;
  let busyHits = 0;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/busy' && busyHits++ % 2 === 0) {
        res.writeHead(429, { 'Retry-After': '1' }).end();
        return;
      }
      if (req.url === '/away') {
        res.writeHead(302, { Location: 'http://example.com/steal' }).end();
        return;
      }
      res.writeHead(200, { 'Set-Cookie': ['a=1', 'b=2'] }).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    base = new URL(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
  });
  after(() => server.close());

  const client = () =>
    createHttpClient({
      baseUrl: base,
      requestsPerSecond: 100,
      maxRequests: 10,
      deadlineMs: Date.now() + 30_000,
      requestTimeoutSeconds: 5,
    });

  test('a request to another origin is refused before anything is sent', async () => {
    await assert.rejects(
      client().send({ method: 'GET', url: 'http://example.com/x' }),
      (e: unknown) => e instanceof AuditHttpError && e.code === 'origin_refused',
    );
  });

  test('a redirect to another origin is refused when redirects are followed', async () => {
    const http = client();
    await assert.rejects(
      http.send({ method: 'GET', url: '/away', followRedirects: true }),
      (e: unknown) => e instanceof AuditHttpError && e.code === 'origin_refused',
    );
    const answer = await http.send({ method: 'GET', url: '/away' });
    assert.equal(answer.status, 302);
  });

  test('each Set-Cookie is kept separately', async () => {
    const answer = await client().send({ method: 'GET', url: '/' });
    assert.deepEqual(answer.setCookies, ['a=1', 'b=2']);
  });

  test('a 429 is retried after its Retry-After', async () => {
    const http = client();
    const start = Date.now();
    const answer = await http.send({ method: 'GET', url: '/busy' });
    assert.equal(answer.status, 200);
    assert.equal(http.throttled, 1);
    assert.ok(Date.now() - start >= 950);
  });

  test('the request budget is enforced', async () => {
    const http = createHttpClient({
      baseUrl: base,
      requestsPerSecond: 1000,
      maxRequests: 2,
      deadlineMs: Date.now() + 30_000,
      requestTimeoutSeconds: 5,
    });
    await http.send({ method: 'GET', url: '/' });
    await http.send({ method: 'GET', url: '/' });
    await assert.rejects(
      http.send({ method: 'GET', url: '/' }),
      (e: unknown) => e instanceof AuditHttpError && e.code === 'budget_exhausted',
    );
  });

  test('Retry-After is read as seconds or as an HTTP date', () => {
    assert.equal(retryAfterSeconds('7'), 7);
    assert.equal(retryAfterSeconds(new Date(10_000).toUTCString(), 4_000), 6);
    assert.equal(retryAfterSeconds('soon'), null);
  });
});
