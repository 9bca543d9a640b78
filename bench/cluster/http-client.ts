import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * One keep-alive pool for the whole benchmark: a poll must cost one request round trip, not a
 * TCP handshake as well, or the measured propagation delay would mostly be connection set-up.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
let closed = false;

export interface Answer {
  status: number;
  /** `performance.now()` when the status line and headers arrived. */
  at: number;
  body: string;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Skip reading the body into a string (it is still drained, so the socket is reused). */
  discardBody?: boolean;
}

/**
 * One HTTP request on the shared keep-alive agent. The answer's time is taken when its headers
 * arrive: from that moment the client knows the outcome.
 *
 * @example
 * const { status } = await call('http://127.0.0.1:8787/v1/session', { headers: { authorization } });
 */
export function call(url: string, options: CallOptions = {}): Promise<Answer> {
  const { method = 'GET', headers = {}, body, discardBody = false } = options;
  return new Promise((resolve, reject) => {
    if (closed) {
      reject(new Error('the benchmark is stopping'));
      return;
    }
    const req = request(url, { method, agent, headers }, (res) => {
      const at = performance.now();
      const status = res.statusCode ?? 0;
      if (discardBody) {
        res.resume();
        res.once('end', () => resolve({ status, at, body: '' }));
      } else {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.once('end', () => resolve({ status, at, body: text }));
      }
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Closes every connection and refuses new requests: the loops that keep nodes busy stop, and
 * the nodes can finish their graceful shutdown (which waits for open connections to go idle).
 */
export function closeConnections(): void {
  closed = true;
  agent.destroy();
}
