import {
  DEFAULT_SECRET_OVERLAP_SECONDS,
  EVENT_TYPES,
  isTesseraError,
  newWebhookSubscription,
  publicDelivery,
  publicSubscription,
  rotateSubscriptionSecret,
  supportsWebhooks,
  WEBHOOK_DELIVERY_STATES,
  type WebhookDeliveryState,
  type WebhookOutbox,
} from '@tessera/core';
import { COMMON_OPTIONS, expectPositionals, parseCommandArgs, STORE_OPTIONS } from '../args.js';
import { openEngine, storeFlags } from '../engine-context.js';
import { runtimeError, usageError } from '../errors.js';
import { isoOrDash, tsv } from '../format.js';
import type { CliIo } from '../io.js';

export const WEBHOOKS_HELP = `Usage: tessera webhooks <create|list|disable|enable|rotate-secret|deliveries> [options]

Event delivery by webhooks, signed per the Standard Webhooks specification. \`tessera serve\`
delivers them (see the "Webhooks" section of the README).

  tessera webhooks create --url URL --events TYPE[,TYPE…] [--description TEXT]
                                              subscribe; prints the signing secret once
  tessera webhooks list [--json]              id, url, events, created, disabled
  tessera webhooks disable ID                 stop delivering (pending deliveries wait)
  tessera webhooks enable ID                  deliver again
  tessera webhooks rotate-secret ID [--overlap-seconds N]
                                              new secret (printed once); the old one keeps
                                              signing for N seconds (default ${DEFAULT_SECRET_OVERLAP_SECONDS})
  tessera webhooks deliveries [--subscription ID] [--state STATE] [--limit N] [--json]
                                              newest first; STATE: ${WEBHOOK_DELIVERY_STATES.join(', ')}

Event types: ${EVENT_TYPES.join(', ')}

Options:
  -c, --config FILE   configuration file (JSON); also TESSERA_CONFIG
      --store URL     store URL (default sqlite:./tessera.db); also TESSERA_STORE
      --no-migrate    PostgreSQL: do not apply migrations first
      --json          machine-readable output
  -h, --help          show this help`;

const ACTIONS = ['create', 'list', 'disable', 'enable', 'rotate-secret', 'deliveries'] as const;
type Action = (typeof ACTIONS)[number];

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORE_OPTIONS,
  url: { type: 'string' },
  events: { type: 'string' },
  description: { type: 'string' },
  'overlap-seconds': { type: 'string' },
  subscription: { type: 'string' },
  state: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** `tessera webhooks …`. */
export async function webhooksCommand(argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h' || action === 'help') {
    io.out(WEBHOOKS_HELP);
    return 0;
  }
  if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) {
    throw usageError(
      `tessera webhooks: ${action === undefined ? 'missing action' : `unknown action "${action}"`} — use ${ACTIONS.join(', ')} (see \`tessera webhooks --help\`)`,
    );
  }
  const command = `webhooks ${action}`;
  const { values, positionals } = parseCommandArgs(command, rest, OPTIONS);
  if (values.help) {
    io.out(WEBHOOKS_HELP);
    return 0;
  }
  const run = plan(action as Action, command, values, positionals);
  const engine = await openEngine({ io, configFile: values.config, flags: storeFlags(values) });
  try {
    const store = engine.tessera.store;
    if (!supportsWebhooks(store)) throw runtimeError('this store has no webhook outbox');
    return await run(store, io, values.json === true);
  } finally {
    await engine.close();
  }
}

type Values = {
  url?: string | undefined;
  events?: string | undefined;
  description?: string | undefined;
  'overlap-seconds'?: string | undefined;
  subscription?: string | undefined;
  state?: string | undefined;
  limit?: string | undefined;
};
type Run = (store: WebhookOutbox, io: CliIo, json: boolean) => Promise<number>;

