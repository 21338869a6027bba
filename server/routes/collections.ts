import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OcitrustError } from '../../lib/errors/index.js';
import { checkCollectionName, parseCollectionPath } from '../names.js';
import type { ServedFile } from '../trust/service.js';
import type { RouteContext } from './context.js';

const errors = {
  400: { $ref: 'ErrorBody#' },
  401: { $ref: 'ErrorBody#' },
  403: { $ref: 'ErrorBody#' },
  404: { $ref: 'ErrorBody#' },
  409: { $ref: 'ErrorBody#' },
} as const;

const tufKey = {
  type: 'object',
  required: ['keytype', 'scheme', 'keyval'],
  properties: { keytype: { type: 'string' }, scheme: { type: 'string' }, keyval: { type: 'object', properties: { public: { type: 'string' } } } },
  additionalProperties: true,
} as const;

const versions = {
  type: 'object',
  required: ['root', 'targets', 'snapshot', 'timestamp'],
  properties: { root: { type: 'integer' }, targets: { type: 'integer' }, snapshot: { type: 'integer' }, timestamp: { type: 'integer' } },
} as const;

const collectionInfo = {
  type: 'object',
  required: ['name', 'keys', 'keyids', 'versions'],
  properties: {
    name: { type: 'string' },
    keys: { type: 'object', properties: { snapshot: tufKey, timestamp: tufKey } },
    keyids: { type: 'object', properties: { snapshot: { type: 'string' }, timestamp: { type: 'string' } } },
    versions,
  },
} as const;

const signedMetadata = {
  type: 'object',
  description: 'A signed TUF metadata document {"signed": {...}, "signatures": [...]}.',
  required: ['signed', 'signatures'],
  properties: { signed: { type: 'object', additionalProperties: true }, signatures: { type: 'array', items: { type: 'object', additionalProperties: true } } },
  additionalProperties: true,
} as const;

const tail = {
  type: 'object',
  required: ['*'],
  properties: { '*': { type: 'string', maxLength: 320, description: 'Collection name (may contain "/") followed by the resource.' } },
} as const;

/**
 * TUF repository routes. Collection names contain '/', so one wildcard route per method takes
 * the tail and the last segment names the resource:
 *
 * - `GET /v1/collections/<name>/{N.root,root,timestamp,N.snapshot,N.targets}.json` (ETag, 304)
 * - `GET /v1/collections/<name>/keys`: the server's snapshot/timestamp keys and current versions
 * - `POST /v1/collections/<name>/metadata`: publish `{root?, targets?}`
 * - `POST /v1/collections` `{name}`: create a collection
 */
