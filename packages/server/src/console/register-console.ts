import { readFileSync } from 'node:fs';
import formbody from '@fastify/formbody';
import {
  createOperatorAccounts,
  END_REASONS,
  EVENT_TYPES,
  isTesseraError,
  type OperatorAccountsOptions,
  operatorUserId,
  SCOPES,
  type Scope,
  type SessionEventType,
  type Tessera,
} from '@tessera/core';
import { checkRequestOrigin } from '@tessera/node';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { mapError } from '../error-handler.js';
import {
  appendCookies,
  CONSOLE_POLICY,
  type ConsoleRefusal,
  consoleRequestView,
  createConsoleSessions,
  formField,
  type SignedInOperator,
} from './console-sessions.js';
import { createEventFeed, type EventFeedOptions, isFeedCursor } from './event-feed.js';
import { collectEvents } from './event-reading.js';
import { type Html, html, query } from './html.js';
import { layout, type NavKey } from './layout.js';
import { type OperatorAction, recordOperatorAction } from './operator-events.js';
import { overviewPage } from './overview.js';
import {
  accountPage,
  eventsPage,
  keysPage,
  policiesPage,
  signInPage,
  stepUpPage,
  userPage,
  userSearch,
} from './pages.js';

export interface ConsoleOptions {
  /** Serve the console at `/console`. @default true */
  enabled?: boolean;
  /** Sign-in attempts per minute per client IP, on top of the per-operator lock-out. @default 20 */
  signInPerMinute?: number;
  /** Lock-out thresholds and the scrypt cost of new hashes (see `createOperatorAccounts`). */
  accounts?: Omit<OperatorAccountsOptions, 'tessera'>;
  /** The live event feed. */
  feed?: EventFeedOptions;
  /** Origins besides the console's own allowed to post to it (a proxy that rewrites Origin). */
  allowedOrigins?: string[];
}

/**
 * The Content-Security-Policy of every console answer: only same-origin script, style, images
 * and connections, no inline code of any kind, no framing, no foreign form targets.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const ASSETS = new URL('../../console-assets/', import.meta.url);
const UNIFORM_FAILURE =
  'Sign-in failed: the name or password is not right, or this operator cannot sign in right now. Try again in a minute.';
const STEP_UP_FAILURE =
  'That password was not accepted (or too many attempts were made: wait a minute). Nothing was done.';

type Reply = FastifyReply;

/**
 * Registers the operator console under the prefix it is given (`/console`), as an encapsulated
 * plugin: its hooks, body parser, CSP and error pages apply to its own routes only, so the API
 * pays nothing for it.
 *
 * @example
 * await app.register(consolePlugin(tessera, {}), { prefix: '/console' });
 */
