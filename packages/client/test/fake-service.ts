/**
 * An in-memory stand-in for the Tessera token endpoints, with the service's rotation rules: each
 * refresh rotates, the parent presented again within the grace window returns the same pair.
 * It counts refreshes and can drop answers or go offline to model a phone's network.
 */
export interface FakeService {
  fetch: typeof fetch;
  now(): number;
  advance(ms: number): void;
  refreshCount: number;
  revoked: string[];
  offline: boolean;
  /** When set, the next /v1/token rotates on the server and then the answer is lost. */
  dropNextTokenAnswer: boolean;
  /** When set, every token is refused with this `tessera_reason`. */
  endReason: string | undefined;
  signIn(): { access_token: string; refresh_token: string; expires_in: number; token_type: string };
}

export function createFakeService(accessTtlSeconds = 300): FakeService {
  let now = 0;
  let counter = 0;
  const children = new Map<string, ReturnType<FakeService['signIn']>>();
  const liveRefresh = new Set<string>();
  const accessExpiry = new Map<string, number>();
  const issue = () => {
    counter += 1;
    const pair = {
      access_token: `at${counter}`,
      refresh_token: `rt${counter}`,
      expires_in: accessTtlSeconds,
      token_type: 'Bearer',
    };
    liveRefresh.add(pair.refresh_token);
    accessExpiry.set(pair.access_token, now + accessTtlSeconds * 1000);
    return pair;
  };
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });

  const service: FakeService = {
    refreshCount: 0,
    revoked: [],
    offline: false,
    dropNextTokenAnswer: false,
    endReason: undefined,
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    signIn: issue,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      // Let concurrent callers interleave as they would on a real network.
      await new Promise((resolve) => setImmediate(resolve));
      if (service.offline) throw new TypeError('fetch failed');
      const path = new URL(request.url).pathname;
      if (path === '/v1/token') {
        service.refreshCount += 1;
        const token = new URLSearchParams(await request.text()).get('refresh_token') ?? '';
        if (service.endReason !== undefined || service.revoked.includes(token)) {
          return json(400, {
            error: 'invalid_grant',
            tessera_reason: service.endReason ?? 'logout',
          });
        }
        let answer = children.get(token); // grace window: the same pair again
        if (answer === undefined) {
          if (!liveRefresh.has(token)) return json(400, { error: 'invalid_grant' });
          liveRefresh.delete(token);
          answer = issue();
          children.set(token, answer);
        }
        if (service.dropNextTokenAnswer) {
          service.dropNextTokenAnswer = false;
          throw new TypeError('connection reset');
        }
        return json(200, answer);
      }
      if (path === '/v1/revoke') {
        service.revoked.push(new URLSearchParams(await request.text()).get('token') ?? '');
        return new Response(null, { status: 200 });
      }
      const access = (request.headers.get('authorization') ?? '').replace(/^Bearer /, '');
      if (service.endReason !== undefined) {
        return json(401, { error: 'invalid_token', tessera_reason: service.endReason });
      }
      const expiry = accessExpiry.get(access);
      if (expiry === undefined) return json(401, { error: 'invalid_token' });
      if (now >= expiry) {
        return json(401, { error: 'invalid_token', tessera_reason: 'access_token_expired' });
      }
      return json(200, { ok: true, access });
    },
  };
  return service;
}