export async function collectionRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { trust, authz, opts } = ctx;
  const countFailure = (e: unknown): never => {
    const code = e instanceof OcitrustError ? e.code : 'INTERNAL';
    const outcome = code === 'AUTH_REQUIRED' || code === 'AUTH_TOKEN_INVALID' || code === 'PERMISSION_DENIED' ? 'denied' : code === 'PUBLISH_VERSION_CONFLICT' ? 'conflict' : 'rejected';
    ctx.metrics.publishes.inc({ outcome, code });
    throw e;
  };

  app.post<{ Body: { name: string } }>(
    '/v1/collections',
    {
      schema: {
        summary: 'Create a collection',
        description: 'Creates an empty collection with fresh server-held snapshot and timestamp keys (admin). Publish root v1 and targets v1 next.',
        tags: ['collections'],
        body: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 255 } }, additionalProperties: false },
        response: { 201: collectionInfo, ...errors },
      },
    },
    async (request, reply) => {
      const name = checkCollectionName(request.body.name);
      await authz.require(request.principal, 'admin', name, 'collection.create');
      const info = await trust.createCollection(name, actorOf(request));
      return reply.code(201).send(info);
    },
  );

  app.get<{ Params: { '*': string } }>(
    '/v1/collections/*',
    {
      schema: {
        summary: 'Fetch TUF metadata or server keys of a collection',
        description:
          'The path is `<collection name>/<resource>`; resource is `N.root.json`, `root.json` (newest), `timestamp.json`, ' +
          '`N.snapshot.json`, `N.targets.json` (consistent snapshots, raw signed TUF metadata) or `keys` (JSON: the ' +
          "server's snapshot and timestamp public keys for `trust init`, and the current versions). Versioned files are " +
          'immutable; timestamp.json is short-lived. ETag / If-None-Match supported.',
        tags: ['collections'],
        params: tail,
        response: {
          200: { description: 'Signed TUF metadata (raw bytes), or the keys document.', type: 'object', additionalProperties: true },
          304: { description: 'Not modified.', type: 'null' },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const parsed = parseCollectionPath(request.params['*']);
      if (!parsed) throw new OcitrustError('ROUTE_NOT_FOUND', 'expected /v1/collections/<name>/{N.root,root,timestamp,N.snapshot,N.targets}.json or /keys');
      const { name, resource } = parsed;
      if (resource.kind === 'metadata') throw new OcitrustError('ROUTE_NOT_FOUND', 'use POST to publish to /v1/collections/<name>/metadata');
      await authz.require(request.principal, 'reader', name, 'metadata.read');
      if (resource.kind === 'keys') {
        request.metricsRoute = '/v1/collections/{name}/keys';
        const info = await trust.info(name);
        if (!info) throw new OcitrustError('COLLECTION_NOT_FOUND', `no collection named ${name}`);
        return reply.header('cache-control', 'no-cache').send(info);
      }
      let file: ServedFile;
      let cache: string;
      if (resource.kind === 'timestamp') {
        request.metricsRoute = '/v1/collections/{name}/timestamp.json';
        file = await trust.timestamp(name);
        const left = Math.floor((file.expires - opts.clock.now().getTime()) / 1000);
        cache = `public, max-age=${Math.max(0, Math.min(opts.timestampMaxAgeSeconds, left))}`;
      } else if (resource.version === null) {
        request.metricsRoute = '/v1/collections/{name}/root.json';
        file = await trust.file(name, 'root', null);
        cache = 'no-cache';
      } else {
        request.metricsRoute = `/v1/collections/{name}/{N}.${resource.kind}.json`;
        file = await trust.file(name, resource.kind, resource.version);
        // Consistent snapshots: a versioned file never changes once published.
        cache = 'public, max-age=31536000, immutable';
      }
      return sendFile(request, reply, file, cache);
    },
  );

  app.post<{ Params: { '*': string }; Body: { root?: unknown; targets?: unknown } }>(
    '/v1/collections/*',
    {
      bodyLimit: 2 * opts.limits.maxMetadataBytes + 64 * 1024,
      // Authorization before the (possibly large) body is read: at least publisher on the collection.
      onRequest: async (request) => {
        const parsed = parseCollectionPath((request.params as { '*': string })['*']);
        if (!parsed || parsed.resource.kind !== 'metadata') throw new OcitrustError('ROUTE_NOT_FOUND', 'expected POST /v1/collections/<name>/metadata');
        request.metricsRoute = '/v1/collections/{name}/metadata';
        await authz.require(request.principal, 'publisher', parsed.name, 'publish').catch(countFailure);
      },
      schema: {
        summary: 'Publish root and/or targets metadata',
        description:
          'The path is `<collection name>/metadata`. The server checks signatures, thresholds, version succession (root chain, ' +
          'targets +1), expiry and delegations, then signs a new snapshot and timestamp and commits everything in one ' +
          'transaction. Publishing root needs admin; targets alone needs publisher. A stale version is 409.',
        tags: ['collections'],
        params: tail,
        body: {
          type: 'object',
          properties: { root: signedMetadata, targets: signedMetadata },
          additionalProperties: false,
        },
        response: { 200: { type: 'object', required: ['collection', 'versions'], properties: { collection: { type: 'string' }, versions } }, ...errors, 413: { $ref: 'ErrorBody#' } },
      },
    },
    async (request) => {
      const { name } = parseCollectionPath(request.params['*'])!;
      if (request.body.root !== undefined) await authz.require(request.principal, 'admin', name, 'publish.root').catch(countFailure);
      const result = await trust.publish(name, request.body, actorOf(request)).catch(countFailure);
      ctx.metrics.publishes.inc({ outcome: 'ok', code: '' });
      return result;
    },
  );
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: ServedFile, cacheControl: string): FastifyReply {
  void reply.header('etag', file.etag).header('cache-control', cacheControl);
  const inm = request.headers['if-none-match'];
  if (inm !== undefined && inm.split(',').some((t) => t.trim() === file.etag || t.trim() === `W/${file.etag}`)) {
    return reply.code(304).send();
  }
  return reply.type('application/json').send(file.body);
}

/** The audit identity of a request. */
export function actorOf(request: FastifyRequest): { actor: string; tokenId: string | null; source: string } {
  const p = request.principal;
  return { actor: p.actor, tokenId: p.tokenId, source: p.source };
}
