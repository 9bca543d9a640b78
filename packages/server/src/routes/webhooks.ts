import { type Static, Type } from '@sinclair/typebox';
import {
  EVENT_TYPES,
  isTesseraError,
  MAX_SECRET_OVERLAP_SECONDS,
  newWebhookSubscription,
  publicDelivery,
  publicSubscription,
  rotateSubscriptionSecret,
  type SessionStore,
  supportsWebhooks,
  type Tessera,
  WEBHOOK_DELIVERY_STATES,
  WEBHOOK_DESCRIPTION_MAX_LENGTH,
  WEBHOOK_URL_MAX_LENGTH,
  type WebhookOutbox,
} from '@tessera/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { serviceKeyGuard } from '../auth.js';
import { ErrorBody, NoBody, NoQuery } from '../schemas.js';

const CLOSED = { additionalProperties: false } as const;
const SERVICE_KEY = [{ serviceKey: [] }];
const FAILURES = { '4xx': ErrorBody, '5xx': ErrorBody };
const NOT_FOUND = { error: 'not_found', error_description: 'no webhook subscription with this id' };
/** Subscriptions have their own scope: whoever may reroute events may read every one of them. */
const SCOPE = 'webhooks:admin';

const enumOf = (values: readonly string[]) =>
  Type.Unsafe<string>({ type: 'string', enum: [...values] });
const nullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] });
const nullableInteger = Type.Unsafe<number | null>({ type: ['integer', 'null'] });

