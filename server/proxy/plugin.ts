/**
 * The verifying registry proxy as a fastify plugin (DESIGN §9): the distribution API at
 * `/v2/` in front of any registry. Manifest GET/HEAD are fetched from the upstream (bounded),
 * their digest recomputed from the bytes, and served only when `decide` allows (by tag and by
 * digest alike); otherwise `403` with an OCI `DENIED` body naming the failed check. Every other
 * request (blobs, uploads, tags, catalog, referrers, manifest pushes) is streamed through.
 *
 * Encapsulated like the embedded registry: its content-type parser (bodies stay unread
 * streams) and error handler (OCI error bodies) never touch the routes of the app mounting it.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import { digestOf, isDigest, parseDigest } from '../../lib/crypto/hash.js';
import { parseJson, isJsonObject } from '../../lib/json.js';
import { MANIFEST_MEDIA_TYPES } from '../../lib/oci/types.js';
import { qualifiedRepository } from '../names.js';
import { pathAfterV2, routeV2, type Route } from '../registry/names.js';
import { presentedToken, type PresentedToken } from './caller.js';
import { proxyWireError } from './errors.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { resolveProxyOptions, type Decision, type ProxyOptions, type ResolvedProxyOptions } from './options.js';
import { readBounded, Upstream } from './upstream.js';

/** Conditional and range fields are not sent with a manifest fetch: the proxy needs the whole bytes. */
const MANIFEST_OMIT = ['if-none-match', 'if-match', 'if-modified-since', 'if-unmodified-since', 'range', 'if-range'];
/** The Accept sent for a manifest fetch when the client named none. */
const ALL_MANIFEST_TYPES = MANIFEST_MEDIA_TYPES.join(', ');
/** Upstream response fields kept on a manifest the proxy answers itself. */
const MANIFEST_KEEP = ['etag', 'docker-distribution-api-version', 'last-modified'];

interface Ctx {
  readonly o: ResolvedProxyOptions;
  readonly up: Upstream;
}

function pathInvalid(why: string): OcitrustError {
  return new OcitrustError('PROXY_PATH_INVALID', `request path refused: ${why}`);
}

/**
 * Routes one request: manifest reads to the verifying path, everything else through. Paths
 * the upstream could read differently from us (dot or empty segments, control characters) are
 * refused, so no request can be a manifest read for the upstream and something else for us.
 */
