/**
 * Events of refusals and pushes that are not data changes of the trust server: admission
 * denials, proxy denials, signatures pushed to a registry the server watches. Built here from
 * what the services already have; written in a transaction of their own.
 */
import type { AdmissionOutcome } from '../../hook/admission.js';
import { parseReference } from '../../lib/reference.js';
import { isJsonObject } from '../../lib/json.js';
import { ENVELOPE_ANNOTATION, SIGNATURE_ARTIFACT_TYPE } from '../../lib/oci/types.js';
import { parseEnvelope } from '../../lib/statements/dsse.js';
import { parseStatement } from '../../lib/statements/statement.js';
import type { EventInput } from './events.js';
import type { TokenRecord } from '../tokens.js';

/**
 * Drops repeats of one denial within a window (per instance): a controller retrying an
 * unsigned pod, or CI retrying a refused pull, would otherwise flood the receivers. The first
 * denial of each (kind, image/repository, digest, codes) per window is reported.
 */
export class RepeatFilter {
  readonly #seen = new Map<string, number>();
  constructor(private readonly windowMs = 60_000) {}

  /** True when `key` was not reported within the window (and records it now). */
  fresh(key: string, now = Date.now()): boolean {
    const last = this.#seen.get(key);
    if (last !== undefined && now - last < this.windowMs) return false;
    if (this.#seen.size > 10_000) this.#seen.clear();
    this.#seen.set(key, now);
    return true;
  }
}

const str = (v: unknown, max = 253): string | null => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null);

/** The trust collection an image reference belongs to (its normalized repository), or null. */
export function collectionOfImage(image: string): string | null {
  try {
    return parseReference(image).repository;
  } catch {
    return null;
  }
}

/** One `admission.denied` event per denied image of a review (namespace, object, image, codes). */
export function admissionDeniedEvents(outcome: AdmissionOutcome, review: unknown): EventInput[] {
  const req = isJsonObject(review) && isJsonObject(review.request) ? review.request : {};
  const obj = isJsonObject(req.object) ? req.object : {};
  const meta = isJsonObject(obj.metadata) ? obj.metadata : {};
  const kind = isJsonObject(req.kind) ? str(req.kind.kind, 63) : null;
  const namespace = str(req.namespace) ?? str(meta.namespace);
  const object = str(req.name) ?? str(meta.name) ?? str(meta.generateName);
  const byImage = new Map<string, { codes: Set<string>; containers: Set<string>; rule: string | null; digest: string | null }>();
  for (const v of outcome.verdicts) {
    if (v.decision !== 'denied') continue;
    const e = byImage.get(v.image) ?? { codes: new Set<string>(), containers: new Set<string>(), rule: v.rule ?? null, digest: v.digest ?? null };
    if (v.code) e.codes.add(v.code);
    if (v.container) e.containers.add(v.container);
    byImage.set(v.image, e);
  }
  return [...byImage].map(([image, e]) => ({
    name: 'admission.denied' as const,
    collection: collectionOfImage(image),
    data: {
      namespace,
      object,
      kind,
      operation: str(req.operation, 20),
      uid: str(req.uid, 64),
      image: image.slice(0, 512),
      ...(e.digest ? { digest: e.digest } : {}),
      codes: [...e.codes],
      containers: [...e.containers],
      rule: e.rule,
    },
  }));
}

/** The `proxy.denied` event of a refused pull. */
export function proxyDeniedEvent(d: { repository: string; reference: string; digest: string; source: string | null; code: string | null; reason: string | null }): EventInput {
  return {
    name: 'proxy.denied',
    collection: d.repository,
    data: { repository: d.repository, reference: d.reference.slice(0, 256), digest: d.digest, source: d.source, code: d.code, reason: d.reason?.slice(0, 500) ?? null },
  };
}

/**
 * The `signature.created` event of a pushed manifest, or null when it is not an ocitrust
 * signature artifact. Signer, role and tag come from the envelope's statement as pushed: they
 * are claims, not verified (verification decides later whether the signature counts).
 */
export function signatureCreatedEvent(
  m: { repository: string; digest: string; artifactType: string | null | undefined; subject: string | null | undefined; annotations: Readonly<Record<string, string>> | null | undefined },
  via: 'registry' | 'notification',
): EventInput | null {
  if (m.artifactType !== SIGNATURE_ARTIFACT_TYPE || !m.subject) return null;
  let role: string | null = null;
  let tag: string | null = null;
  let name: string | null = null;
  let keyids: string[] = [];
  const env = m.annotations?.[ENVELOPE_ANNOTATION];
  if (env) {
    try {
      const envelope = parseEnvelope(Buffer.from(env, 'base64'));
      keyids = envelope.signatures.map((s) => s.keyid.slice(0, 128)).slice(0, 16);
      const st = parseStatement(envelope.payload);
      if (st.kind === 'signature') {
        role = st.signature.role;
        tag = st.signature.tag ?? null;
      }
      name = st.subject[0]?.name ?? null;
    } catch {
      // An unreadable envelope is still a pushed signature artifact; the verifier will reject it.
    }
  }
  const collection = name && name.endsWith(m.repository) ? name : m.repository;
  return {
    name: 'signature.created',
    collection,
    data: { repository: collection, digest: m.subject, signatureDigest: m.digest, tag, role, signer: role, keyids, via },
  };
}

/** The `token.created` event (id, name, role, patterns; never the secret or its hash). */
export function tokenCreatedEvent(t: TokenRecord, by: string, auditId: number | null): EventInput {
  return { name: 'token.created', collection: null, auditId, data: { tokenId: t.id, name: t.name, role: t.role, patterns: [...t.patterns], expiresAt: t.expiresAt, createdBy: by } };
}

/** The `token.revoked` event. */
export function tokenRevokedEvent(t: TokenRecord, by: string, auditId: number | null): EventInput {
  return { name: 'token.revoked', collection: null, auditId, data: { tokenId: t.id, name: t.name, role: t.role, patterns: [...t.patterns], revokedBy: by } };
}
