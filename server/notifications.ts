/**
 * Receiver of a registry's notification events (Docker distribution "Notifications",
 * docs/notifications.md): `POST /v1/registry/events` with the envelope
 * `application/vnd.docker.distribution.events.v1+json`,
 * `{"events":[{id, timestamp, action, target:{mediaType, digest, size, repository, tag?, url?},
 * request:{addr, host, method, useragent}, actor:{name}, source:{addr, instanceID}}]}`.
 *
 * Each event lands in the audit log (`registry.<action>`). On a delete, the signatures whose
 * subject was the deleted manifest are looked up in the registry (referrers API or fallback
 * index) and reported (`registry.signatures-orphaned` entries and a warning): DESIGN §6 says
 * deleting is not revoking, so an operator must see signatures left without a subject.
 *
 * The registry retries until it gets a 2xx and blocks its queue meanwhile, so the receiver
 * answers quickly: it writes the audit entries and answers; the orphan lookup (registry round
 * trips) runs after the answer. Bodies are bounded; the endpoint needs its own bearer token
 * (the registry config's `headers: {Authorization: [Bearer …]}`), not a trust server token.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OcitrustError, assertArg } from '../lib/errors/index.js';
import { isDigest } from '../lib/crypto/hash.js';
import { parseJson, isJsonObject } from '../lib/json.js';
import type { RegistryClient } from '../lib/oci/client.js';
import { listSignatures } from '../lib/oci/referrers.js';
import type { AuditLog } from './audit.js';
import { qualifiedRepository } from './names.js';
import type { ServerPlugin } from './options.js';
import type { WebhookEvents } from './webhooks/index.js';
import { signatureCreatedEvent } from './webhooks/denials.js';

/** The envelope media type Docker distribution posts. */
export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

/** One event as recorded (the fields ocitrust keeps, bounded and sanitized). */
export interface RegistryEvent {
  readonly id: string;
  readonly timestamp?: string;
  /** `push`, `pull`, `delete`, `mount`… (as the registry says). */
  readonly action: string;
  readonly repository: string;
  readonly mediaType?: string;
  readonly digest?: string;
  readonly tag?: string;
  readonly size?: number;
  readonly actor?: string;
  readonly addr?: string;
  readonly userAgent?: string;
}

/** Signatures left behind by a deleted manifest. */
export interface OrphanReport {
  readonly repository: string;
  readonly digest: string;
  /** Digests of the signature manifests whose subject was the deleted manifest. */
  readonly signatures: readonly string[];
}

/** Options of {@link notificationRoutes}. */
export interface NotificationOptions {
  /** The bearer token the registry sends (`Authorization: Bearer <token>`); at least 16 characters. */
  readonly token: string;
  /** Registry host prefixed to repository names in the audit log (`registry.example.com`); default none. */
  readonly registryName?: string;
  /** Where signatures of deleted manifests are looked up; without it, orphans are not reported. */
  readonly registry?: RegistryClient;
  /** Largest envelope accepted (bytes, default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Most events in one envelope (default 1000). */
  readonly maxEvents?: number;
  /** Called with each orphan report (after it is audited). */
  readonly onOrphans?: (r: OrphanReport) => void;
  /** Most event ids remembered to drop redeliveries (default 10 000). */
  readonly dedupeWindow?: number;
}

const clip = (v: unknown, n: number): string | undefined => {
  if (typeof v !== 'string' || v === '') return undefined;
  const s = v.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return s.length > n ? `${s.slice(0, n)}…` : s;
};

function invalid(msg: string): OcitrustError {
  return new OcitrustError('NOTIFY_ENVELOPE_INVALID', msg);
}

/**
 * Validates an envelope and extracts its events.
 * @throws OcitrustError NOTIFY_ENVELOPE_INVALID
 */
