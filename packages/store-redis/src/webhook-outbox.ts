import {
  type ClaimedWebhookDelivery,
  type NewSessionEvent,
  type SessionEvent,
  TesseraError,
  type WebhookDeliveryRecord,
  type WebhookOutbox,
  type WebhookSubscriptionRecord,
} from '@tessera/core';
import { eventToFields } from './event-codec.js';
import { toFieldMap } from './record-codec.js';
import { luaScript, type RedisLink } from './redis-link.js';

/**
 * The webhook keys. Their hash tag is the name of the event stream, `{<prefix>events}`, so
 * they live in the slot of the stream `<prefix>events` itself (a key without braces hashes
 * whole): the script that appends an event can write its deliveries too, atomically, on a
 * Cluster as well. None expires; finished deliveries are dropped after 30 days.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `…:wh:subs` | hash | subscription id → its record (JSON) |
 * | `…:wh:routes` | hash | id → comma-separated event types, for enabled subscriptions only |
 * | `…:wh:deliveries` | hash | delivery id → the event (JSON, without its id); never changes |
 * | `…:wh:state` | hash | delivery id → state, attempts, last attempt (JSON) after an attempt |
 * | `…:wh:due` | sorted set | pending delivery ids by next attempt; a claim moves one to the end of its lease |
 * | `…:wh:owners` | hash | delivery id → owner of its latest claim |
 * | `…:wh:parked` | sorted set | pending deliveries of disabled subscriptions, by next attempt (back to due on enable) |
 * | `…:wh:all` | sorted set | every delivery id by its event's time (listing, retention) |
 */
export function webhookKeys(prefix: string) {
  const tag = `${prefix}{${prefix}events}:wh:`;
  return {
    subs: `${tag}subs`,
    routes: `${tag}routes`,
    deliveries: `${tag}deliveries`,
    state: `${tag}state`,
    due: `${tag}due`,
    owners: `${tag}owners`,
    parked: `${tag}parked`,
    all: `${tag}all`,
  };
}

/** How long finished (delivered or failed) deliveries stay listed on Redis. */
const FINISHED_RETENTION_MS = 30 * 24 * 60 * 60_000;

/**
 * KEYS: events stream, routes, deliveries, due, all. ARGV: maxlen, type, at, event JSON, then
 * the stream entry's fields. Appends the event and, in the same script (one atomic, replicated
 * unit), one pending delivery per enabled subscription of its type. Returns the event id.
 */
const APPEND_EVENT = luaScript(`
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 5))
local routes = redis.call('HGETALL', KEYS[2])
local needle = ',' .. ARGV[2] .. ','
for i = 1, #routes, 2 do
  if string.find(',' .. routes[i + 1] .. ',', needle, 1, true) then
    local delivery = 'msg_' .. routes[i] .. '_' .. id
    redis.call('HSET', KEYS[3], delivery, ARGV[4])
    redis.call('ZADD', KEYS[4], ARGV[3], delivery)
    redis.call('ZADD', KEYS[5], ARGV[3], delivery)
  end
end
return id
`);

/**
 * KEYS: subs, routes, due, parked. ARGV: id, expected JSON ('' = must not exist), new JSON,
 * route ('' = disabled). Compare-and-set of a subscription: -1 when it changed meanwhile.
 * Enabling puts its parked deliveries back in due, each at its time.
 */
const SET_SUBSCRIPTION = luaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
  local head = 'msg_' .. ARGV[1] .. '_'
  local parked = redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')
  for i = 1, #parked, 2 do
    if string.sub(parked[i], 1, #head) == head then
      redis.call('ZREM', KEYS[4], parked[i])
      redis.call('ZADD', KEYS[3], parked[i + 1], parked[i])
    end
  end
end
return 1
`);

/**
 * KEYS: due, owners, routes, parked. ARGV: now, lease end, limit, owner. Leases up to `limit`
 * due deliveries of enabled subscriptions (moves them to the lease end, records the owner);
 * those of disabled subscriptions are parked. Returns the leased ids.
 */
const CLAIM = luaScript(`
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0,
  tonumber(ARGV[3]))
for i = 1, #due, 2 do
  local delivery = due[i]
  local subscription = string.match(delivery, '^msg_([^_]+)_')
  if subscription and redis.call('HEXISTS', KEYS[3], subscription) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[2], delivery)
    redis.call('HSET', KEYS[2], delivery, ARGV[4])
    table.insert(out, delivery)
  else
    redis.call('ZREM', KEYS[1], delivery)
    redis.call('ZADD', KEYS[4], due[i + 1], delivery)
  end
