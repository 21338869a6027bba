/**
 * `/v1/webhooks`: subscriptions, their deliveries and the dead-letter list, for admin tokens
 * covering every collection (`**`: events include token changes and denials server-wide).
 * Every change is audited in the same transaction as the change.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OcitrustError } from '../../lib/errors/index.js';
import type { AuditLog } from '../audit.js';
import type { Authz } from '../auth.js';
import { isCollectionPattern } from '../names.js';
import type { Db } from '../storage/types.js';
import type { Clock } from '../../lib/clock.js';
import { checkUrlAddresses, parseWebhookUrl, type AddressPolicy } from './address.js';
import { parseEventList } from './events.js';
import { FORMATS, type Format } from './formats.js';
import { recordEvent } from './outbox.js';
import { parseSecrets } from './signing.js';
import { deleteSubscription, getSubscription, insertSubscription, listDeliveries, listSubscriptions, redeliver, setSecrets, type Delivery, type Sealer } from './store.js';
import { queryInteger } from '../query.js';

/** What the routes need. */
export interface WebhookRouteContext {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly authz: Authz;
  readonly clock: Clock;
  readonly sealer: Sealer;
  readonly policy: AddressPolicy;
}

const errors = { 400: { $ref: 'ErrorBody#' }, 401: { $ref: 'ErrorBody#' }, 403: { $ref: 'ErrorBody#' }, 404: { $ref: 'ErrorBody#' } } as const;

const subscriptionSchema = {
  $id: 'WebhookSubscription',
  type: 'object',
  required: ['id', 'url', 'events', 'collections', 'format', 'secrets', 'createdAt', 'createdBy'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string' }, description: 'Short event names, or ["*"] for every event.' },
    collections: { type: 'array', items: { type: 'string' }, description: 'Collection patterns, ["**"] for every collection.' },
    format: { type: 'string', enum: [...FORMATS] },
    secrets: { type: 'integer', description: 'Active signing secrets (2 during a rotation); never returned.' },
    createdAt: { type: 'string' },
    createdBy: { type: ['string', 'null'] },
  },
} as const;

