/**
 * Blob endpoints (distribution-spec end-2, end-4a/4b, end-5, end-6, end-10, end-11, end-13,
 * end-14): pull with Range, delete, and upload sessions (POST, PATCH, PUT, GET, DELETE),
 * monolithic POST?digest= and cross-repository mount.
 */
import { randomBytes } from 'node:crypto';
import { isDigest } from '../../lib/crypto/hash.js';
import { OcitrustError } from '../../lib/errors/index.js';
import { mayAccess, type Call, type RegistryContext } from './context.js';
import { bodyStream, contentLength, etagOf, parseContentRange, parseRange, uploadRange } from './http.js';
import { isRepositoryName } from './names.js';
import { failpoint } from './failpoints.js';

const IMMUTABLE = 'max-age=31536000, immutable';

function blobLocation(name: string, digest: string): string {
  return `/v2/${name}/blobs/${digest}`;
}

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

/** GET / HEAD /v2/<name>/blobs/<digest>. */
export async function getBlob(ctx: RegistryContext, call: Call, name: string, digest: string, head: boolean): Promise<void> {
  const { reply } = call;
  const linked = await ctx.store.blobSize(name, digest);
  let size: number;
  let body: Uint8Array | undefined;
  if (linked !== undefined) {
    const onDisk = await ctx.blobs.size(digest);
    if (onDisk === undefined) throw new OcitrustError('DIST_BLOB_UNKNOWN', `blob ${digest} unknown to registry`, { details: { detail: { digest } } });
    size = onDisk;
  } else {
    // Manifests are content too: serve one fetched through the blob endpoint, as Docker distribution does.
    const m = await ctx.store.getManifest(name, digest);
    if (!m) throw new OcitrustError('DIST_BLOB_UNKNOWN', `blob ${digest} unknown to registry`, { details: { detail: { digest } } });
    size = m.content.length;
    body = m.content;
  }
  const range = size > 0 ? parseRange(call.request.headers.range, size) : undefined;
  reply
    .header('Content-Type', 'application/octet-stream')
    .header('Docker-Content-Digest', digest)
    .header('ETag', etagOf(digest))
    .header('Accept-Ranges', 'bytes')
    .header('Cache-Control', IMMUTABLE);
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  if (range) reply.code(206).header('Content-Range', `bytes ${start}-${end}/${size}`);
  reply.header('Content-Length', String(end - start + 1));
  if (head || size === 0) {
    await reply.send();
    return;
  }
  await reply.send(body ? Buffer.from(body.buffer, body.byteOffset + start, end - start + 1) : ctx.blobs.read(digest, start, end));
}

/** DELETE /v2/<name>/blobs/<digest>: unlinks the blob from the repository (202). */
export async function deleteBlob(ctx: RegistryContext, call: Call, name: string, digest: string): Promise<void> {
  if (!ctx.opts.allowDelete) throw new OcitrustError('DIST_UNSUPPORTED', 'deletion is disabled on this registry');
  if (!(await ctx.store.unlinkBlob(name, digest))) {
    throw new OcitrustError('DIST_BLOB_UNKNOWN', `blob ${digest} unknown to registry`, { details: { detail: { digest } } });
  }
  await call.reply.code(202).header('Content-Length', '0').send();
}

async function created(call: Call, name: string, digest: string): Promise<void> {
  await call.reply.code(201).header('Location', blobLocation(name, digest)).header('Docker-Content-Digest', digest).send();
}