end
return out
`);

/**
 * KEYS: due, owners, state, all, deliveries, parked. ARGV: id, owner, state JSON, '1' if still
 * pending, next attempt, retention cutoff. Applies an attempt only for the owner of the latest
 * claim of a pending delivery; then drops a few finished deliveries older than the cutoff.
 */
const COMPLETE = luaScript(`
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[6], 'LIMIT', 0, 20)) do
  if not redis.call('ZSCORE', KEYS[1], old) and not redis.call('ZSCORE', KEYS[6], old) then
    redis.call('ZREM', KEYS[4], old)
    redis.call('HDEL', KEYS[5], old)
    redis.call('HDEL', KEYS[3], old)
  end
end
return 1
`);

interface DeliveryState {
  state: WebhookDeliveryRecord['state'];
  attempts: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

const DELIVERY_ID = /^msg_([^_]+)_(.+)$/;

/**
 * Appends an event with its outbox rows (the Redis `appendEvent`, minus the per-user index,
 * which the store writes after).
 */
export async function appendEventWithOutbox(
  link: RedisLink,
  prefix: string,
  eventsKey: string,
  maxLength: number,
  event: NewSessionEvent,
): Promise<string> {
  const keys = webhookKeys(prefix);
  return String(
    await link.run(
      APPEND_EVENT,
      [eventsKey, keys.routes, keys.deliveries, keys.due, keys.all],
      [
        String(maxLength),
        event.type,
        String(event.at),
        JSON.stringify(event),
        ...eventToFields(event),
      ],
    ),
  );
}

export function redisWebhookVerbs(link: RedisLink, prefix: string): WebhookOutbox {
  const keys = webhookKeys(prefix);
  const send = (args: string[]) => link.send(keys.subs, args);

  async function getRaw(id: string): Promise<string | null> {
    const raw = await send(['HGET', keys.subs, id]);
    return typeof raw === 'string' ? raw : null;
  }

  /** Read, change, compare-and-set; retried when another node changed it in between. */
  async function update(
    id: string,
    change: (current: WebhookSubscriptionRecord) => WebhookSubscriptionRecord | null,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await getRaw(id);
      if (raw === null) return false;
      const next = change(JSON.parse(raw) as WebhookSubscriptionRecord);
      if (next === null) return false;
      const result = await link.run(
        SET_SUBSCRIPTION,
        [keys.subs, keys.routes, keys.due, keys.parked],
        [id, raw, JSON.stringify(next), routeOf(next)],
      );
      if (Number(result) === 1) return true;
    }
    throw new TesseraError('store_unavailable', 'redis: the subscription kept changing');
  }

  async function listSubscriptions(): Promise<WebhookSubscriptionRecord[]> {
    const all = toFieldMap(await send(['HGETALL', keys.subs]));
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as WebhookSubscriptionRecord)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async function records(ids: string[]): Promise<WebhookDeliveryRecord[]> {
    if (ids.length === 0) return [];
    const [events, states, scores] = (await Promise.all([
      send(['HMGET', keys.deliveries, ...ids]),
      send(['HMGET', keys.state, ...ids]),
      send(['ZMSCORE', keys.due, ...ids]),
    ])) as [Array<string | null>, Array<string | null>, Array<string | number | null>];
    const out: WebhookDeliveryRecord[] = [];
    ids.forEach((id, i) => {
      const eventJson = events[i];
      const match = DELIVERY_ID.exec(id);
      if (typeof eventJson !== 'string' || !match) return;
      const event = JSON.parse(eventJson) as NewSessionEvent;
      const stateJson = states[i];
      const state: DeliveryState =
        typeof stateJson === 'string'
          ? (JSON.parse(stateJson) as DeliveryState)
          : {
              state: 'pending',
              attempts: 0,
              nextAttemptAt: event.at,
              lastAttemptAt: null,
              lastStatus: null,
              lastError: null,
              deliveredAt: null,
            };
      const score = scores[i];
      out.push({
        id,
        subscriptionId: match[1] as string,
        eventId: match[2] as string,
        eventType: event.type,
        createdAt: event.at,
        ...state,
        nextAttemptAt:
          state.state === 'pending' && score !== null && score !== undefined
            ? Number(score)
            : state.nextAttemptAt,
      });
    });
    return out;
  }

  return {
    async createWebhookSubscription(subscription) {
      const result = await link.run(
        SET_SUBSCRIPTION,
        [keys.subs, keys.routes, keys.due, keys.parked],
        [subscription.id, '', JSON.stringify(subscription), routeOf(subscription)],
      );
      if (Number(result) !== 1) {
        throw new TesseraError('store_conflict', 'a webhook subscription with this id exists');
      }
    },
    async getWebhookSubscription(id) {
      const raw = await getRaw(id);
      return raw === null ? null : (JSON.parse(raw) as WebhookSubscriptionRecord);
    },
    listWebhookSubscriptions: listSubscriptions,
    async setWebhookSubscriptionDisabled(id, at, reason) {
      return update(id, (current) =>
        (current.disabledAt === null) === (at === null)
          ? null
          : { ...current, disabledAt: at, disabledReason: at === null ? null : reason },
      );
    },
    async rotateWebhookSecret(id, rotation) {
      return update(id, (current) => ({ ...current, ...rotation }));
    },
    async claimWebhookDeliveries({ owner, now, leaseMs, limit }) {
      const ids = (await link.run(
        CLAIM,
        [keys.due, keys.owners, keys.routes, keys.parked],
        [String(now), String(now + leaseMs), String(limit), owner],
      )) as string[];
      if (ids.length === 0) return [];
      const [deliveries, rawEvents, subscriptions] = await Promise.all([
        records(ids),
        send(['HMGET', keys.deliveries, ...ids]) as Promise<Array<string | null>>,
        listSubscriptions(),
      ]);
      const byId = new Map(subscriptions.map((s) => [s.id, s]));
      const out: ClaimedWebhookDelivery[] = [];
      deliveries.forEach((delivery) => {
        const raw = rawEvents[ids.indexOf(delivery.id)];
        const subscription = byId.get(delivery.subscriptionId);
        if (typeof raw !== 'string' || !subscription) return;
        const event: SessionEvent = {
          ...(JSON.parse(raw) as NewSessionEvent),
          id: delivery.eventId,
        };
        out.push({
          delivery,
          event,
          subscription: {
            id: subscription.id,
            url: subscription.url,
            secret: subscription.secret,
            previousSecret: subscription.previousSecret,
            previousSecretExpiresAt: subscription.previousSecretExpiresAt,
          },
        });
      });
      return out.sort((a, b) => a.delivery.createdAt - b.delivery.createdAt);
    },
    async completeWebhookDelivery({ id, owner, at, outcome }) {
      const [current] = await records([id]);
      if (!current) return false;
      const state: DeliveryState = {
        state: outcome.state,
        attempts: current.attempts + 1,
        nextAttemptAt: outcome.state === 'pending' ? outcome.nextAttemptAt : null,
        lastAttemptAt: at,
        lastStatus: outcome.status,
        lastError: outcome.state === 'delivered' ? null : outcome.error,
        deliveredAt: outcome.state === 'delivered' ? at : null,
      };
      const result = await link.run(
        COMPLETE,
        [keys.due, keys.owners, keys.state, keys.all, keys.deliveries, keys.parked],
        [
          id,
          owner,
          JSON.stringify(state),
          outcome.state === 'pending' ? '1' : '0',
          String(state.nextAttemptAt ?? 0),
          String(at - FINISHED_RETENTION_MS),
        ],
      );
      return Number(result) === 1;
    },
    async listWebhookDeliveries({ subscriptionId, state, limit = 100 }) {
      const out: WebhookDeliveryRecord[] = [];
      const chunk = 500;
      for (let offset = 0; out.length < limit; offset += chunk) {
        const ids = (await send([
          'ZRANGE',
          keys.all,
          String(offset),
          String(offset + chunk - 1),
          'REV',
        ])) as string[];
        if (ids.length === 0) break;
        const wanted = subscriptionId
          ? ids.filter((id) => id.startsWith(`msg_${subscriptionId}_`))
          : ids;
        for (const record of await records(wanted)) {
          if (state === undefined || record.state === state) out.push(record);
        }
        if (ids.length < chunk) break;
      }
      return out
        .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
        .slice(0, limit);
    },
  };
}

function routeOf(subscription: WebhookSubscriptionRecord): string {
  return subscription.disabledAt === null ? subscription.eventTypes.join(',') : '';
}