export function consolePlugin(tessera: Tessera, options: ConsoleOptions = {}) {
  const { signInPerMinute = 20 } = options;
  const accounts = createOperatorAccounts({ tessera, ...options.accounts });
  const sessions = createConsoleSessions(tessera, {
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
  });
  const feed = createEventFeed(tessera, options.feed);
  const css = readFileSync(new URL('console.css', ASSETS));
  const js = readFileSync(new URL('console.js', ASSETS));

  return async function consoleRoutes(app: FastifyInstance): Promise<void> {
    await app.register(formbody, { bodyLimit: 16 * 1024 });
    app.addHook('onRequest', (_request, reply, done) => {
      reply.header('content-security-policy', CONSOLE_CSP);
      // Not the API's `no-referrer`: with it, browsers send `Origin: null` on the console's own
      // form posts, and the Origin check could not tell them from a sandboxed page's.
      // `same-origin` still sends nothing to any other site.
      reply.header('referrer-policy', 'same-origin');
      reply.header('cross-origin-opener-policy', 'same-origin');
      reply.header('cross-origin-resource-policy', 'same-origin');
      done();
    });
    app.addHook('preClose', (done) => {
      feed.closeAll();
      done();
    });
    app.setNotFoundHandler((_request, reply) =>
      sendPage(reply, 404, {
        title: 'Not found',
        body: html`<p><a href="/console/overview">Back to the overview</a></p>`,
      }),
    );
    app.setErrorHandler((error, request, reply) => {
      const { status, error: code, description } = mapError(error);
      if (status >= 500) request.log.error({ err: error }, 'console request failed');
      if (code === 'temporarily_unavailable') reply.header('retry-after', '1');
      return sendPage(reply, status, {
        title: status === 503 ? 'Store unavailable' : 'Request refused',
        body: html`<p>${status === 503 ? 'The session store cannot be reached right now; nothing was done. Try again shortly.' : description}</p>`,
      });
    });

    const hide = { schema: { hide: true } };

    function sendPage(reply: Reply, status: number, page: Parameters<typeof layout>[0]): Reply {
      // RFC 9110 §15.5.2: a 401 names how to authenticate (here: the console's sign-in cookie).
      if (status === 401 && !reply.hasHeader('www-authenticate')) {
        reply.header('www-authenticate', 'Cookie realm="tessera-console"');
      }
      return reply.code(status).type('text/html; charset=utf-8').send(layout(page));
    }

    function page(
      reply: Reply,
      signed: SignedInOperator,
      current: NavKey | null,
      title: string,
      body: Html,
      extra: { status?: number; notice?: string; error?: string } = {},
    ): Reply {
      return sendPage(reply, extra.status ?? 200, {
        title,
        body,
        signedIn: {
          operatorName: signed.operator.name,
          csrfToken: signed.csrfToken,
          current,
        },
        ...(extra.notice ? { notice: extra.notice } : {}),
        ...(extra.error ? { error: extra.error } : {}),
      });
    }

    function refuse(request: FastifyRequest, reply: Reply, why: ConsoleRefusal): Reply {
      if (why.kind === 'signed_out') {
        appendCookies(reply, why.setCookies);
        if (request.method === 'GET')
          return reply.code(303).header('location', '/console/sign-in').send();
        return sendPage(reply, 401, {
          title: 'Signed out',
          body: html`<p>Your console session has ended. <a href="/console/sign-in">Sign in again</a>; nothing was done.</p>`,
        });
      }
      const { refusal } = why;
      appendCookies(reply, refusal.setCookies);
      reply.headers(refusal.headers);
      return sendPage(reply, refusal.status, {
        title: refusal.status === 403 ? 'Request refused' : 'Try again',
        body: html`<p>${refusal.description}. Nothing was done.</p><p><a href="/console/overview">Back to the console</a></p>`,
      });
    }

    /** The signed-in operator, or null once a refusal was sent. */
    async function signedIn(
      request: FastifyRequest,
      reply: Reply,
    ): Promise<SignedInOperator | null> {
      const result = await sessions.authenticate(request);
      if ('kind' in result) {
        refuse(request, reply, result);
        return null;
      }
      // Without these the browser would keep the rotated-out pair, and the engine would take
      // it for a stolen copy once the refresh grace window has passed.
      appendCookies(reply, result.setCookies);
      return result;
    }

    const actor = (signed: SignedInOperator, request: FastifyRequest) => ({
      operator: signed.operator,
      consoleSessionId: signed.session.sessionId,
      ip: request.ip,
    });

    function record(
      signed: SignedInOperator,
      request: FastifyRequest,
      action: OperatorAction,
      target: Parameters<typeof recordOperatorAction>[3] = {},
      data: Parameters<typeof recordOperatorAction>[4] = {},
    ) {
      return recordOperatorAction(tessera, actor(signed, request), action, target, data);
    }

    /**
     * Step-up (ASVS 5.0 7.5.1 spirit, RFC 9470): the operator's password again, checked like a
     * sign-in (failures count toward the lock-out), then new tokens and a new CSRF token
     * (ASVS 5.0 7.2.4). Answers the renewed operator state, or null when it sent the prompt again.
     */
    async function stepUp(
      request: FastifyRequest,
      reply: Reply,
      signed: SignedInOperator,
      prompt: (error?: string) => unknown,
    ): Promise<SignedInOperator | null> {
      const password = formField(request.body, 'password', 1024);
      if (password === undefined || password === '') {
        await prompt();
        return null;
      }
      const checked = await accounts.verifyPassword(signed.operator.id, password);
      if (!checked.ok) {
        await record(signed, request, 'step_up_failed', {}, { cause: checked.reason });
        await prompt(STEP_UP_FAILURE);
        return null;
      }
      const core = await sessions.cookies();
      const issued = await core.stepUp(signed.session, ['pwd']);
      if (issued === null) {
        refuse(request, reply, { kind: 'signed_out', setCookies: [] });
        return null;
      }
      appendCookies(reply, issued.setCookies);
      const renewed = {
        operator: signed.operator,
        session: issued.session,
        csrfToken: issued.csrfToken,
        setCookies: [],
      };
      await record(renewed, request, 'stepped_up');
      return renewed;
    }

    // ---- assets and sign-in (no session needed) ----

    app.get('/assets/console.css', hide, (_request, reply) =>
      reply
        .type('text/css; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .send(css),
    );
    app.get('/assets/console.js', hide, (_request, reply) =>
      reply
        .type('text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .send(js),
    );

    app.get('/', hide, (_request, reply) =>
      reply.code(303).header('location', '/console/overview').send(),
    );

    app.get('/sign-in', hide, (_request, reply) =>
      sendPage(reply, 200, { title: 'Sign in', body: signInPage({}) }),
    );

    app.post(
      '/sign-in',
      {
        ...hide,
        config: { rateLimit: { max: signInPerMinute, timeWindow: 60_000 } },
      },
      async (request, reply) => {
        const core = await sessions.cookies();
        const view = consoleRequestView(request, core.csrfHeaderName);
        // Login CSRF first (Fetch Metadata / Origin): a cross-site form must not even count as an attempt.
        const crossSite = checkRequestOrigin(
          view,
          options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {},
        );
        if (crossSite !== null) {
          return sendPage(reply, 403, {
            title: 'Request refused',
            body: html`<p>${crossSite}. Sign in from the console's own page.</p>`,
          });
        }
        const name = formField(request.body, 'name', 256) ?? '';
        const password = formField(request.body, 'password', 1024) ?? '';
        const checked = await accounts.signIn(name, password);
        if (!checked.ok) {
          await recordOperatorAction(
            tessera,
            { operator: checked.operator, consoleSessionId: null, ip: request.ip },
            'sign_in_failed',
            {},
            { name: name.slice(0, 64), cause: checked.reason },
          );
          // One answer for every cause (unknown name, wrong password, disabled, locked): the
          // page tells nobody which names exist or are locked (OWASP Authentication Cheat Sheet).
          return sendPage(reply, 401, {
            title: 'Sign in',
            error: UNIFORM_FAILURE,
            body: signInPage({ name: name.slice(0, 64) }),
          });
        }
        const issued = await core.signIn(view, {
          userId: operatorUserId(checked.operator.id),
          policy: CONSOLE_POLICY,
          authMethods: ['pwd'],
          device: { name: 'Tessera console', platform: 'web' },
          ip: request.ip,
          ...(request.headers['user-agent']
            ? { userAgent: request.headers['user-agent'].slice(0, 512) }
            : {}),
        });
        if ('refusal' in issued)
          return refuse(request, reply, { kind: 'refused', refusal: issued.refusal });
        appendCookies(reply, issued.setCookies);
        // Also in a header, for a script (or `tessera audit`) that signs in without a page.
        reply.header('x-csrf-token', issued.csrfToken);
        await recordOperatorAction(
          tessera,
          {
            operator: checked.operator,
            consoleSessionId: issued.session.sessionId,
            ip: request.ip,
          },
          'signed_in',
        );
        return reply.code(303).header('location', '/console/overview').send();
      },
    );

    app.post('/sign-out', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const core = await sessions.cookies();
      const result = await core.signOut(consoleRequestView(request, core.csrfHeaderName));
      if (!result.ok) return refuse(request, reply, { kind: 'refused', refusal: result.refusal });
      appendCookies(reply, result.setCookies);
      // ASVS 5.0 14.3.1: nothing of the session stays in the browser (its cookies go by Set-Cookie;
      // not "cookies" here, which would also clear other apps' cookies on a shared host).
      reply.header('clear-site-data', '"cache", "storage"');
      await record(signed, request, 'signed_out');
      return reply.code(303).header('location', '/console/sign-in').send();
    });

    // ---- pages ----

    app.get('/overview', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      return page(reply, signed, 'overview', 'Overview', await overviewPage(tessera));
    });

    app.get<{ Querystring: Record<string, unknown> }>('/users', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const userId = formField(request.query, 'user_id', 256)?.trim();
      const notice = formField(request.query, 'notice', 200);
      if (!userId)
        return page(
          reply,
          signed,
          'users',
          'Users',
          html`<p>Which sessions does a user have, from which devices, and why did one end?</p>${userSearch(undefined)}`,
        );
      const now = tessera.clock.now();
      const [live, ended] = await Promise.all([
        tessera.listForUser(userId),
        collectEvents(
          tessera,
          { userId, type: 'session.ended', since: now - 7 * 86_400_000 },
          2000,
        ),
      ]);
      return page(
        reply,
        signed,
        'users',
        `User ${userId}`,
        userPage({
          userId,
          sessions: live,
          ended: ended.events.slice(-50).reverse(),
          csrfToken: signed.csrfToken,
          now,
        }),
        notice ? { notice } : {},
      );
    });

    const backToUser = (reply: Reply, userId: string, notice: string) =>
      reply
        .code(303)
        .header('location', `/console/users${query({ user_id: userId, notice })}`)
        .send();

    app.post('/sessions/end', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const sessionId = formField(request.body, 'session_id', 64);
      if (!sessionId)
        return page(
          reply,
          signed,
          'users',
          'Request refused',
          html`<p>session_id is missing.</p>`,
          { status: 400 },
        );
      const ended = await tessera.end(sessionId, 'admin');
      const userId = ended?.userId ?? formField(request.body, 'user_id', 256) ?? '';
      if (ended) {
        await record(signed, request, 'ended_session', {
          userId: ended.userId,
          sessionId: ended.id,
          ...(ended.device.id ? { deviceId: ended.device.id } : {}),
          reason: 'admin',
        });
      }
      return backToUser(
        reply,
        userId,
        ended ? `Ended session ${sessionId}.` : `Session ${sessionId} had already ended.`,
      );
    });

    app.post('/devices/end', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const userId = formField(request.body, 'user_id', 256);
      const deviceId = formField(request.body, 'device_id', 256);
      if (!userId || !deviceId)
        return page(
          reply,
          signed,
          'users',
          'Request refused',
          html`<p>user_id and device_id are needed.</p>`,
          { status: 400 },
        );
      const ended = await tessera.endDevice(userId, deviceId, 'device_lost');
      await record(
        signed,
        request,
        'ended_device',
        { userId, deviceId, reason: 'device_lost' },
        { ended: ended.length },
      );
      return backToUser(reply, userId, `Ended ${ended.length} session(s) of device ${deviceId}.`);
    });

    const endAllPrompt = (reply: Reply, signed: SignedInOperator, userId: string, error?: string) =>
      page(
        reply,
        signed,
        'users',
        `End all sessions of ${userId}`,
        stepUpPage({
          action: '/console/users/end-all',
          what: `end every session of ${userId}`,
          fields: { user_id: userId },
          csrfToken: signed.csrfToken,
        }),
        { status: error ? 401 : 200, ...(error ? { error } : {}) },
      );

    app.get<{ Querystring: Record<string, unknown> }>(
      '/users/end-all',
      hide,
      async (request, reply) => {
        const signed = await signedIn(request, reply);
        if (!signed) return reply;
        const userId = formField(request.query, 'user_id', 256)?.trim();
        if (!userId) return reply.code(303).header('location', '/console/users').send();
        return endAllPrompt(reply, signed, userId);
      },
    );

    app.post('/users/end-all', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const userId = formField(request.body, 'user_id', 256)?.trim();
      if (!userId)
        return page(reply, signed, 'users', 'Request refused', html`<p>user_id is missing.</p>`, {
          status: 400,
        });
      const renewed = await stepUp(request, reply, signed, (error) =>
        endAllPrompt(reply, signed, userId, error ?? 'Enter your password to confirm.'),
      );
      if (!renewed) return reply;
      const ended = await tessera.endAllForUser(userId, 'admin');
      await record(
        renewed,
        request,
        'ended_user_sessions',
        { userId, reason: 'admin' },
        { ended: ended.length },
      );
      return backToUser(reply, userId, `Ended all ${ended.length} session(s) of ${userId}.`);
    });

    app.get<{ Querystring: Record<string, unknown> }>('/events', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const filters = feedFilters(request.query);
      const recent = await collectEvents(
        tessera,
        {
          since: tessera.clock.now() - 3_600_000,
          ...(filters.userId ? { userId: filters.userId } : {}),
          ...(filters.type ? { type: filters.type } : {}),
        },
        5000,
      );
      const shown = recent.events
        .filter((e) => filters.reason === undefined || e.reason === filters.reason)
        .slice(-100)
        .reverse();
      return page(
        reply,
        signed,
        'events',
        'Live events',
        eventsPage({ filters, events: shown, cursor: recent.cursor }),
      );
    });

    app.get<{ Querystring: Record<string, unknown> }>(
      '/events/stream',
      hide,
      async (request, reply) => {
        const signed = await signedIn(request, reply);
        if (!signed) return reply;
        const lastEventId = request.headers['last-event-id'];
        const after = formField(request.query, 'after', 64);
        const cursor = isFeedCursor(typeof lastEventId === 'string' ? lastEventId : undefined)
          ? (lastEventId as string)
          : isFeedCursor(after)
            ? after
            : null;
        if (!feed.hasRoom()) {
          // The browser's EventSource retries by itself; another node may have room.
          return reply
            .code(503)
            .header('retry-after', '5')
            .type('text/plain; charset=utf-8')
            .send('too many live feeds on this node; retrying shortly');
        }
        feed.stream(reply, {
          consoleSessionId: signed.session.sessionId,
          filters: feedFilters(request.query),
          cursor,
        });
        return reply;
      },
    );

    app.get<{ Querystring: Record<string, unknown> }>('/account', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const notice = formField(request.query, 'notice', 200);
      return accountView(reply, signed, notice ? { notice } : {});
    });

    async function accountView(
      reply: Reply,
      signed: SignedInOperator,
      extra: Parameters<typeof page>[5] = {},
    ) {
      const mine = await tessera.listForUser(operatorUserId(signed.operator.id));
      return page(
        reply,
        signed,
        'account',
        'Your account',
        accountPage({
          operatorName: signed.operator.name,
          sessions: mine,
          currentSessionId: signed.session.sessionId,
          csrfToken: signed.csrfToken,
          now: tessera.clock.now(),
        }),
        extra,
      );
    }

    app.post('/account/password', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const current = formField(request.body, 'current_password', 1024) ?? '';
      const next = formField(request.body, 'new_password', 1024) ?? '';
      let changed: Awaited<ReturnType<typeof accounts.changePassword>>;
      try {
        changed = await accounts.changePassword(signed.operator.id, {
          current,
          next,
          keepSessionId: signed.session.sessionId,
        });
      } catch (error) {
        if (!isTesseraError(error, 'invalid_argument')) throw error;
        return accountView(reply, signed, {
          status: 400,
          error: `${error.message}. Nothing changed.`,
        });
      }
      if (!changed.ok) {
        await record(signed, request, 'change_password_failed', {}, { cause: changed.reason });
        return accountView(reply, signed, { status: 401, error: STEP_UP_FAILURE });
      }
      await record(signed, request, 'changed_password', {}, { ended: changed.endedSessions ?? 0 });
      return reply
        .code(303)
        .header(
          'location',
          `/console/account${query({ notice: `Password changed; ended ${changed.endedSessions ?? 0} other session(s).` })}`,
        )
        .send();
    });

    app.post('/account/sign-out-everywhere', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const ended = await tessera.endAllForUser(operatorUserId(signed.operator.id), 'logout_all');
      await record(signed, request, 'signed_out_everywhere', {}, { ended: ended.length });
      const core = await sessions.cookies();
      // The session is already ended: signing out now only clears this browser's cookies.
      const cleared = await core.signOut({ method: 'GET', header: () => undefined });
      if (cleared.ok) appendCookies(reply, cleared.setCookies);
      return reply.code(303).header('location', '/console/sign-in').send();
    });

    app.get('/policies', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      return page(
        reply,
        signed,
        'policies',
        'Policies',
        policiesPage({ policies: tessera.policies, defaultPolicy: tessera.defaultPolicy }),
      );
    });

    async function keysView(
      reply: Reply,
      signed: SignedInOperator,
      extra: Parameters<typeof page>[5] = {},
      created?: Parameters<typeof keysPage>[0]['created'],
    ) {
      const keys = await tessera.listServiceKeys();
      return page(
        reply,
        signed,
        'keys',
        'Service keys',
        keysPage({ keys, csrfToken: signed.csrfToken, ...(created ? { created } : {}) }),
        extra,
      );
    }

    app.get<{ Querystring: Record<string, unknown> }>('/keys', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const notice = formField(request.query, 'notice', 200);
      return keysView(reply, signed, notice ? { notice } : {});
    });

    app.post('/keys', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const name = formField(request.body, 'name', 100)?.trim() ?? '';
      const raw = (request.body as Record<string, unknown> | null)?.['scopes'];
      const listed = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : [];
      const scopes = listed.filter(
        (s): s is Scope => typeof s === 'string' && (SCOPES as readonly string[]).includes(s),
      );
      if (name === '' || scopes.length === 0 || scopes.length !== listed.length) {
        return keysView(reply, signed, {
          status: 400,
          error:
            'A key needs a name (1–100 characters) and at least one known scope. Nothing was created.',
        });
      }
      const renewed = await stepUp(request, reply, signed, (error) =>
        keysView(reply, signed, {
          status: 401,
          error: error ?? 'Enter your password to create a key.',
        }),
      );
      if (!renewed) return reply;
      const created = await tessera.createServiceKey({ name, scopes });
      await record(
        renewed,
        request,
        'created_service_key',
        {},
        {
          key_id: created.record.id,
          key_name: created.record.name,
          scopes: created.record.scopes,
        },
      );
      return keysView(reply, renewed, {}, created);
    });

    app.post('/keys/revoke', hide, async (request, reply) => {
      const signed = await signedIn(request, reply);
      if (!signed) return reply;
      const keyId = formField(request.body, 'key_id', 64);
      const revoked = keyId ? await tessera.revokeServiceKey(keyId) : false;
      if (revoked)
        await record(signed, request, 'revoked_service_key', {}, { key_id: keyId ?? null });
      return reply
        .code(303)
        .header(
          'location',
          `/console/keys${query({ notice: revoked ? `Revoked key ${keyId}.` : 'No active key with that id.' })}`,
        )
        .send();
    });
  };
}

function feedFilters(source: unknown) {
  const userId = formField(source, 'user_id', 256)?.trim() || undefined;
  const typeText = formField(source, 'type', 64);
  const reasonText = formField(source, 'reason', 64);
  const type = (EVENT_TYPES as readonly string[]).includes(typeText ?? '')
    ? (typeText as SessionEventType)
    : undefined;
  const reason = (END_REASONS as readonly string[]).includes(reasonText ?? '')
    ? reasonText
    : undefined;
  return {
    ...(userId ? { userId } : {}),
    ...(type ? { type } : {}),
    ...(reason ? { reason } : {}),
  };
}