/** POST /v2/<name>/blobs/uploads/: mount, monolithic upload, or a new session. */
export async function startUpload(ctx: RegistryContext, call: Call, name: string): Promise<void> {
  const { query, request } = call;
  if (query.mount !== undefined) {
    // The spec lets a registry fall back to a plain session (202) whenever it will not mount;
    // mounting needs `from` and pull rights there, or any digest-guesser could copy blobs
    // out of repositories they cannot read.
    const from = query.from;
    if (isDigest(query.mount) && from !== undefined && isRepositoryName(from) && (await mayAccess(ctx, request, { repository: from, action: 'pull' }))) {
      const size = await ctx.store.blobSize(from, query.mount);
      if (size !== undefined && (await ctx.blobs.size(query.mount)) === size) {
        await ctx.store.linkBlob(name, query.mount, size);
        return created(call, name, query.mount);
      }
    }
  } else if (query.digest !== undefined) {
    const digest = query.digest;
    if (!isDigest(digest)) throw new OcitrustError('DIST_DIGEST_INVALID', `${JSON.stringify(String(digest).slice(0, 80))} is not a sha256/sha512 digest`);
    const size = await ctx.blobs.putStream(bodyStream(request), digest, ctx.opts.limits.maxBlobBytes);
    const declared = contentLength(request);
    if (declared !== undefined && declared !== size) throw new OcitrustError('DIST_SIZE_INVALID', `Content-Length ${declared} but ${size} bytes received`);
    await ctx.store.linkBlob(name, digest, size);
    return created(call, name, digest);
  }
  if ((await ctx.store.countUploads()) >= ctx.opts.limits.maxOpenUploads) {
    throw new OcitrustError('DIST_TOO_MANY_REQUESTS', 'too many uploads in progress; retry later', { details: { headers: { 'Retry-After': '10' } } });
  }
  const id = randomBytes(16).toString('hex');
  await ctx.blobs.createUpload(id);
  await ctx.store.createUpload(id, name);
  await call.reply
    .code(202)
    .header('Location', uploadLocation(name, id))
    .header('Range', uploadRange(0))
    .header('Docker-Upload-UUID', id)
    .header('Content-Length', '0')
    .send();
}

async function session(ctx: RegistryContext, name: string, id: string): Promise<{ size: number; digest?: string }> {
  const up = await ctx.store.getUpload(id);
  if (!up || up.repository !== name) throw new OcitrustError('DIST_BLOB_UPLOAD_UNKNOWN', 'upload unknown: never started, finished, cancelled or expired');
  return up;
}

/** An upload session still taking chunks (a finished one is unknown to PATCH, GET and DELETE). */
async function openSession(ctx: RegistryContext, name: string, id: string): Promise<{ size: number }> {
  const up = await session(ctx, name, id);
  if (up.digest !== undefined) throw new OcitrustError('DIST_BLOB_UPLOAD_UNKNOWN', `upload unknown: it finished as ${up.digest}`);
  return up;
}

/**
 * Writes the request body into the session's scratch file at `size`, checking Content-Range
 * (416 when the chunk does not start there) and Content-Length; returns the bytes written. The
 * write is positional and does not move the session: a request that fails or dies half-way
 * leaves the session where it was, and its retry overwrites the same bytes.
 */
async function writeChunk(ctx: RegistryContext, call: Call, name: string, id: string, size: number): Promise<number> {
  const { request } = call;
  const cr = request.headers['content-range'];
  const range = typeof cr === 'string' ? parseContentRange(cr) : undefined;
  if (range && range.start !== size) {
    throw new OcitrustError('DIST_RANGE_INVALID', `chunk starts at ${range.start} but the upload is at ${size}`, {
      details: { headers: { Location: uploadLocation(name, id), Range: uploadRange(size) } },
    });
  }
  const written = await ctx.blobs.write(id, size, bodyStream(request), ctx.opts.limits.maxBlobBytes);
  const declared = contentLength(request);
  if (declared !== undefined && declared !== written) throw new OcitrustError('DIST_SIZE_INVALID', `Content-Length ${declared} but ${written} bytes received`);
  if (range && range.end - range.start + 1 !== written) {
    throw new OcitrustError('DIST_BLOB_UPLOAD_INVALID', `Content-Range ${range.start}-${range.end} but ${written} bytes received`);
  }
  return written;
}

