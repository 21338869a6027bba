import { isIPv4 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OcitrustError } from '../../lib/errors/index.js';
import { qualifiedRepository } from '../names.js';
import type { BlobStore } from './blob-store.js';
import type { RegistryQuery } from './http.js';
import type { MetadataStore } from './metadata-store.js';
import type { AccessRequest, ResolvedOptions } from './options.js';

/** State shared by the registry's handlers. */
export interface RegistryContext {
  readonly opts: ResolvedOptions;
  readonly store: MetadataStore;
  readonly blobs: BlobStore;
  /** Runs `fn` exclusively for upload `id` within this process (chunks of one session never interleave). */
  withUploadLock<T>(id: string, fn: () => Promise<T>): Promise<T>;
}

/** A registry request after routing. */
export interface Call {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly query: RegistryQuery;
}

/** Serializes work per key inside this process. */
export function keyedLock(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

/**
 * This registry's name for a request: the configured `registryName`, else the IPv4 address and
 * port of the listener the request arrived on (the socket's local end: chosen by the server, not
 * the client's Host header). Undefined when neither is known (IPv6 listeners, inject()).
 */
export function registryNameOf(ctx: RegistryContext, request: FastifyRequest): string | undefined {
  if (ctx.opts.registryName !== undefined) return ctx.opts.registryName;
  const socket = request.raw.socket as { localAddress?: string; localPort?: number } | undefined;
  let ip = socket?.localAddress;
  const port = socket?.localPort;
  if (ip === undefined || !port) return undefined;
  if (ip.startsWith('::ffff:') && isIPv4(ip.slice(7))) ip = ip.slice(7);
  return isIPv4(ip) ? `${ip}:${port}` : undefined;
}

/**
 * Asks the authorize hook, with the repository's collection-qualified name; fails closed on
 * anything but an explicit allow.
 * @throws OcitrustError DIST_UNAUTHORIZED, DIST_DENIED, or what the hook throws
 */
export async function checkAccess(ctx: RegistryContext, request: FastifyRequest, want: Omit<AccessRequest, 'name'>): Promise<void> {
  const hook = ctx.opts.authorize;
  if (!hook) return;
  const registryName = want.repository === null ? undefined : registryNameOf(ctx, request);
  const access: AccessRequest = { ...want, name: want.repository !== null && registryName !== undefined ? qualifiedRepository(registryName, want.repository) : null };
  const d = await hook(request, access);
  if (d === true || (typeof d === 'object' && d !== null && d.allow === true)) return;
  const what = `${access.action} on ${access.repository ?? 'the registry'}`;
  if (typeof d === 'object' && d !== null && d.allow === false && d.status === 401) {
    throw new OcitrustError('DIST_UNAUTHORIZED', d.message ?? `authentication required for ${what}`, {
      details: d.wwwAuthenticate ? { headers: { 'WWW-Authenticate': d.wwwAuthenticate } } : {},
    });
  }
  const message = typeof d === 'object' && d !== null && d.allow === false && d.message ? d.message : `access denied: ${what}`;
  throw new OcitrustError('DIST_DENIED', message);
}

/** True when the hook allows `access` (for optional steps like a cross-repo mount); errors count as no. */
export async function mayAccess(ctx: RegistryContext, request: FastifyRequest, access: Omit<AccessRequest, 'name'>): Promise<boolean> {
  try {
    await checkAccess(ctx, request, access);
    return true;
  } catch {
    return false;
  }
}
