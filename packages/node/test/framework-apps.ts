import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { requireSession as expressRequire, expressSessionOf } from '../src/express.js';
import { requireSession as fastifyRequire, fastifySessionOf } from '../src/fastify.js';
import { requireSession as honoRequire, type TesseraHonoEnv } from '../src/hono.js';
import type { BearerRequirements, SessionGuard } from '../src/index.js';

/** One answer, whatever framework produced it. */
export interface Answer {
  status: number;
  header(name: string): string | null;
  setCookies: string[];
  json: Record<string, unknown>;
}

export type Call = (
  method: string,
  path: string,
  headers?: Record<string, string>,
) => Promise<Answer>;

export interface FrameworkApp {
  name: 'Express' | 'Fastify' | 'Hono';
  /** The origin the app sees requests addressed to (for DPoP `htu`). */
  origin: string;
  call: Call;
  close(): Promise<void>;
}

/** The routes every bearer test uses, protected by `requireSession` with these requirements. */
export const ROUTES: Record<string, BearerRequirements> = {
  '/me': {},
  '/high': { policy: 'high' },
  '/fresh': { maxAuthAgeSeconds: 300 },
  '/strict': { strict: true },
};

async function fromFetch(response: Response): Promise<Answer> {
  const text = await response.text();
  return {
    status: response.status,
    header: (name) => response.headers.get(name),
    setCookies: response.headers.getSetCookie(),
    json: text ? JSON.parse(text) : {},
  };
}

export async function expressApp(guard: SessionGuard): Promise<FrameworkApp> {
  const app = express();
  for (const [path, requirements] of Object.entries(ROUTES)) {
    app.all(path, expressRequire(guard, requirements), (req, res) => {
      const { session, mode } = expressSessionOf(req)!;
      res.json({ user: session.userId, session_id: session.sessionId, mode });
    });
  }
  // A real socket: Express has no in-process request helper.
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
}

export async function fastifyApp(guard: SessionGuard): Promise<FrameworkApp> {
  const app = Fastify();
  for (const [path, requirements] of Object.entries(ROUTES)) {
    app.route({
      method: ['GET', 'POST'],
      url: path,
      preHandler: fastifyRequire(guard, requirements),
      handler: async (request) => {
        const { session, mode } = fastifySessionOf(request)!;
        return { user: session.userId, session_id: session.sessionId, mode };
      },
    });
  }
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
}

export async function honoApp(guard: SessionGuard): Promise<FrameworkApp> {
  const app = new Hono<TesseraHonoEnv>();
  for (const [path, requirements] of Object.entries(ROUTES)) {
    app.on(['GET', 'POST'], path, honoRequire(guard, requirements), (c) => {
      const { session, mode } = c.get('tessera');
      return c.json({ user: session.userId, session_id: session.sessionId, mode });
    });
  }
  return {
    name: 'Hono',
    origin: 'http://api.example.test',
    call: async (method, path, headers = {}) =>
      fromFetch(await app.request(`http://api.example.test${path}`, { method, headers })),
    close: async () => {},
  };
}

export const FRAMEWORKS = [expressApp, fastifyApp, honoApp];
