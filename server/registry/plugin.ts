/**
 * The embedded OCI registry as a fastify plugin: the distribution spec v1.1 under `/v2/`, blobs
 * on the filesystem, manifests, tags, referrers and upload sessions in the shared database.
 *
 * The plugin is encapsulated on purpose (no fastify-plugin skip-override): its content-type
 * parser (every body left as a raw stream, so manifests are stored byte-exact and blobs are
 * streamed to disk), error handler (OCI error bodies) and hooks stay inside it and never touch
 * the routes of the application that mounts it. Register it at the root: it owns `/v2/*`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { OcitrustError } from '../../lib/errors/index.js';
import { BlobStore } from './blob-store.js';
import { cancelUpload, deleteBlob, finishUpload, getBlob, patchUpload, startUpload, uploadStatus } from './blobs.js';
import { checkAccess, keyedLock, type Call, type RegistryContext } from './context.js';
import { toWireError } from './errors.js';
import { QUERY_SCHEMA, type RegistryQuery } from './http.js';
import { listCatalog, listReferrers, listTags } from './listing.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { MetadataStore } from './metadata-store.js';
import { pathAfterV2, routeV2, type Route } from './names.js';
import { resolveOptions, type RegistryAction, type RegistryOptions } from './options.js';
import { registryMigrations } from './schema.js';

const API_VERSION = 'registry/2.0';

function notAllowed(method: string): OcitrustError {
  return new OcitrustError('DIST_UNSUPPORTED', `method ${method} is not supported on this endpoint`);
}

/** The action a request needs, or an error for a method the endpoint does not have. */
function actionOf(route: Route, method: string): RegistryAction {
  const read = method === 'GET' || method === 'HEAD';
  switch (route.kind) {
    case 'base':
    case 'catalog':
    case 'tags':
    case 'referrers':
      if (method !== 'GET' && !(route.kind === 'base' && method === 'HEAD')) throw notAllowed(method);
      return 'pull';
    case 'manifest':
    case 'blob':
      if (read) return 'pull';
      if (method === 'DELETE') return 'delete';
      if (method === 'PUT' && route.kind === 'manifest') return 'push';
      throw notAllowed(method);
    case 'uploads':
      if (method !== 'POST') throw notAllowed(method);
      return 'push';
    case 'upload':
      if (method === 'GET' || method === 'PATCH' || method === 'PUT' || method === 'DELETE') return 'push';
      throw notAllowed(method);
  }
}

async function dispatch(ctx: RegistryContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const route = routeV2(pathAfterV2(request.url));
  const method = request.method;
  const action = actionOf(route, method);
  const repository = route.kind === 'base' || route.kind === 'catalog' ? null : route.name;
  await checkAccess(ctx, request, { repository, action });
  const call: Call = { request, reply, query: (request.query ?? {}) as RegistryQuery };
  const head = method === 'HEAD';
  switch (route.kind) {
    case 'base':
      await reply.header('Content-Type', 'application/json').send('{}');
      return;
    case 'catalog':
      return listCatalog(ctx, call);
    case 'tags':
      return listTags(ctx, call, route.name);
    case 'referrers':
      return listReferrers(ctx, call, route.name, route.digest);
    case 'manifest':
      if (method === 'PUT') return putManifest(ctx, call, route.name, route.reference);
      if (method === 'DELETE') return deleteManifest(ctx, call, route.name, route.reference);
      return getManifest(ctx, call, route.name, route.reference, head);
    case 'blob':
      if (method === 'DELETE') return deleteBlob(ctx, call, route.name, route.digest);
      return getBlob(ctx, call, route.name, route.digest, head);
    case 'uploads':
      return startUpload(ctx, call, route.name);
    case 'upload':
      if (method === 'GET') return uploadStatus(ctx, call, route.name, route.id);
      if (method === 'PATCH') return patchUpload(ctx, call, route.name, route.id);
      if (method === 'PUT') return finishUpload(ctx, call, route.name, route.id);
      return cancelUpload(ctx, call, route.name, route.id);
  }
}

/** Deletes upload sessions (rows and scratch files) untouched for longer than the TTL. */
async function sweepUploads(ctx: RegistryContext): Promise<void> {
  const before = Date.now() - ctx.opts.limits.uploadTtlMs;
  for (const id of await ctx.store.staleUploads(before)) {
    // File first: once the row is gone the session answers 404, and nothing may linger then.
    await ctx.withUploadLock(id, async () => {
      await ctx.blobs.removeUpload(id);
      await ctx.store.deleteUpload(id);
    });
  }
  for (const id of await ctx.blobs.sweep(before)) await ctx.store.deleteUpload(id);
}

const plugin: FastifyPluginAsync<RegistryOptions> = async (app: FastifyInstance, options: RegistryOptions) => {
  const opts = resolveOptions(options);
  await opts.db.migrate(registryMigrations);
  const blobs = new BlobStore(opts.dataDir);
  await blobs.init();
  const ctx: RegistryContext = { opts, store: new MetadataStore(opts.db), blobs, withUploadLock: keyedLock() };

  await sweepUploads(ctx).catch((e: unknown) => app.log.warn({ err: e }, 'registry: sweeping stale uploads failed'));
  const timer = setInterval(
    () => void sweepUploads(ctx).catch((e: unknown) => app.log.warn({ err: e }, 'registry: sweeping stale uploads failed')),
    Math.min(opts.limits.uploadTtlMs, 60 * 60 * 1000),
  );
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  // Bodies stay unread streams: blobs go to disk chunk by chunk, manifests are kept byte-exact.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('Docker-Distribution-API-Version', API_VERSION);
  });

  app.setErrorHandler(async (err, request, reply) => {
    const w = toWireError(err);
    if (w.status >= 500) request.log.error({ err }, 'registry: request failed');
    reply.code(w.status).header('Docker-Distribution-API-Version', API_VERSION);
    for (const [k, v] of Object.entries(w.headers)) reply.header(k, v);
    // A HEAD answer carries no body (RFC 9110 9.3.2); the status and headers say it all.
    if (request.method === 'HEAD') return reply.send();
    return reply.header('Content-Type', 'application/json').send(JSON.stringify(w.body));
  });

  const handler = (request: FastifyRequest, reply: FastifyReply) => dispatch(ctx, request, reply);
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  app.route({ method: [...methods], url: '/v2/', exposeHeadRoute: false, schema: { querystring: QUERY_SCHEMA }, handler });
  app.route({ method: [...methods], url: '/v2/*', exposeHeadRoute: false, schema: { querystring: QUERY_SCHEMA }, handler });
};

// What fastify-plugin would set, minus `skip-override`: the plugin stays encapsulated.
Object.assign(plugin, {
  [Symbol.for('fastify.display-name')]: 'ocitrust-registry',
  [Symbol.for('plugin-meta')]: { name: 'ocitrust-registry', fastify: '5.x' },
});

/**
 * The embedded OCI registry plugin. Register at the root of a fastify app:
 * `await app.register(registryPlugin, { dataDir, db })`. Migrates the `registry` tables on
 * register; never closes `db` (its owner does).
 */
export const registryPlugin = plugin;