/** Checks the command line before any store is opened, and answers what to run. */
function plan(action: Action, command: string, values: Values, positionals: string[]): Run {
  switch (action) {
    case 'create': {
      expectPositionals(command, positionals, []);
      if (!values.url) throw usageError(`tessera ${command}: --url is required`);
      const events = (values.events ?? '')
        .split(',')
        .map((type) => type.trim())
        .filter((type) => type.length > 0);
      if (events.length === 0) {
        throw usageError(
          `tessera ${command}: --events is required, a comma-separated list of ${EVENT_TYPES.join(', ')}`,
        );
      }
      let subscription: ReturnType<typeof newWebhookSubscription>;
      try {
        subscription = newWebhookSubscription(
          { url: values.url, eventTypes: events, description: values.description ?? null },
          Date.now(),
        );
      } catch (error) {
        if (isTesseraError(error, 'invalid_argument')) {
          throw usageError(`tessera ${command}: ${error.message}`);
        }
        throw error;
      }
      return async (store, io, json) => {
        await store.createWebhookSubscription(subscription);
        if (json) {
          io.out(
            JSON.stringify({ ...publicSubscription(subscription), secret: subscription.secret }),
          );
        } else {
          io.out(
            `Created webhook subscription ${subscription.id} → ${subscription.url} (events: ${subscription.eventTypes.join(',')}).`,
          );
          io.out('Save this signing secret now, it is shown only once:');
          io.out(subscription.secret);
        }
        return 0;
      };
    }
    case 'list':
      expectPositionals(command, positionals, []);
      return async (store, io, json) => {
        const all = await store.listWebhookSubscriptions();
        if (json) {
          io.out(JSON.stringify(all.map(publicSubscription)));
          return 0;
        }
        io.out(tsv(['ID', 'URL', 'EVENTS', 'CREATED', 'DISABLED']));
        for (const s of all) {
          const disabled =
            s.disabledAt === null ? '-' : `${isoOrDash(s.disabledAt)} (${s.disabledReason})`;
          io.out(tsv([s.id, s.url, s.eventTypes.join(','), isoOrDash(s.createdAt), disabled]));
        }
        return 0;
      };
    case 'disable':
    case 'enable': {
      const [id] = expectPositionals(command, positionals, ['id']) as [string];
      return async (store, io) => {
        const disable = action === 'disable';
        const changed = await store.setWebhookSubscriptionDisabled(
          id,
          disable ? Date.now() : null,
          disable ? 'operator' : null,
        );
        if (!changed) {
          const found = await store.getWebhookSubscription(id);
          throw runtimeError(
            found
              ? `webhook subscription ${id} is already ${action}d`
              : `no webhook subscription with id ${id} — see \`tessera webhooks list\``,
          );
        }
        io.out(`${disable ? 'Disabled' : 'Enabled'} webhook subscription ${id}.`);
        return 0;
      };
    }
    case 'rotate-secret': {
      const [id] = expectPositionals(command, positionals, ['id']) as [string];
      const overlap = wholeNumber(command, '--overlap-seconds', values['overlap-seconds']);
      return async (store, io, json) => {
        let secret: string | null;
        try {
          secret = await rotateSubscriptionSecret(store, id, Date.now(), overlap);
        } catch (error) {
          if (isTesseraError(error, 'invalid_argument')) {
            throw usageError(`tessera ${command}: ${error.message}`);
          }
          throw error;
        }
        if (secret === null) {
          throw runtimeError(
            `no webhook subscription with id ${id} — see \`tessera webhooks list\``,
          );
        }
        const seconds = overlap ?? DEFAULT_SECRET_OVERLAP_SECONDS;
        if (json) {
          io.out(JSON.stringify({ id, secret, previous_secret_valid_seconds: seconds }));
        } else {
          io.out(
            `Rotated the secret of webhook subscription ${id}; the previous one signs too for ${seconds} s.`,
          );
          io.out('Save this signing secret now, it is shown only once:');
          io.out(secret);
        }
        return 0;
      };
    }
    case 'deliveries': {
      expectPositionals(command, positionals, []);
      const state = values.state;
      if (state !== undefined && !(WEBHOOK_DELIVERY_STATES as readonly string[]).includes(state)) {
        throw usageError(
          `tessera ${command}: --state must be one of ${WEBHOOK_DELIVERY_STATES.join(', ')}`,
        );
      }
      const limit = wholeNumber(command, '--limit', values.limit) ?? 100;
      if (limit < 1 || limit > 10_000) {
        throw usageError(`tessera ${command}: --limit must be from 1 to 10000`);
      }
      return async (store, io, json) => {
        const deliveries = await store.listWebhookDeliveries({
          ...(values.subscription === undefined ? {} : { subscriptionId: values.subscription }),
          ...(state === undefined ? {} : { state: state as WebhookDeliveryState }),
          limit,
        });
        if (json) {
          io.out(JSON.stringify(deliveries.map(publicDelivery)));
          return 0;
        }
        io.out(
          tsv(['ID', 'EVENT', 'STATE', 'ATTEMPTS', 'CREATED', 'NEXT', 'LAST STATUS', 'LAST ERROR']),
        );
        for (const d of deliveries) {
          io.out(
            tsv([
              d.id,
              d.eventType,
              d.state,
              String(d.attempts),
              isoOrDash(d.createdAt),
              isoOrDash(d.nextAttemptAt),
              d.lastStatus === null ? '-' : String(d.lastStatus),
              d.lastError ?? '-',
            ]),
          );
        }
        return 0;
      };
    }
  }
}

function wholeNumber(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) {
    throw usageError(`tessera ${command}: ${flag} must be a whole number (got "${value}")`);
  }
  return Number(value);
}