export function parseEnvelope(doc: unknown, maxEvents = 1000): RegistryEvent[] {
  if (!isJsonObject(doc) || !Array.isArray(doc.events)) throw invalid('expected {"events": [...]}');
  if (doc.events.length > maxEvents) throw invalid(`more than ${maxEvents} events in one envelope`);
  return doc.events.map((e, i) => {
    if (!isJsonObject(e)) throw invalid(`events[${i}] is not an object`);
    const target = e.target;
    if (!isJsonObject(target)) throw invalid(`events[${i}].target is not an object`);
    const action = clip(e.action, 40);
    const repository = clip(target.repository, 255);
    if (!action || !/^[a-z_-]+$/i.test(action)) throw invalid(`events[${i}].action is missing or malformed`);
    if (!repository) throw invalid(`events[${i}].target.repository is missing`);
    const request = isJsonObject(e.request) ? e.request : {};
    const actor = isJsonObject(e.actor) ? e.actor : {};
    const digest = typeof target.digest === 'string' && isDigest(target.digest) ? target.digest : undefined;
    const size = typeof target.size === 'number' && Number.isSafeInteger(target.size) && target.size >= 0 ? target.size : typeof target.length === 'number' && Number.isSafeInteger(target.length) ? target.length : undefined;
    const out: RegistryEvent = {
      id: clip(e.id, 100) ?? `event-${i}`,
      action: action.toLowerCase(),
      repository,
      ...(clip(e.timestamp, 40) ? { timestamp: clip(e.timestamp, 40)! } : {}),
      ...(clip(target.mediaType, 255) ? { mediaType: clip(target.mediaType, 255)! } : {}),
      ...(digest ? { digest } : {}),
      ...(clip(target.tag, 128) ? { tag: clip(target.tag, 128)! } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(clip(actor.name, 100) ? { actor: clip(actor.name, 100)! } : {}),
      ...(clip(request.addr, 100) ? { addr: clip(request.addr, 100)! } : {}),
      ...(clip(request.useragent, 120) ? { userAgent: clip(request.useragent, 120)! } : {}),
    };
    return out;
  });
}

/** One line of audit detail for an event. */
function detailOf(e: RegistryEvent): string {
  const what = [e.mediaType, e.digest, e.tag !== undefined ? `tag ${e.tag}` : undefined, e.size !== undefined ? `${e.size} bytes` : undefined].filter(Boolean).join(' ');
  const who = [e.userAgent ? `agent ${e.userAgent}` : undefined, `event ${e.id}`].filter(Boolean).join('; ');
  return `${what || e.action}; ${who}`;
}

function sha(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Looks up the signatures of a deleted manifest and audits them as orphaned.
 * Registry errors are logged, never thrown (this runs after the answer).
 */
async function reportOrphans(
  o: NotificationOptions,
  audit: AuditLog,
  log: FastifyRequest['log'],
  e: RegistryEvent & { digest: string },
  repository: string,
): Promise<void> {
  if (!o.registry) return;
  try {
    const listing = await listSignatures(o.registry, { registry: o.registryName ?? 'registry', path: e.repository }, e.digest, { complete: true });
    const signatures = listing.descriptors.map((d) => d.digest);
    if (signatures.length === 0) return;
    const shown = signatures.slice(0, 5).join(', ') + (signatures.length > 5 ? ` (+${signatures.length - 5})` : '');
    await audit.record({
      actor: `registry:${e.actor ?? 'anonymous'}`,
      action: 'registry.signatures-orphaned',
      collection: repository,
      source: e.addr ?? null,
      outcome: 'ok',
      detail: `${signatures.length} signature(s) of deleted ${e.digest} left without a subject: ${shown}; revoke with trust revoke to make deletion final`,
    });
    log.warn({ repository, digest: e.digest, signatures: signatures.length }, 'registry: manifest deleted; its signatures are left without a subject');
    o.onOrphans?.({ repository, digest: e.digest, signatures });
  } catch (err) {
    log.warn({ err, repository, digest: e.digest }, 'registry: looking up signatures of a deleted manifest failed');
  }
}

/**
 * A pushed manifest that is an ocitrust signature artifact becomes a `signature.created`
 * webhook event. The notification carries no artifact type, so the manifest is fetched (after
 * the answer); registry errors are logged, never thrown.
 */
async function reportSignature(o: NotificationOptions, webhooks: WebhookEvents | undefined, log: FastifyRequest['log'], e: RegistryEvent & { digest: string }, repository: string): Promise<void> {
  if (!o.registry || !webhooks) return;
  try {
    const m = await o.registry.getManifest({ registry: o.registryName ?? 'registry', path: e.repository }, e.digest);
    const man = m.manifest as { artifactType?: string; subject?: { digest?: string }; annotations?: Record<string, string> };
    const ev = signatureCreatedEvent({ repository, digest: e.digest, artifactType: man.artifactType, subject: man.subject?.digest, annotations: man.annotations }, 'notification');
    if (ev) await webhooks.emit(ev);
  } catch (err) {
    log.warn({ err, repository, digest: e.digest }, 'registry: reading a pushed manifest for webhook events failed');
  }
}

/**
 * The notification receiver as a trust server plugin (`AppOptions.plugins`).
 *
 * @example buildApp({ plugins: [notificationRoutes({ token: process.env.OCITRUST_NOTIFY_TOKEN!, registry, registryName })] })
 * @throws OcitrustError INVALID_ARGUMENT for a missing or short token
 */
export function notificationRoutes(o: NotificationOptions): ServerPlugin {
  assertArg(o && typeof o.token === 'string' && o.token.length >= 16 && /^[\x21-\x7e]+$/.test(o.token), 'notifications token', 'at least 16 printable characters', '<redacted>');
  const expected = sha(`Bearer ${o.token}`);
  const maxBody = o.maxBodyBytes ?? 1024 * 1024;
  const seen = new Set<string>();
  const window = o.dedupeWindow ?? 10_000;

  return async (app: FastifyInstance, ctx) => {
    // Encapsulated: this parser accepts the events media type for this route only.
    await app.register(async (child) => {
      const parse = (_req: FastifyRequest, body: Buffer, done: (err: Error | null, v?: unknown) => void): void => {
        try {
          done(null, parseJson(body, { maxBytes: maxBody, what: 'notification envelope' }));
        } catch (e) {
          done(e instanceof OcitrustError ? new OcitrustError('NOTIFY_ENVELOPE_INVALID', e.message, { cause: e }) : (e as Error));
        }
      };
      child.addContentTypeParser(EVENTS_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit: maxBody }, parse);

      // Before the body is read: a caller without the token costs one comparison.
      child.addHook('onRequest', async (request) => {
        const got = request.headers.authorization;
        if (typeof got !== 'string' || !timingSafeEqual(sha(got), expected)) {
          await ctx.audit.record({ actor: 'anonymous', action: 'registry.notify', source: request.ip, outcome: 'denied', code: 'NOTIFY_AUTH_FAILED', detail: 'missing or wrong bearer token' });
          throw new OcitrustError('NOTIFY_AUTH_FAILED', 'registry notifications need the configured bearer token');
        }
      });

      child.post(
        '/v1/registry/events',
        {
          bodyLimit: maxBody,
          config: { open: true },
          schema: {
            summary: 'Receive registry notification events',
            description: 'Docker distribution notification envelope; each event is recorded in the audit log. Deletes are checked for signatures left without a subject.',
            tags: ['registry'],
            response: { 200: { type: 'object', required: ['received', 'recorded'], properties: { received: { type: 'integer' }, recorded: { type: 'integer' } } } },
          },
        },
        async (request) => {
          const events = parseEnvelope(request.body, o.maxEvents ?? 1000);
          let recorded = 0;
          const deletes: { e: RegistryEvent & { digest: string }; repository: string }[] = [];
          const pushes: { e: RegistryEvent & { digest: string }; repository: string }[] = [];
          for (const e of events) {
            // The registry redelivers until it sees a 2xx; one entry per event id.
            if (seen.has(e.id)) continue;
            if (seen.size >= window) seen.clear();
            seen.add(e.id);
            const repository = o.registryName ? qualifiedRepository(o.registryName, e.repository) : e.repository;
            await ctx.audit.record({
              actor: `registry:${e.actor ?? 'anonymous'}`,
              action: `registry.${e.action}`,
              collection: repository,
              source: e.addr ?? null,
              outcome: 'ok',
              detail: detailOf(e),
            });
            recorded++;
            if (e.action === 'delete' && e.digest !== undefined && e.tag === undefined) deletes.push({ e: e as RegistryEvent & { digest: string }, repository });
            if (e.action === 'push' && e.digest !== undefined && e.mediaType !== undefined && /manifest|index/.test(e.mediaType)) pushes.push({ e: e as RegistryEvent & { digest: string }, repository });
          }
          for (const d of deletes) void reportOrphans(o, ctx.audit, request.log, d.e, d.repository);
          for (const p of pushes) void reportSignature(o, ctx.webhooks, request.log, p.e, p.repository);
          return { received: events.length, recorded };
        },
      );
    });
  };
}
