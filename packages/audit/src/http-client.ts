import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** One answer, with every `Set-Cookie` kept separate. */
export interface HttpAnswer {
  status: number;
  /** Lower-cased names; repeated headers joined with ", " (Set-Cookie is in `setCookies`). */
  headers: Record<string, string>;
  setCookies: string[];
  body: string;
  /** The URL that produced this answer (after same-origin redirects, when followed). */
  url: string;
  /** Every answer of a followed redirect chain, first to last, including this one. */
  chain: { url: string; status: number; location?: string; setCookies: string[] }[];
  /** Epoch milliseconds when the answer arrived. */
  receivedAtMs: number;
}

export interface HttpRequest {
  method: string;
  /** Path and query on the base URL, or an absolute URL (refused unless same origin). */
  url: string;
  headers?: Record<string, string>;
  body?: string;
  followRedirects?: boolean;
  /** Skip the rate-limit queue: used by timed probes whose schedule matters more than pacing. */
  priority?: boolean;
}

/** Why a request was not sent. These are infrastructure failures, so they are thrown. */
export type HttpFailureCode = 'origin_refused' | 'budget_exhausted' | 'unreachable' | 'timeout';

export class AuditHttpError extends Error {
  readonly code: HttpFailureCode;
  constructor(code: HttpFailureCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditHttpError';
    this.code = code;
  }
}

export interface HttpClientOptions {
  baseUrl: URL;
  requestsPerSecond: number;
  maxRequests: number;
  /** Wall-clock deadline (epoch ms) after which nothing more is sent. */
  deadlineMs: number;
  requestTimeoutSeconds: number;
  /** Called when the client waits on a 429. */
  onWait?: (message: string) => void;
  /** Longest Retry-After the client honours before giving up on a request. @default 60 */
  maxRetryAfterSeconds?: number;
}

export interface HttpClient {
  send(request: HttpRequest): Promise<HttpAnswer>;
  /** Requests sent so far (including retries). */
  readonly count: number;
  /** 429 answers seen. */
  readonly throttled: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds to wait according to a Retry-After header (delta-seconds or an HTTP date). */
export function retryAfterSeconds(value: string | undefined, nowMs = Date.now()): number | null {
  if (value === undefined) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - nowMs) / 1000);
}

/**
 * An HTTP client locked to one origin. The audit must never touch another host (safety rule
 * §3.5), so every URL, including each redirect hop, is resolved and compared with the base
 * origin before anything is sent. Requests are paced, counted and bounded by a deadline, and a
 * 429 is honoured with its Retry-After.
 *
 * @example
 * const http = createHttpClient({ baseUrl: new URL('http://127.0.0.1:3000'), requestsPerSecond: 20, maxRequests: 1000, deadlineMs: Date.now() + 60_000, requestTimeoutSeconds: 10 });
 * const answer = await http.send({ method: 'GET', url: '/me' });
 */
export function createHttpClient({
  baseUrl,
  requestsPerSecond,
  maxRequests,
  deadlineMs,
  requestTimeoutSeconds,
  onWait,
  maxRetryAfterSeconds = 60,
}: HttpClientOptions): HttpClient {
  const intervalMs = 1000 / requestsPerSecond;
  let nextSlotMs = 0;
  let count = 0;
  let throttled = 0;

  async function pace(priority: boolean): Promise<void> {
    const now = Date.now();
    if (priority) {
      nextSlotMs = Math.max(nextSlotMs, now) + intervalMs;
      return;
    }
    const slot = Math.max(nextSlotMs, now);
    nextSlotMs = slot + intervalMs;
    if (slot > now) await sleep(slot - now);
  }

  function resolve(url: string): URL {
    const resolved = new URL(url, baseUrl);
    if (resolved.origin !== baseUrl.origin) {
      throw new AuditHttpError(
        'origin_refused',
        `refused to contact ${resolved.origin}: only ${baseUrl.origin} may be contacted`,
      );
    }
    return resolved;
  }

  function once(url: URL, req: HttpRequest): Promise<Omit<HttpAnswer, 'chain'>> {
    return new Promise((resolvePromise, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const headers: Record<string, string> = {
        'user-agent': 'tessera-audit/0.1',
        ...(req.headers ?? {}),
      };
      if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
      const r = send(
        url,
        { method: req.method, headers, timeout: requestTimeoutSeconds * 1000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const flat: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              if (name === 'set-cookie' || value === undefined) continue;
              flat[name] = Array.isArray(value) ? value.join(', ') : value;
            }
            resolvePromise({
              status: res.statusCode ?? 0,
              headers: flat,
              setCookies: res.headers['set-cookie'] ?? [],
              body: Buffer.concat(chunks).toString('utf8'),
              url: url.href,
              receivedAtMs: Date.now(),
            });
          });
        },
      );
      r.on('timeout', () =>
        r.destroy(
          new AuditHttpError(
            'timeout',
            `${req.method} ${url.pathname} timed out after ${requestTimeoutSeconds} s`,
          ),
        ),
      );
      r.on('error', (e) =>
        reject(
          e instanceof AuditHttpError
            ? e
            : new AuditHttpError(
                'unreachable',
                `${url.origin} is unreachable (${(e as NodeJS.ErrnoException).code ?? e.message})`,
                { cause: e },
              ),
        ),
      );
      if (req.body !== undefined) r.write(req.body);
      r.end();
    });
  }

  async function sendOne(url: URL, req: HttpRequest): Promise<Omit<HttpAnswer, 'chain'>> {
    for (let attempt = 0; ; attempt++) {
      if (count >= maxRequests)
        throw new AuditHttpError('budget_exhausted', `request budget of ${maxRequests} exhausted`);
      if (Date.now() > deadlineMs)
        throw new AuditHttpError('budget_exhausted', 'time budget exhausted');
      await pace(req.priority ?? false);
      count++;
      const answer = await once(url, req);
      if (answer.status !== 429 || attempt >= 3) return answer;
      throttled++;
      const wait = retryAfterSeconds(answer.headers['retry-after']) ?? 2 ** attempt;
      if (wait > maxRetryAfterSeconds || Date.now() + wait * 1000 > deadlineMs) return answer;
      onWait?.(`429 from ${url.pathname}: waiting ${wait.toFixed(0)} s as Retry-After asks`);
      // Back off the whole client, not just this request: the server asked us to slow down.
      nextSlotMs = Math.max(nextSlotMs, Date.now() + wait * 1000);
      await sleep(wait * 1000);
    }
  }

  return {
    get count() {
      return count;
    },
    get throttled() {
      return throttled;
    },
    async send(req) {
      let url = resolve(req.url);
      const chain: HttpAnswer['chain'] = [];
      let current = req;
      for (let hop = 0; ; hop++) {
        const answer = await sendOne(url, current);
        const location = answer.headers['location'];
        chain.push({
          url: url.href,
          status: answer.status,
          setCookies: answer.setCookies,
          ...(location ? { location } : {}),
        });
        const redirect = answer.status >= 300 && answer.status < 400 && location !== undefined;
        if (!redirect || !req.followRedirects || hop >= 5) return { ...answer, chain };
        url = resolve(new URL(location, url).href);
        // A followed redirect becomes a GET without a body, as browsers do for 301/302/303.
        const { body: _body, ...rest } = current;
        current = {
          ...rest,
          method: answer.status === 307 || answer.status === 308 ? current.method : 'GET',
        };
        if (
          current.method === req.method &&
          req.body !== undefined &&
          (answer.status === 307 || answer.status === 308)
        )
          current.body = req.body;
      }
    },
  };
}