/** PATCH /v2/<name>/blobs/uploads/<id>: one chunk (202 with the new Range). */
export async function patchUpload(ctx: RegistryContext, call: Call, name: string, id: string): Promise<void> {
  const size = await ctx.withUploadLock(id, async () => {
    const { size: at } = await openSession(ctx, name, id);
    const written = await writeChunk(ctx, call, name, id, at);
    // Only a fully received chunk advances the offset.
    if (written > 0 && !(await ctx.store.advanceUpload(id, at, at + written))) {
      throw new OcitrustError('DIST_RANGE_INVALID', 'another request moved this upload; GET it for the current offset');
    }
    return at + written;
  });
  await call.reply
    .code(202)
    .header('Location', uploadLocation(name, id))
    .header('Range', uploadRange(size))
    .header('Docker-Upload-UUID', id)
    .header('Content-Length', '0')
    .send();
}

/**
 * PUT /v2/<name>/blobs/uploads/<id>?digest=: optional last chunk, then verify and publish (201).
 *
 * Idempotent, so that a client may repeat it after a crash or a lost answer (issue 12, item
 * 14): the last chunk is written at the session's offset without moving it; once the bytes
 * hash to the digest, the session is sealed as "finished as <digest>" (one conditional
 * update), and only then is the blob moved into place and linked. A repeated PUT on a sealed
 * session with the same digest finishes whatever step the first attempt did not reach and
 * answers 201 again, ignoring its body; before the seal, it simply writes the chunk again at
 * the same offset. Before, the chunk moved the offset first, so a retry appended it twice and
 * failed with DIGEST_INVALID.
 */
export async function finishUpload(ctx: RegistryContext, call: Call, name: string, id: string): Promise<void> {
  const digest = call.query.digest;
  if (digest === undefined || !isDigest(digest)) {
    throw new OcitrustError('DIST_DIGEST_INVALID', 'closing an upload needs ?digest=<sha256:…> of the whole blob');
  }
  await ctx.withUploadLock(id, async () => {
    const up = await session(ctx, name, id);
    if (up.digest !== undefined) {
      if (up.digest !== digest) throw new OcitrustError('DIST_BLOB_UPLOAD_UNKNOWN', `upload unknown: it finished as ${up.digest}, not ${digest}`);
      await publishFinished(ctx, name, id, up.size, digest);
      return;
    }
    const size = up.size + (await writeChunk(ctx, call, name, id, up.size));
    failpoint('registry.upload.appended');
    try {
      await ctx.blobs.verifyUpload(id, size, digest);
    } catch (e) {
      await ctx.store.deleteUpload(id);
      throw e;
    }
    if (!(await ctx.store.sealUpload(id, up.size, size, digest))) {
      throw new OcitrustError('DIST_RANGE_INVALID', 'another request moved this upload; GET it for the current offset');
    }
    failpoint('registry.upload.verified');
    await publishFinished(ctx, name, id, size, digest);
  });
  await created(call, name, digest);
}

/** The steps after the seal, each safe to repeat: blob file in place, then linked to the repository. */
async function publishFinished(ctx: RegistryContext, name: string, id: string, size: number, digest: string): Promise<void> {
  await ctx.blobs.publishUpload(id, size, digest);
  failpoint('registry.upload.committed');
  await ctx.store.linkBlob(name, digest, size);
  failpoint('registry.upload.linked');
}

/** GET /v2/<name>/blobs/uploads/<id>: the session's offset (204). */
export async function uploadStatus(ctx: RegistryContext, call: Call, name: string, id: string): Promise<void> {
  const { size } = await openSession(ctx, name, id);
  await call.reply
    .code(204)
    .header('Location', uploadLocation(name, id))
    .header('Range', uploadRange(size))
    .header('Docker-Upload-UUID', id)
    .send();
}

/** DELETE /v2/<name>/blobs/uploads/<id>: cancels the session (204). */
export async function cancelUpload(ctx: RegistryContext, call: Call, name: string, id: string): Promise<void> {
  await openSession(ctx, name, id);
  await ctx.withUploadLock(id, async () => {
    await ctx.blobs.removeUpload(id);
    await ctx.store.deleteUpload(id);
  });
  await call.reply.code(204).send();
}
