import { fileURLToPath } from 'node:url';
import {
  AuthorityUnavailableError,
  createCookieSessions,
  createSessionGuard,
  type IssuedPair,
  type SessionAuthority,
} from '@tessera/node';
import { expressCookieSessions, expressSessionOf, requireSession } from '@tessera/node/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { UserTable } from './users.js';

export interface BackendOptions {
  authority: SessionAuthority;
  users: UserTable;
  /** ≥ 32 random bytes: the key of cookie mode's CSRF tokens. */
  csrfSecret: string;
  /** The origin phones and browsers address this backend by (the gateway), for DPoP `htu`. */
  publicOrigin: string;
  /** Cookie mode over plain http on a non-localhost host (never in production). */
  insecureHttpForLocalDev?: boolean;
  /** How fresh the authentication must be to change the e-mail (RFC 9470 max_age). @default 300 */
  emailChangeMaxAuthAgeSeconds?: number;
  /**
   * Serve the example's web app at `/app/` (the files of `web/`) and the ESM build of
   * `@tessera/client` (`sdkDir`, i.e. `packages/client/dist`) at `/app/sdk/`. Off by default.
   */
  browserApp?: { sdkDir: string };
}

/** Where the web app's files are, from src/ and from dist/ alike. */
const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

/**
 * The web app's headers: scripts only as files from this origin (no inline script, no eval),
 * requests only to this origin, no framing, no plugins, no base or form hijacking.
 */
const APP_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/**
 * The token answer a phone hands to `client.setSession()`: what `POST /v1/sessions` answered.
 * `bound` says whether the session is bound to a DPoP key: the service's session JSON does not
 * carry the thumbprint, so the pair alone cannot tell (its `jkt` is null over `remoteAuthority`);
 * the caller knows it from the proof it forwarded (a creation with a bad proof is refused) or
 * from the validated session of a step-up.
 */
function tokenAnswer(pair: IssuedPair, bound: boolean) {
  return {
    access_token: pair.accessToken,
    refresh_token: pair.refreshToken,
    token_type: bound || pair.session.jkt !== null ? 'DPoP' : 'Bearer',
    expires_in: pair.expiresIn,
    session: { id: pair.session.sessionId, user_id: pair.session.userId },
  };
}

const text = (value: unknown, max = 512) =>
  typeof value === 'string' && value.length > 0 && value.length <= max ? value : null;

/**
 * The mobile backend: its own users and passwords, Tessera for sessions. Phones use `/sign-in`
 * and `/api/…` with bearer (or DPoP) tokens; web front ends use `/web/…` in cookie mode.
 */
