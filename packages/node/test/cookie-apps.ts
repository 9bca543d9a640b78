import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { expressCookieSessions, expressSessionOf } from '../src/express.js';
import { fastifyCookieSessions, fastifySessionOf } from '../src/fastify.js';
import { honoCookieSessions, type TesseraHonoEnv } from '../src/hono.js';
import type { CookieSessions } from '../src/index.js';
import type { Answer, FrameworkApp } from './framework-apps.js';

/**
 * The same four routes on each framework: POST /sign-in?user=…, GET /me, POST /notes,
 * POST /step-up, POST /sign-out.
 */
export type CookieAppBuilder = (core: CookieSessions) => Promise<FrameworkApp>;

async function fromFetch(response: Response): Promise<Answer> {
  const text = await response.text();
  return {
    status: response.status,
    header: (name) => response.headers.get(name),
    setCookies: response.headers.getSetCookie(),
    json: text ? JSON.parse(text) : {},
  };
}

export const expressCookieApp: CookieAppBuilder = async (core) => {
  const cookies = expressCookieSessions(core);
  const app = express();
  app.post('/sign-in', async (req, res) => {
    const issued = await cookies.signIn(req, res, { userId: String(req.query.user) });
    if (issued === null) return;
    res.json({ csrf_token: issued.csrfToken, session_id: issued.session.sessionId });
  });
  app.get('/me', cookies.requireSession(), (req, res) => {
    res.json({
      session_id: expressSessionOf(req)!.session.sessionId,
      csrf_token: expressSessionOf(req)!.csrfToken,
    });
  });
  app.post('/notes', cookies.requireSession(), (_req, res) => {
    res.json({ saved: true });
  });
  app.post('/step-up', cookies.requireSession(), async (req, res) => {
    const issued = await cookies.stepUp(req, res, ['pwd']);
    res.json({ csrf_token: issued?.csrfToken });
  });
  app.post('/sign-out', async (req, res) => {
    if (await cookies.signOut(req, res)) res.json({ signed_out: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    name: 'Express',
    origin: base,
    call: async (method, path, headers = {}) =>
      fromFetch(await fetch(`${base}${path}`, { method, headers })),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
};

export const fastifyCookieApp: CookieAppBuilder = async (core) => {
  const cookies = fastifyCookieSessions(core);
  const app = Fastify();
  app.post<{ Querystring: { user: string } }>('/sign-in', async (request, reply) => {
    const issued = await cookies.signIn(request, reply, { userId: request.query.user });
    if (issued === null) return reply;
    return { csrf_token: issued.csrfToken, session_id: issued.session.sessionId };
  });
  app.get('/me', { preHandler: cookies.requireSession() }, async (request) => ({
    session_id: fastifySessionOf(request)!.session.sessionId,
    csrf_token: fastifySessionOf(request)!.csrfToken,
  }));
  app.post('/notes', { preHandler: cookies.requireSession() }, async () => ({ saved: true }));
  app.post('/step-up', { preHandler: cookies.requireSession() }, async (request, reply) => {
    const issued = await cookies.stepUp(request, reply, ['pwd']);
    return { csrf_token: issued?.csrfToken };
  });
  app.post('/sign-out', async (request, reply) =>
    (await cookies.signOut(request, reply)) ? { signed_out: true } : reply,
  );
  await app.ready();
  return {
    name: 'Fastify',
    origin: 'http://localhost',
    call: async (method, path, headers = {}) => {
      const response = await app.inject({ method: method as 'GET', url: path, headers });
      const raw = response.headers['set-cookie'];
      return {
        status: response.statusCode,
        header: (name) => {
          const value = response.headers[name.toLowerCase()];
          return value === undefined ? null : String(value);
        },
        setCookies: raw === undefined ? [] : ([] as string[]).concat(raw),
        json: response.body ? response.json() : {},
      };
    },
    close: () => app.close(),
  };
};

export const honoCookieApp: CookieAppBuilder = async (core) => {
  const cookies = honoCookieSessions(core);
  const app = new Hono<TesseraHonoEnv>();
  app.post('/sign-in', async (c) => {
    const issued = await cookies.signIn(c, { userId: c.req.query('user') ?? '' });
    if (issued instanceof Response) return issued;
    return c.json({ csrf_token: issued.csrfToken, session_id: issued.session.sessionId });
  });
  app.get('/me', cookies.requireSession(), (c) =>
    c.json({
      session_id: c.get('tessera').session.sessionId,
      csrf_token: c.get('tessera').csrfToken,
    }),
  );
  app.post('/notes', cookies.requireSession(), (c) => c.json({ saved: true }));
  app.post('/step-up', cookies.requireSession(), async (c) => {
    const issued = await cookies.stepUp(c, ['pwd']);
    return c.json({ csrf_token: issued?.csrfToken });
  });
  app.post('/sign-out', async (c) => {
    const out = await cookies.signOut(c);
    return out === true ? c.json({ signed_out: true }) : out;
  });
  return {
    name: 'Hono',
    origin: 'http://localhost',
    call: async (method, path, headers = {}) =>
      fromFetch(await app.request(`http://localhost${path}`, { method, headers })),
    close: async () => {},
  };
};

export const COOKIE_APPS = [expressCookieApp, fastifyCookieApp, honoCookieApp];