async function handle(ctx: Ctx, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const url = request.url;
  let decoded: string;
  try {
    decoded = pathAfterV2(url);
  } catch {
    throw pathInvalid('not a distribution API path');
  }
  if (decoded.split('/').some((s, i, all) => s === '.' || s === '..' || (s === '' && i !== all.length - 1)) || /[\u0000-\u001f\u007f\\]/.test(decoded)) {
    throw pathInvalid('dot, empty or control-character segments');
  }
  const presented = presentedToken(request);
  // Only a path naming `manifests/` can be a manifest route (or a refused manifest path), so
  // blob, upload, tag and catalog requests skip the route parse.
  const manifestLike = decoded.includes('manifests/');
  if (manifestLike && (request.method === 'GET' || request.method === 'HEAD')) {
    let route: Route | undefined;
    try {
      route = routeV2(decoded);
    } catch {
      if (/(^|\/)manifests\//.test(decoded)) throw pathInvalid('manifest path with an invalid repository name or reference');
    }
    if (route?.kind === 'manifest') return serveManifest(ctx, request, reply, presented, route.name, route.reference);
  }
  if (manifestLike && request.method === 'PUT' && ctx.o.onReferrerPushed) {
    let route: Route | undefined;
    try {
      route = routeV2(decoded);
    } catch {
      route = undefined;
    }
    if (route?.kind === 'manifest') return pushManifest(ctx, request, reply, presented, url, route.name);
  }
  return passThrough(ctx, request, reply, presented, url);
}

function hasBody(request: FastifyRequest): boolean {
  const len = request.headers['content-length'];
  return (len !== undefined && len !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/**
 * Sends an upstream response on to the client, streamed (HEAD, 204, 304: headers only).
 *
 * The reply is hijacked and the upstream body piped straight into the client's socket: no
 * serialisation or onSend machinery on a blob, and backpressure end to end. fastify still runs
 * the onResponse hooks (metrics) when the response finishes. From here on nothing throws: a
 * failure mid-body can only cut both connections (the status line has gone out).
 */
function relay(request: FastifyRequest, reply: FastifyReply, res: IncomingMessage, headers: Record<string, string | string[]>): void {
  const status = res.statusCode ?? 502;
  reply.hijack();
  const out = reply.raw;
  out.writeHead(status, headers);
  if (request.method === 'HEAD' || status === 204 || status === 304 || status < 200) {
    res.resume();
    out.end();
    return;
  }
  // pipe() plus both ends' failures by hand: stream.pipeline would cost an AbortController and
  // a DOMException per request (Node 20), a measurable share of a warm manifest hop.
  res.on('error', (err) => {
    request.log.warn({ err, status }, 'proxy: upstream answer broke off');
    // Cut the client's connection: a truncated body must not look complete on a kept-alive socket.
    out.destroy();
  });
  out.on('close', () => {
    if (!res.complete) res.destroy();
  });
  res.pipe(out);
}

/** {@link relay} with the upstream's headers made fit for the client. */
function relayUpstream(ctx: Ctx, request: FastifyRequest, reply: FastifyReply, res: IncomingMessage): void {
  relay(request, reply, res, clientResponseHeaders(res.headers, { upstreamOrigin: ctx.up.origin, realmRewrite: ctx.o.realmRewrite }));
}

/** The headers of a client request as they go upstream. */
function forwardHeaders(ctx: Ctx, request: FastifyRequest, presented: PresentedToken | undefined, omit?: readonly string[]): ReturnType<typeof upstreamRequestHeaders> {
  return upstreamRequestHeaders(request.headers, {
    upstreamHost: ctx.o.upstreamHost,
    clientIp: request.ip,
    dropAuthorization: presented?.via === 'authorization',
    ...(ctx.o.upstreamAuthorization ? { authorization: ctx.o.upstreamAuthorization } : {}),
    ...(omit ? { omit } : {}),
  });
}

/** Streams a request upstream and its answer back: no body is ever held whole. */
async function passThrough(ctx: Ctx, request: FastifyRequest, reply: FastifyReply, presented: PresentedToken | undefined, pathAndQuery: string): Promise<void> {
  const headers = forwardHeaders(ctx, request, presented);
  const res = await ctx.up.send(request.method, pathAndQuery, headers, hasBody(request) ? request.raw : undefined);
  relayUpstream(ctx, request, reply, res);
}

/** The `subject` digest of a manifest body, if it is a JSON manifest with one. */
function subjectOf(body: Buffer): string | undefined {
  try {
    const doc = parseJson(body, { maxBytes: body.length, what: 'pushed manifest' });
    const s = isJsonObject(doc) && isJsonObject(doc.subject) ? doc.subject.digest : undefined;
    return isDigest(s) ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PUT of a manifest: forwarded like any push, but read first (manifests are small and bounded)
 * so that a referrer pushed through the proxy is noticed once the upstream accepted it.
 */
async function pushManifest(ctx: Ctx, request: FastifyRequest, reply: FastifyReply, presented: PresentedToken | undefined, pathAndQuery: string, name: string): Promise<void> {
  const { o, up } = ctx;
  const body = hasBody(request) ? await readBounded(request.raw, o.maxManifestBytes, `manifest push to ${name}`, 'DIST_TOO_LARGE') : Buffer.alloc(0);
  const headers = forwardHeaders(ctx, request, presented);
  headers['content-length'] = String(body.length);
  const res = await up.send('PUT', pathAndQuery, headers, Readable.from([body]));
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) {
    const subject = subjectOf(body);
    if (subject !== undefined) {
      try {
        o.onReferrerPushed!(qualifiedRepository(o.registryName, name), subject);
      } catch (e) {
        request.log.warn({ err: e }, 'proxy: onReferrerPushed listener failed');
      }
    }
  }
  relayUpstream(ctx, request, reply, res);
}

/** GET/HEAD of a manifest: fetch, recompute the digest, decide, answer the same bytes or 403. */
async function serveManifest(ctx: Ctx, request: FastifyRequest, reply: FastifyReply, presented: PresentedToken | undefined, name: string, reference: string): Promise<void> {
  const { o, up } = ctx;
  const headers = forwardHeaders(ctx, request, presented, MANIFEST_OMIT);
  if (headers.accept === undefined) headers.accept = ALL_MANIFEST_TYPES;
  const res = await up.send('GET', `/v2/${name}/manifests/${reference}`, headers);
  if (res.statusCode === 404) {
    // "No such manifest" in the OCI format (MANIFEST_UNKNOWN) with the catalogue's code in
    // `detail`, the code every other face gives (issue 13).
    res.resume();
    throw new OcitrustError('MANIFEST_NOT_FOUND', `manifest ${name}:${reference}: the upstream has no such manifest or repository`);
  }
  // Challenges and upstream errors reach the client as the upstream sent them.
  if (res.statusCode !== 200) return relayUpstream(ctx, request, reply, res);

  const bytes = await readBounded(res, o.maxManifestBytes, `manifest ${name}:${reference} from the upstream`);
  const byDigest = isDigest(reference);
  const digest = digestOf(bytes, byDigest ? parseDigest(reference).algorithm : 'sha256');
  if (byDigest && digest !== reference) {
    throw new OcitrustError('PROXY_UPSTREAM_BAD_RESPONSE', `the upstream answered ${name}@${reference} with bytes whose digest is ${digest}`);
  }
  const contentType = typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : '';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  const repository = qualifiedRepository(o.registryName, name);

  const bypass = o.canBypass ? await o.canBypass(request, repository) : false;
  let decision: Decision;
  if (bypass) {
    decision = { allow: true, reason: 'publisher token (unverified read for signing)' };
  } else {
    try {
      decision = await o.decide({
        repository,
        path: name,
        reference,
        digest,
        manifestBytes: bytes,
        mediaType,
        ...(presented ? { callerToken: presented.secret } : {}),
      });
    } catch (e) {
      // Fail closed: a decider that cannot decide refuses.
      request.log.warn({ err: e, repository, digest }, 'proxy: pull decision failed');
      decision = { allow: false, code: 'PROXY_VERIFY_UNAVAILABLE', reason: `could not verify (${isOcitrustError(e) ? `${e.code}: ${e.message}` : 'internal error'}); refusing` };
    }
  }
  try {
    o.onDecision?.(request, { repository, path: name, reference, digest, mediaType }, { ...decision, bypass });
  } catch (e) {
    request.log.warn({ err: e }, 'proxy: onDecision listener failed');
  }
  // A verified pull is the hot path: one line per pull only at debug. Refusals, warn-rule
  // passes and publisher bypasses stay at info (they are in the audit log as well).
  const level = decision.allow && !bypass && !decision.warning ? 'debug' : 'info';
  request.log[level]({ repository, reference, digest, allow: decision.allow, bypass, ...(decision.code ? { code: decision.code } : {}) }, 'proxy: manifest decision');
  if (!decision.allow) {
    const code = decision.code === 'PROXY_VERIFY_UNAVAILABLE' ? 'PROXY_VERIFY_UNAVAILABLE' : 'PROXY_PULL_DENIED';
    throw new OcitrustError(code, `pull of ${repository}@${digest} denied: ${decision.reason ?? 'refused by the pull policy'}`, {
      details: { detail: { repository, digest, ...(decision.code ? { code: decision.code } : {}) } },
    });
  }
  const out: Record<string, string> = {};
  for (const k of MANIFEST_KEEP) {
    const v = res.headers[k];
    if (typeof v === 'string') out[k] = v;
  }
  out['content-type'] = contentType || mediaType || 'application/octet-stream';
  out['content-length'] = String(bytes.length);
  out['docker-content-digest'] = digest;
  reply.hijack();
  reply.raw.writeHead(200, out);
  reply.raw.end(request.method === 'HEAD' ? undefined : bytes);
}

const plugin: FastifyPluginAsync<ProxyOptions> = async (app: FastifyInstance, options: ProxyOptions) => {
  const o = resolveProxyOptions(options);
  const up = new Upstream({ url: o.upstream, timeoutMs: o.upstreamTimeoutMs, maxSockets: o.maxSockets, ...(o.upstreamCa ? { ca: o.upstreamCa } : {}) });
  const ctx: Ctx = { o, up };
  app.addHook('onClose', async () => up.close());

  // Bodies stay unread streams, piped to the upstream as they arrive.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.setErrorHandler(async (err, request, reply) => {
    const w = proxyWireError(err);
    if (w.status >= 500) request.log.warn({ err }, 'proxy: request failed');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    reply.code(w.status).header('Docker-Distribution-API-Version', 'registry/2.0');
    for (const [k, v] of Object.entries(w.headers)) reply.header(k, v);
    if (request.method === 'HEAD') return reply.send();
    return reply.header('Content-Type', 'application/json').send(JSON.stringify(w.body));
  });

  const handler = (request: FastifyRequest, reply: FastifyReply): Promise<void> => handle(ctx, request, reply);
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  const config = { ...o.routeConfig };
  // The distribution API is documented by its own spec, not by the server's OpenAPI document.
  const schema = { hide: true };
  app.route({ method: [...methods], url: '/v2/', exposeHeadRoute: false, config, schema, handler });
  app.route({ method: [...methods], url: '/v2/*', exposeHeadRoute: false, config, schema, handler });
};

// What fastify-plugin would set, minus `skip-override`: the plugin stays encapsulated.
Object.assign(plugin, {
  [Symbol.for('fastify.display-name')]: 'ocitrust-proxy',
  [Symbol.for('plugin-meta')]: { name: 'ocitrust-proxy', fastify: '5.x' },
});

/**
 * The verifying registry proxy plugin. Register at the root of a fastify app (it owns
 * `/v2/*`; do not mount the embedded registry next to it):
 *
 * @example
 * await app.register(proxyPlugin, { upstream: 'http://127.0.0.1:5000', decide: enforcer.decide });
 * @throws OcitrustError INVALID_ARGUMENT at registration for bad options
 */
export const proxyPlugin = plugin;