export function createBackendApp(options: BackendOptions): express.Express {
  const { authority, users } = options;
  const guard = createSessionGuard({ authority, publicOrigin: options.publicOrigin });
  const cookies = expressCookieSessions(
    createCookieSessions({
      authority,
      csrfSecret: options.csrfSecret,
      sameSite: 'lax',
      insecureHttpForLocalDev: options.insecureHttpForLocalDev === true,
    }),
  );
  const notes = new Map<string, string[]>();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback'); // the gateway in front of us
  app.use((_req, res, next) => {
    // Every answer may carry credentials or personal data (ASVS 5.0 14.3.2).
    res.set('cache-control', 'no-store');
    next();
  });
  app.use(express.json({ limit: '16kb' }));
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));

  const user = (req: Request) => expressSessionOf(req)!.session;
  const wrap =
    (handler: (req: Request, res: Response) => Promise<unknown>) =>
    (req: Request, res: Response, next: NextFunction) => {
      handler(req, res).catch(next);
    };
  const invalidCredentials = (res: Response) =>
    // One answer for an unknown e-mail and a wrong password (WSTG-ATHN-04).
    res
      .status(401)
      .json({ error: 'invalid_credentials', error_description: 'wrong e-mail or password' });
  const badRequest = (res: Response, description: string) =>
    res.status(400).json({ error: 'invalid_request', error_description: description });

  async function checkCredentials(req: Request, res: Response) {
    const email = text(req.body?.email, 254);
    const password = text(req.body?.password, 1024);
    if (email === null || password === null) {
      badRequest(res, 'email and password are required strings');
      return null;
    }
    const found = await users.authenticate(email, password);
    if (found === null) invalidCredentials(res);
    return found;
  }

  // ---- phones: bearer / DPoP -------------------------------------------------------------------

  app.post(
    '/sign-in',
    wrap(async (req, res) => {
      const found = await checkCredentials(req, res);
      if (found === null) return;
      const device = req.body?.device ?? {};
      const proof = req.get('dpop');
      const pair = await authority.create({
        userId: found.id,
        authMethods: ['pwd'],
        device: {
          ...(text(device.id, 256) ? { id: device.id } : {}),
          ...(text(device.name, 256) ? { name: device.name } : {}),
          ...(text(device.platform, 64) ? { platform: device.platform } : {}),
        },
        ...(req.ip ? { ip: req.ip.replace(/^::ffff:/, '') } : {}),
        ...(text(req.get('user-agent')) ? { userAgent: req.get('user-agent') } : {}),
        // A phone with a DPoP key proves it at sign-in; the service binds the session to it.
        ...(proof === undefined
          ? {}
          : { dpopProof: { proof, method: 'POST', url: `${options.publicOrigin}/sign-in` } }),
      });
      res.json(tokenAnswer(pair, proof !== undefined));
    }),
  );

  app.get('/api/profile', requireSession(guard), (req, res) => {
    const { userId, sessionId } = user(req);
    res.json({ user_id: userId, email: users.get(userId)?.email ?? null, session_id: sessionId });
  });

  app.get('/api/notes', requireSession(guard), (req, res) => {
    res.json({ notes: notes.get(user(req).userId) ?? [] });
  });

  app.post('/api/notes', requireSession(guard), (req, res) => {
    const note = text(req.body?.text, 1000);
    if (note === null) return badRequest(res, 'text is required');
    const list = notes.get(user(req).userId) ?? [];
    list.push(note);
    notes.set(user(req).userId, list);
    res.status(201).json({ notes: list });
  });

  /** Re-authentication: the password again, then a new pair (RFC 9470 step-up, ASVS 5.0 7.5.3). */
  app.post(
    '/api/step-up',
    requireSession(guard),
    wrap(async (req, res) => {
      const password = text(req.body?.password, 1024);
      if (password === null) return badRequest(res, 'password is required');
      if (!(await users.checkPassword(user(req).userId, password))) return invalidCredentials(res);
      const pair = await authority.stepUp(user(req).sessionId, ['pwd']);
      if (pair === null)
        return res
          .status(401)
          .json({ error: 'invalid_token', error_description: 'the session has ended' });
      res.json(tokenAnswer(pair, user(req).jkt !== null));
    }),
  );

  /** Changing the password ends every other session of the user (ASVS 5.0 7.4.3). */
  app.post(
    '/api/password',
    requireSession(guard, { strict: true }),
    wrap(async (req, res) => {
      const current = text(req.body?.current_password, 1024);
      const next = text(req.body?.new_password, 1024);
      if (current === null || next === null || next.length < 8) {
        return badRequest(
          res,
          'current_password and new_password (8 characters or more) are required',
        );
      }
      const { userId, sessionId } = user(req);
      if (!(await users.checkPassword(userId, current))) return invalidCredentials(res);
      await users.setPassword(userId, next);
      const ended = await authority.endUserSessions(userId, 'password_changed', {
        exceptSessionId: sessionId,
      });
      res.json({ ended });
    }),
  );

  /** Changing the e-mail needs a recent authentication (RFC 9470; 5 minutes by default). */
  app.post(
    '/api/email',
    requireSession(guard, {
      maxAuthAgeSeconds: options.emailChangeMaxAuthAgeSeconds ?? 300,
      strict: true,
    }),
    (req, res) => {
      const email = text(req.body?.email, 254);
      if (email === null || !email.includes('@')) return badRequest(res, 'email is required');
      if (!users.setEmail(user(req).userId, email)) {
        return res
          .status(409)
          .json({ error: 'email_taken', error_description: 'this e-mail is in use' });
      }
      res.json({ email: users.get(user(req).userId)?.email });
    },
  );

  if (options.browserApp !== undefined) {
    const { sdkDir } = options.browserApp;
    const withHeaders = (_req: Request, res: Response, next: NextFunction) => {
      res.set(APP_HEADERS);
      next();
    };
    // Express matches `/app` and `/app/` alike; the page's relative URLs need the slash.
    app.get('/app', withHeaders, (req, res) => {
      if (req.path.endsWith('/')) res.sendFile('index.html', { root: WEB_DIR });
      else res.redirect(301, '/app/');
    });
    app.get('/app/app.js', withHeaders, (_req, res) => res.sendFile('app.js', { root: WEB_DIR }));
    // Only the build's modules (`client.js`, `index.js`, …): no source maps, no declarations.
    app.get('/app/sdk/:file', withHeaders, (req, res, next) => {
      const file = req.params.file;
      if (typeof file !== 'string' || !/^[a-z][a-z0-9-]*\.js$/.test(file)) return next();
      res.sendFile(file, { root: sdkDir }, (error) => {
        if (error !== undefined && !res.headersSent) next();
      });
    });
  }

  // ---- web front ends and web views: cookie mode -----------------------------------------------

  app.post(
    '/web/sign-in',
    wrap(async (req, res) => {
      const found = await checkCredentials(req, res);
      if (found === null) return;
      const issued = await cookies.signIn(req, res, {
        userId: found.id,
        authMethods: ['pwd'],
        ...(text(req.get('user-agent')) ? { userAgent: req.get('user-agent') } : {}),
      });
      if (issued === null) return; // a cross-site sign-in: refused (login CSRF)
      res.json({ user_id: found.id, email: found.email, csrf_token: issued.csrfToken });
    }),
  );

  app.get('/web/me', cookies.requireSession(), (req, res) => {
    const { userId } = user(req);
    res.json({
      user_id: userId,
      email: users.get(userId)?.email ?? null,
      csrf_token: expressSessionOf(req)!.csrfToken,
    });
  });

  app.post('/web/notes', cookies.requireSession(), (req, res) => {
    const note = text(req.body?.text, 1000);
    if (note === null) return badRequest(res, 'text is required');
    const list = notes.get(user(req).userId) ?? [];
    list.push(note);
    notes.set(user(req).userId, list);
    res.status(201).json({ notes: list });
  });

  app.post(
    '/web/password',
    cookies.requireSession({ strict: true }),
    wrap(async (req, res) => {
      const current = text(req.body?.current_password, 1024);
      const next = text(req.body?.new_password, 1024);
      if (current === null || next === null || next.length < 8) {
        return badRequest(
          res,
          'current_password and new_password (8 characters or more) are required',
        );
      }
      const { userId, sessionId } = user(req);
      if (!(await users.checkPassword(userId, current))) return invalidCredentials(res);
      await users.setPassword(userId, next);
      const ended = await authority.endUserSessions(userId, 'password_changed', {
        exceptSessionId: sessionId,
      });
      res.json({ ended });
    }),
  );

  /** "Sign out everywhere": ends every session of the user, this one included. */
  app.post(
    '/web/sign-out-everywhere',
    cookies.requireSession({ strict: true }),
    wrap(async (req, res) => {
      const ended = await authority.endUserSessions(user(req).userId, 'logout_all');
      const signedOut = await cookies.signOut(req, res);
      if (signedOut) res.json({ ended });
    }),
  );

  app.post(
    '/web/sign-out',
    wrap(async (req, res) => {
      if (await cookies.signOut(req, res)) res.json({ signed_out: true });
    }),
  );

  app.use((_req, res) =>
    res.status(404).json({ error: 'not_found', error_description: 'no such route' }),
  );
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof AuthorityUnavailableError) {
      return res
        .status(503)
        .set('retry-after', '1')
        .json({ error: 'temporarily_unavailable', error_description: 'try again shortly' });
    }
    const status = (error as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // express.json(): malformed or oversized bodies.
      return res
        .status(status)
        .json({ error: 'invalid_request', error_description: 'the request body is not valid' });
    }
    console.error(error);
    res.status(500).json({ error: 'server_error', error_description: 'something went wrong' });
  });
  return app;
}