const deliverySchema = {
  $id: 'WebhookDelivery',
  type: 'object',
  required: ['id', 'eventId', 'subscriptionId', 'type', 'collection', 'status', 'attempts', 'createdAt', 'nextAttemptAt', 'lastStatus', 'lastError', 'doneAt'],
  properties: {
    id: { type: 'integer' },
    eventId: { type: 'string', description: 'CloudEvents id and webhook-id: the same on every attempt.' },
    subscriptionId: { type: 'string' },
    type: { type: 'string' },
    collection: { type: ['string', 'null'] },
    status: { type: 'string', enum: ['pending', 'delivered', 'dead'] },
    attempts: { type: 'integer' },
    createdAt: { type: 'string' },
    nextAttemptAt: { type: ['string', 'null'] },
    lastStatus: { type: ['integer', 'null'] },
    lastError: { type: ['string', 'null'] },
    doneAt: { type: ['string', 'null'] },
  },
} as const;

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^whk_[0-9a-f]{16}$' } } } as const;
const secretsProp = { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string', maxLength: 200 }, description: 'Standard Webhooks secrets (whsec_…): the new one first, the old one second during a rotation.' } as const;

function actor(request: FastifyRequest): { actor: string; tokenId: string | null; source: string } {
  const p = request.principal;
  return { actor: p.actor, tokenId: p.tokenId, source: p.source };
}

/** Registers the webhook administration routes. */
export async function webhookRoutes(app: FastifyInstance, ctx: WebhookRouteContext): Promise<void> {
  const { db, audit, authz, clock, sealer } = ctx;
  app.addSchema(subscriptionSchema);
  app.addSchema(deliverySchema);
  const admin = (request: FastifyRequest, action: string): Promise<void> => authz.require(request.principal, 'admin', null, action);
  const notFound = (id: string): OcitrustError => new OcitrustError('WEBHOOK_NOT_FOUND', `no webhook subscription with id ${id}`);

  app.post<{ Body: { url: string; events?: string[] | string; collections?: string[]; format?: Format; secrets: string[] } }>(
    '/v1/webhooks',
    {
      schema: {
        summary: 'Subscribe a URL to trust events',
        description: 'Creates a webhook subscription. Deliveries are CloudEvents (or Slack/chat bodies) signed per Standard Webhooks with the given secrets.',
        tags: ['webhooks'],
        body: {
          type: 'object',
          required: ['url', 'secrets'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', maxLength: 4096 },
            events: { anyOf: [{ type: 'array', items: { type: 'string', maxLength: 100 }, maxItems: 64 }, { type: 'string', maxLength: 2000 }], description: 'Event names; absent: every event.' },
            collections: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', maxLength: 255 }, description: 'Collection patterns; absent: every collection.' },
            format: { type: 'string', enum: [...FORMATS], default: 'cloudevents' },
            secrets: secretsProp,
          },
        },
        response: { 201: { $ref: 'WebhookSubscription#' }, ...errors },
      },
    },
    async (request, reply) => {
      await admin(request, 'webhook.create');
      const b = request.body;
      const url = parseWebhookUrl(b.url);
      const events = parseEventList(b.events);
      const collections = b.collections ?? ['**'];
      for (const p of collections) {
        if (!isCollectionPattern(p)) throw new OcitrustError('TOKEN_PATTERN_INVALID', `collections: expected collection patterns (e.g. reg.example.com/team/*, **), got ${JSON.stringify(String(p).slice(0, 80))}`);
      }
      const secrets = parseSecrets(b.secrets);
      await checkUrlAddresses(url, ctx.policy);
      const sub = await db.transaction(async (tx) => {
        const s = await insertSubscription(tx, sealer, { url: url.toString(), events, collections: [...new Set(collections)], format: b.format ?? 'cloudevents', secrets, createdBy: request.principal.tokenId ?? request.principal.actor, now: clock.now().getTime() });
        await audit.record({ ...actor(request), action: 'webhook.create', outcome: 'ok', detail: `${s.id} ${url.origin} ${events.join(',')}`.slice(0, 500) }, tx);
        return s;
      });
      return reply.code(201).send(sub);
    },
  );

  app.get('/v1/webhooks', { schema: { summary: 'List webhook subscriptions', tags: ['webhooks'], response: { 200: { type: 'object', required: ['subscriptions'], properties: { subscriptions: { type: 'array', items: { $ref: 'WebhookSubscription#' } } } }, ...errors } } }, async (request) => {
    await admin(request, 'webhook.list');
    return { subscriptions: await listSubscriptions(db, sealer) };
  });

  app.get<{ Params: { id: string } }>('/v1/webhooks/:id', { schema: { summary: 'Show a webhook subscription', tags: ['webhooks'], params: idParam, response: { 200: { $ref: 'WebhookSubscription#' }, ...errors } } }, async (request) => {
    await admin(request, 'webhook.read');
    const s = await getSubscription(db, request.params.id, sealer);
    if (!s) throw notFound(request.params.id);
    return s;
  });

  app.delete<{ Params: { id: string } }>('/v1/webhooks/:id', { schema: { summary: 'Remove a webhook subscription', description: 'Its undelivered and parked deliveries go with it.', tags: ['webhooks'], params: idParam, response: { 200: { $ref: 'WebhookSubscription#' }, ...errors } } }, async (request) => {
    await admin(request, 'webhook.remove');
    return db.transaction(async (tx) => {
      const s = await getSubscription(tx, request.params.id, sealer);
      if (!s || !(await deleteSubscription(tx, s.id))) throw notFound(request.params.id);
      await audit.record({ ...actor(request), action: 'webhook.remove', outcome: 'ok', detail: s.id }, tx);
      return s;
    });
  });

  app.put<{ Params: { id: string }; Body: { secrets: string[] } }>(
    '/v1/webhooks/:id/secrets',
    {
      schema: {
        summary: 'Rotate the signing secrets of a subscription',
        description: 'Give the new and the old secret: deliveries carry both signatures until the old one is dropped with a second call giving only the new one.',
        tags: ['webhooks'],
        params: idParam,
        body: { type: 'object', required: ['secrets'], additionalProperties: false, properties: { secrets: secretsProp } },
        response: { 200: { $ref: 'WebhookSubscription#' }, ...errors },
      },
    },
    async (request) => {
      await admin(request, 'webhook.secrets');
      const secrets = parseSecrets(request.body.secrets);
      return db.transaction(async (tx) => {
        if (!(await setSecrets(tx, sealer, request.params.id, secrets))) throw notFound(request.params.id);
        await audit.record({ ...actor(request), action: 'webhook.secrets', outcome: 'ok', detail: `${request.params.id} ${secrets.length} secret(s)` }, tx);
        return (await getSubscription(tx, request.params.id, sealer))!;
      });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhooks/:id/test',
    { schema: { summary: 'Send a test event to a subscription', description: 'Queues a dev.ocitrust.webhook.test event for this subscription only; watch it with the deliveries list.', tags: ['webhooks'], params: idParam, response: { 202: { type: 'object', required: ['eventId'], properties: { eventId: { type: 'string' } } }, ...errors } } },
    async (request, reply) => {
      await admin(request, 'webhook.test');
      const eventId = await db.transaction(async (tx) => {
        if (!(await getSubscription(tx, request.params.id, sealer))) throw notFound(request.params.id);
        await audit.record({ ...actor(request), action: 'webhook.test', outcome: 'ok', detail: request.params.id }, tx);
        return recordEvent(tx, { name: 'webhook.test', collection: null, data: { subscription: request.params.id, requestedBy: request.principal.actor } }, clock.now(), request.params.id);
      });
      return reply.code(202).send({ eventId: eventId! });
    },
  );

  app.get<{ Querystring: { subscription?: string; status?: Delivery['status']; limit?: string } }>(
    '/v1/webhooks/deliveries',
    {
      schema: {
        summary: 'List webhook deliveries',
        description: 'Newest first; status=dead is the dead-letter list (deliveries that failed for the whole retry window).',
        tags: ['webhooks'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            subscription: { type: 'string', pattern: '^whk_[0-9a-f]{16}$' },
            status: { type: 'string', enum: ['pending', 'delivered', 'dead'] },
            // A query string is text: parsed explicitly (no type coercion on any route).
            limit: { type: 'string', maxLength: 20, description: 'Deliveries per page, 1-1000 (default 100).' },
          },
        },
        response: { 200: { type: 'object', required: ['deliveries'], properties: { deliveries: { type: 'array', items: { $ref: 'WebhookDelivery#' } } } }, ...errors },
      },
    },
    async (request) => {
      await admin(request, 'webhook.deliveries');
      const q = request.query;
      const limit = queryInteger(q.limit, 'limit', 1, 1000) ?? 100;
      return { deliveries: await listDeliveries(db, { ...(q.subscription ? { subscription: q.subscription } : {}), ...(q.status ? { status: q.status } : {}), limit }) };
    },
  );

  app.post<{ Body: { id?: number; subscription?: string } }>(
    '/v1/webhooks/deliveries/redeliver',
    {
      schema: {
        summary: 'Resend parked deliveries',
        description: 'Puts one dead delivery (id), or every dead delivery of a subscription, back in the queue with a fresh retry window and the same event id.',
        tags: ['webhooks'],
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: { id: { type: 'integer', minimum: 1 }, subscription: { type: 'string', pattern: '^whk_[0-9a-f]{16}$' } },
        },
        response: { 200: { type: 'object', required: ['requeued'], properties: { requeued: { type: 'integer' } } }, ...errors },
      },
    },
    async (request) => {
      await admin(request, 'webhook.redeliver');
      const b = request.body;
      const requeued = await db.transaction(async (tx) => {
        if (b.subscription !== undefined && !(await getSubscription(tx, b.subscription, sealer))) throw notFound(b.subscription);
        const n = await redeliver(tx, b.id !== undefined ? { id: b.id } : { subscription: b.subscription! }, Date.now());
        await audit.record({ ...actor(request), action: 'webhook.redeliver', outcome: 'ok', detail: `${b.id ?? b.subscription} ${n} delivery(ies)` }, tx);
        await tx.notify('ocitrust_webhooks', 'redeliver');
        return n;
      });
      return { requeued };
    },
  );
}