const SubscriptionJson = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: nullableString,
  created_at: Type.String(),
  disabled_at: nullableString,
  disabled_reason: nullableString,
  previous_secret_expires_at: nullableString,
});
const DeliveryJson = Type.Object({
  id: Type.String(),
  subscription_id: Type.String(),
  event_id: Type.String(),
  event_type: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  created_at: Type.String(),
  next_attempt_at: nullableString,
  last_attempt_at: nullableString,
  last_status: nullableInteger,
  last_error: nullableString,
  delivered_at: nullableString,
});
const WithSecret = Type.Object({
  subscription: SubscriptionJson,
  secret: Type.String({ description: 'whsec_…: shown only in this answer' }),
});
const CreateBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: WEBHOOK_URL_MAX_LENGTH }),
    events: Type.Array(enumOf(EVENT_TYPES), { minItems: 1, maxItems: EVENT_TYPES.length }),
    description: Type.Optional(Type.String({ maxLength: WEBHOOK_DESCRIPTION_MAX_LENGTH })),
  },
  CLOSED,
);
const RotateBody = Type.Unsafe<{ overlap_seconds?: number } | null>({
  type: ['object', 'null'],
  properties: {
    overlap_seconds: { type: 'integer', minimum: 0, maximum: MAX_SECRET_OVERLAP_SECONDS },
  },
  additionalProperties: false,
});
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, CLOSED);
const DeliveriesQuery = Type.Object(
  {
    subscription_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    state: Type.Optional(enumOf(WEBHOOK_DELIVERY_STATES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  CLOSED,
);

/**
 * The webhook admin API (`/v1/webhooks`), for service keys with the `webhooks:admin` scope (or
 * `admin`). Secrets appear only in the answers of create and rotate-secret.
 */
export function registerWebhookRoutes(app: FastifyInstance, tessera: Tessera): void {
  const store = tessera.store as SessionStore;
  const guard = serviceKeyGuard(tessera, SCOPE);
  const outbox = (reply: FastifyReply): WebhookOutbox | null => {
    if (supportsWebhooks(store)) return store;
    reply.code(501).send({
      error: 'not_implemented',
      error_description: 'this store has no webhook outbox',
    });
    return null;
  };
  const tags = ['webhooks'];

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/v1/webhooks',
    {
      onRequest: guard,
      schema: {
        summary: 'Subscribe a URL to event types',
        description:
          'Answers the subscription and its signing secret (`whsec_…`, Standard Webhooks), shown this once.',
        tags,
        security: SERVICE_KEY,
        querystring: NoQuery,
        body: CreateBody,
        response: { 201: WithSecret, ...FAILURES },
      },
    },
    async (request, reply) => {
      const webhooks = outbox(reply);
      if (!webhooks) return reply;
      let subscription: ReturnType<typeof newWebhookSubscription>;
      try {
        subscription = newWebhookSubscription(
          {
            url: request.body.url,
            eventTypes: request.body.events,
            description: request.body.description ?? null,
          },
          Date.now(),
        );
      } catch (error) {
        if (isTesseraError(error, 'invalid_argument')) {
          return reply
            .code(400)
            .send({ error: 'invalid_request', error_description: error.message });
        }
        throw error;
      }
      await webhooks.createWebhookSubscription(subscription);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ subscription: publicSubscription(subscription), secret: subscription.secret });
    },
  );

  app.get(
    '/v1/webhooks',
    {
      onRequest: guard,
      schema: {
        summary: 'List webhook subscriptions, oldest first (never a secret)',
        tags,
        security: SERVICE_KEY,
        querystring: NoQuery,
        response: {
          200: Type.Object({ subscriptions: Type.Array(SubscriptionJson) }),
          ...FAILURES,
        },
      },
    },
    async (_request, reply) => {
      const webhooks = outbox(reply);
      if (!webhooks) return reply;
      const all = await webhooks.listWebhookSubscriptions();
      return { subscriptions: all.map(publicSubscription) };
    },
  );

  app.get<{ Querystring: Static<typeof DeliveriesQuery> }>(
    '/v1/webhooks/deliveries',
    {
      onRequest: guard,
      schema: {
        summary: 'Deliveries, newest first: pending, delivered or failed, with the last attempt',
        tags,
        security: SERVICE_KEY,
        querystring: DeliveriesQuery,
        response: { 200: Type.Object({ deliveries: Type.Array(DeliveryJson) }), ...FAILURES },
      },
    },
    async (request, reply) => {
      const webhooks = outbox(reply);
      if (!webhooks) return reply;
      const { subscription_id, state, limit = 100 } = request.query;
      const deliveries = await webhooks.listWebhookDeliveries({
        ...(subscription_id === undefined ? {} : { subscriptionId: subscription_id }),
        ...(state === undefined
          ? {}
          : { state: state as (typeof WEBHOOK_DELIVERY_STATES)[number] }),
        limit,
      });
      return { deliveries: deliveries.map(publicDelivery) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/v1/webhooks/:id',
    {
      onRequest: guard,
      schema: {
        summary: 'One webhook subscription',
        tags,
        security: SERVICE_KEY,
        params: IdParams,
        querystring: NoQuery,
        response: { 200: Type.Object({ subscription: SubscriptionJson }), ...FAILURES },
      },
    },
    async (request, reply) => {
      const webhooks = outbox(reply);
      if (!webhooks) return reply;
      const found = await webhooks.getWebhookSubscription(request.params.id);
      if (!found) return reply.code(404).send(NOT_FOUND);
      return { subscription: publicSubscription(found) };
    },
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post<{ Params: Static<typeof IdParams> }>(
      `/v1/webhooks/:id/${action}`,
      {
        onRequest: guard,
        schema: {
          summary:
            action === 'disable'
              ? 'Stop delivering to a subscription (its pending deliveries wait)'
              : 'Deliver to a disabled subscription again',
          tags,
          security: SERVICE_KEY,
          params: IdParams,
          querystring: NoQuery,
          body: NoBody,
          response: { 200: Type.Object({ subscription: SubscriptionJson }), ...FAILURES },
        },
      },
      async (request, reply) => {
        const webhooks = outbox(reply);
        if (!webhooks) return reply;
        const { id } = request.params;
        const changed = await webhooks.setWebhookSubscriptionDisabled(
          id,
          action === 'disable' ? Date.now() : null,
          action === 'disable' ? 'operator' : null,
        );
        const found = await webhooks.getWebhookSubscription(id);
        if (!found) return reply.code(404).send(NOT_FOUND);
        if (!changed) {
          return reply.code(409).send({
            error: 'conflict',
            error_description: `the subscription is already ${action}d`,
          });
        }
        return { subscription: publicSubscription(found) };
      },
    );
  }

  app.post<{ Params: Static<typeof IdParams>; Body: { overlap_seconds?: number } | null }>(
    '/v1/webhooks/:id/rotate-secret',
    {
      onRequest: guard,
      schema: {
        summary: 'Replace the signing secret; the old one keeps signing for overlap_seconds',
        description:
          'Both secrets sign every delivery during the overlap (default 86400 s), so receivers can switch without losing one. Answers the new secret, shown this once.',
        tags,
        security: SERVICE_KEY,
        params: IdParams,
        querystring: NoQuery,
        body: RotateBody,
        response: { 200: WithSecret, ...FAILURES },
      },
    },
    async (request, reply) => {
      const webhooks = outbox(reply);
      if (!webhooks) return reply;
      const { id } = request.params;
      const secret = await rotateSubscriptionSecret(
        webhooks,
        id,
        Date.now(),
        request.body?.overlap_seconds,
      );
      const found = secret === null ? null : await webhooks.getWebhookSubscription(id);
      if (secret === null || !found) return reply.code(404).send(NOT_FOUND);
      return reply
        .header('cache-control', 'no-store')
        .send({ subscription: publicSubscription(found), secret });
    },
  );
}
