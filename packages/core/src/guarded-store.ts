import { isTesseraError, TesseraError } from './errors.js';
import type { SessionStore } from './store.js';
import { WEBHOOK_VERBS } from './webhooks.js';

const STORE_VERBS = [
  'createSession',
  'getSession',
  'findByAccessTokenHash',
  'findByRefreshTokenHash',
  'rotateSession',
  'touchSession',
  'endSession',
  'endSessionsForUser',
  'listSessionsForUser',
  'appendEvent',
  'queryEvents',
  'purge',
  'createServiceKey',
  'findServiceKeyByHash',
  'listServiceKeys',
  'revokeServiceKey',
  'rememberDpopJti',
  'countLiveSessionsByPolicy',
  'createOperator',
  'getOperator',
  'findOperatorByName',
  'listOperators',
  'setOperatorPassword',
  'setOperatorDisabled',
  'recordOperatorFailure',
  'recordOperatorSignIn',
  'consoleSecret',
  'ping',
  'close',
] as const satisfies readonly (keyof SessionStore)[];

/** Optional verbs (node leases), guarded the same way when the adapter has them. */
const OPTIONAL_VERBS = [
  'renewNodeLease',
  'releaseNodeLease',
  'deliverInvalidation',
  'ackInvalidations',
  'unackedNodes',
] as const satisfies readonly (keyof SessionStore)[];

/**
 * Wraps a store so that every failure it reports reaches callers as a `TesseraError` with code
 * `store_unavailable` (unless the adapter already chose a code). Drivers throw their own error
 * types (a closed socket, a connection timeout); translating them here, once, lets the server
 * answer 503 for all of them and never mistake an outage for bad input or a bug.
 */
export function guardStore(store: SessionStore): SessionStore {
  const translate = (error: unknown): never => {
    if (isTesseraError(error)) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new TesseraError('store_unavailable', `the session store failed: ${detail}`, {
      cause: error,
    });
  };
  const guarded: Record<string, unknown> = {};
  const present = [...OPTIONAL_VERBS, ...WEBHOOK_VERBS].filter(
    (name) => typeof store[name] === 'function',
  );
  for (const name of [...STORE_VERBS, ...present]) {
    const verb = store[name] as (...args: unknown[]) => Promise<unknown>;
    guarded[name] = (...args: unknown[]) => {
      try {
        return verb.apply(store, args).then(undefined, translate);
      } catch (error) {
        return Promise.reject(error).then(undefined, translate);
      }
    };
  }
  if (store.subscribeInvalidations) {
    guarded.subscribeInvalidations = store.subscribeInvalidations.bind(store);
  }
  return guarded as unknown as SessionStore;
}
