/**
 * Manifest endpoints (distribution-spec end-3, end-7, end-9): pull by tag or digest (through the
 * pull gate), push with validation and the `OCI-Subject` answer, delete.
 */
import { createHash } from 'node:crypto';
import { parseDigest } from '../../lib/crypto/hash.js';
import { OcitrustError } from '../../lib/errors/index.js';
import type { Call, RegistryContext } from './context.js';
import { etagOf, parseEtags, readBody } from './http.js';
import { checkManifest, type CheckedManifest } from './manifest.js';
import type { TagCondition } from './metadata-store.js';
import { isDigestReference } from './names.js';
import type { ManifestInfo } from './options.js';

function unknown(reference: string): OcitrustError {
  return new OcitrustError('DIST_MANIFEST_UNKNOWN', `manifest ${reference} unknown to registry`, { details: { detail: { reference } } });
}

/** GET / HEAD /v2/<name>/manifests/<reference>. */
export async function getManifest(ctx: RegistryContext, call: Call, name: string, reference: string, head: boolean): Promise<void> {
  const digest = isDigestReference(reference) ? reference : await ctx.store.resolveTag(name, reference);
  if (digest === undefined) throw unknown(reference);
  const m = await ctx.store.getManifest(name, digest);
  if (!m) throw unknown(reference);
  const gate = ctx.opts.beforeManifestGet;
  if (gate) {
    const info: ManifestInfo = {
      mediaType: m.mediaType,
      size: m.size,
      ...(m.artifactType !== null ? { artifactType: m.artifactType } : {}),
      ...(m.subject !== null ? { subject: m.subject } : {}),
    };
    const d = await gate(name, reference, digest, info, call.request);
    if (!(d === true || (typeof d === 'object' && d !== null && d.allow === true))) {
      const refusal = typeof d === 'object' && d !== null && d.allow === false ? d : undefined;
      const reason = refusal?.reason ?? 'refused by the pull policy';
      // The catalogue code in `detail`, where the verifying proxy puts it: clients tell a verdict from an outage alike.
      throw new OcitrustError('DIST_DENIED', `pull of ${name}@${digest} denied: ${reason}`, { details: { detail: { digest, reason, ...(refusal?.code ? { code: refusal.code } : {}) } } });
    }
  }
  const { reply } = call;
  reply.header('Docker-Content-Digest', digest).header('ETag', etagOf(digest));
  const inm = parseEtags(call.request.headers['if-none-match']);
  if (inm && (inm.includes(digest) || inm.includes('*'))) {
    await reply.code(304).send();
    return;
  }
  reply.header('Content-Type', m.mediaType).header('Content-Length', String(m.content.length));
  await (head ? reply.send() : reply.send(m.content));
}

/** Every referenced blob and child manifest must be in the repository, with the size the descriptor claims. */
async function checkReferences(ctx: RegistryContext, name: string, checked: CheckedManifest): Promise<void> {
  if (checked.blobs.length > 0) {
    const digests = checked.blobs.map((d) => d.digest);
    const have = await ctx.store.blobSizes(name, digests);
    const missing = digests.filter((d) => !have.has(d));
    // A descriptor may point at a manifest through the blob role (rare, but valid content).
    const asManifests = missing.length ? await ctx.store.manifestSizes(name, missing) : new Map<string, number>();
    for (const d of checked.blobs) {
      const size = have.get(d.digest) ?? asManifests.get(d.digest);
      if (size === undefined) {
        throw new OcitrustError('DIST_MANIFEST_BLOB_UNKNOWN', `manifest references blob ${d.digest}, which is not in ${name}`, { details: { detail: { digest: d.digest } } });
      }
      if (size !== d.size) {
        throw new OcitrustError('DIST_MANIFEST_INVALID', `descriptor of ${d.digest} says ${d.size} bytes, the blob has ${size}`, { details: { detail: { digest: d.digest } } });
      }
    }
  }
  if (checked.children.length > 0) {
    const have = await ctx.store.manifestSizes(name, checked.children.map((d) => d.digest));
    for (const d of checked.children) {
      const size = have.get(d.digest);
      if (size === undefined) {
        throw new OcitrustError('DIST_MANIFEST_BLOB_UNKNOWN', `index references manifest ${d.digest}, which is not in ${name}`, { details: { detail: { digest: d.digest } } });
      }
      if (size !== d.size) {
        throw new OcitrustError('DIST_MANIFEST_INVALID', `descriptor of ${d.digest} says ${d.size} bytes, the manifest has ${size}`, { details: { detail: { digest: d.digest } } });
      }
    }
  }
}

function tagCondition(call: Call): TagCondition {
  const im = parseEtags(call.request.headers['if-match']);
  if (im) return { ifMatch: im[0]! };
  const inm = parseEtags(call.request.headers['if-none-match']);
  if (inm?.[0] === '*') return { ifNoneMatch: '*' };
  return undefined;
}

/** PUT /v2/<name>/manifests/<reference> (201). */
export async function putManifest(ctx: RegistryContext, call: Call, name: string, reference: string): Promise<void> {
  const { request, reply } = call;
  const maxBytes = ctx.opts.limits.maxManifestBytes;
  const bytes = await readBody(request, maxBytes);
  const checked = checkManifest(bytes, request.headers['content-type'], maxBytes);
  let digest: string;
  if (isDigestReference(reference)) {
    const { algorithm } = parseDigest(reference);
    digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
    if (digest !== reference) {
      throw new OcitrustError('DIST_DIGEST_INVALID', `manifest content has digest ${digest}, not ${reference}`, { details: { detail: { digest: reference } } });
    }
  } else {
    digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }
  await checkReferences(ctx, name, checked);
  const tag = isDigestReference(reference) ? undefined : reference;
  await ctx.store.putManifest(
    name,
    { digest, mediaType: checked.mediaType, content: bytes, artifactType: checked.artifactType, subject: checked.subject, annotations: checked.annotations },
    tag,
    tag === undefined ? undefined : tagCondition(call),
    ctx.opts.onManifestStored
      ? (tx) => ctx.opts.onManifestStored!(tx, { repository: name, digest, artifactType: checked.artifactType, subject: checked.subject, annotations: checked.annotations, tag })
      : undefined,
  );
  reply.code(201).header('Location', `/v2/${name}/manifests/${digest}`).header('Docker-Content-Digest', digest);
  // distribution-spec "Pushing Manifests with Subject": the header says the referrers API indexed it.
  if (checked.subject !== undefined) reply.header('OCI-Subject', checked.subject);
  await reply.header('Content-Length', '0').send();
}

/** DELETE /v2/<name>/manifests/<reference>: a tag, or a manifest with every tag on it (202). */
export async function deleteManifest(ctx: RegistryContext, call: Call, name: string, reference: string): Promise<void> {
  if (!ctx.opts.allowDelete) throw new OcitrustError('DIST_UNSUPPORTED', 'deletion is disabled on this registry');
  const ok = isDigestReference(reference) ? await ctx.store.deleteManifest(name, reference) : await ctx.store.deleteTag(name, reference);
  if (!ok) throw unknown(reference);
  await call.reply.code(202).header('Content-Length', '0').send();
}
