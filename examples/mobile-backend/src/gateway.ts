import { EventEmitter } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The phone's network: one origin in front of the Tessera service (`/v1/…`) and the app's backend
 * (everything else), as a gateway would be in production. It also lets the demo play what
 * phones meet in real life: the network going away (`offline`) and an answer that never arrives
 * (`holdTokenAnswers`: the service has rotated the refresh token, the phone never hears of it).
 */
export interface Gateway {
  readonly url: string;
  setUpstreams(upstreams: { service: string; app: string }): void;
  /** While true, every connection is reset before a byte is forwarded. */
  offline: boolean;
  /** While true, answers of `POST /v1/token` are swallowed after the service has sent them. */
  holdTokenAnswers: boolean;
  /** `'held'` each time an answer of the token endpoint was swallowed. */
  readonly events: EventEmitter;
  /** Requests forwarded, by `METHOD /path`. */
  count(route: string): number;
  close(): Promise<void>;
}

export async function startGateway(): Promise<Gateway> {
  let upstreams: { service: URL; app: URL } | null = null;
  const counts = new Map<string, number>();
  const events = new EventEmitter();
  const state = { offline: false, holdTokenAnswers: false };

  function forward(req: IncomingMessage, res: ServerResponse) {
    if (state.offline || upstreams === null) {
      req.socket.destroy();
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = `${req.method} ${path}`;
    counts.set(route, (counts.get(route) ?? 0) + 1);
    const target = path.startsWith('/v1/') ? upstreams.service : upstreams.app;
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        if (state.holdTokenAnswers && route === 'POST /v1/token') {
          // The service has done its work (rotated, persisted); the phone never gets the answer.
          answer.resume();
          answer.once('end', () => events.emit('held'));
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  const server = createServer(forward);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    setUpstreams(next) {
      upstreams = { service: new URL(next.service), app: new URL(next.app) };
    },
    get offline() {
      return state.offline;
    },
    set offline(value) {
      state.offline = value;
    },
    get holdTokenAnswers() {
      return state.holdTokenAnswers;
    },
    set holdTokenAnswers(value) {
      state.holdTokenAnswers = value;
    },
    events,
    count: (route) => counts.get(route) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
