/**
 * Blob bytes on the filesystem, content-addressed: `<dataDir>/blobs/<alg>/<first 2 hex>/<hex>`.
 *
 * Uploads are written under `<dataDir>/uploads/` (same filesystem, so rename is atomic), then
 * truncated to the acknowledged length, hashed, fsynced and only then renamed into place. A
 * blob path therefore only ever holds complete bytes that hash to its name: a crash or an
 * abandoned upload leaves at most a file in `uploads/`, which no request can read and the
 * sweeper deletes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseDigest } from '../../lib/crypto/hash.js';
import { OcitrustError } from '../../lib/errors/index.js';

/** Content-addressed blob files plus upload scratch files. */
export class BlobStore {
  private readonly blobsDir: string;
  private readonly uploadsDir: string;

  constructor(dataDir: string) {
    this.blobsDir = join(dataDir, 'blobs');
    this.uploadsDir = join(dataDir, 'uploads');
  }

  /** Creates the directories. */
  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
  }

  /** Path of the blob `digest` (digest already validated). */
  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.blobsDir, algorithm, hex.slice(0, 2), hex);
  }

  private uploadPath(id: string): string {
    return join(this.uploadsDir, id);
  }

  /** Creates the empty scratch file of upload `id`. */
  async createUpload(id: string): Promise<void> {
    const fh = await open(this.uploadPath(id), 'wx');
    await fh.close();
  }

  /**
   * Writes `source` into upload `id` starting at byte `offset` (positional writes, so bytes of
   * an interrupted earlier attempt past `offset` are simply overwritten), and returns how many
   * bytes were written.
   * @throws OcitrustError DIST_TOO_LARGE when offset + bytes would exceed `maxTotal`;
   *   DIST_BLOB_UPLOAD_UNKNOWN when the scratch file is gone
   */
  async write(id: string, offset: number, source: AsyncIterable<Uint8Array>, maxTotal: number): Promise<number> {
    let fh;
    try {
      fh = await open(this.uploadPath(id), 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new OcitrustError('DIST_BLOB_UPLOAD_UNKNOWN', 'upload expired or was cancelled');
      throw e;
    }
    let pos = offset;
    const it = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await it.next();
        } catch (e) {
          // The client went away mid-body: a client matter, not a server fault.
          throw new OcitrustError('DIST_BLOB_UPLOAD_INVALID', 'request body interrupted', { cause: e });
        }
        if (next.done) break;
        const chunk = next.value;
        if (pos + chunk.length > maxTotal) {
          throw new OcitrustError('DIST_TOO_LARGE', `blob larger than the limit of ${maxTotal} bytes`);
        }
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, pos + done);
          done += bytesWritten;
        }
        pos += chunk.length;
      }
    } finally {
      await fh.close();
    }
    return pos - offset;
  }

  /**
   * Finishes upload `id` of `size` bytes as blob `digest`: {@link verifyUpload}, then
   * {@link publishUpload}.
   * @throws OcitrustError DIST_DIGEST_INVALID when the bytes do not hash to `digest`
   */
  async commit(id: string, size: number, digest: string): Promise<void> {
    await this.verifyUpload(id, size, digest);
    await this.publishUpload(id, size, digest);
  }

  /**
   * Truncates the scratch file of upload `id` to `size`, hashes it, compares with `digest` and
   * fsyncs it: afterwards the file holds exactly the blob, durably, until it is published or
   * removed. On any failure the scratch file is deleted.
   * @throws OcitrustError DIST_DIGEST_INVALID when the bytes do not hash to `digest`;
   *   DIST_BLOB_UPLOAD_UNKNOWN when the scratch file is gone
   */
  async verifyUpload(id: string, size: number, digest: string): Promise<void> {
    const scratch = this.uploadPath(id);
    const { algorithm, hex } = parseDigest(digest);
    try {
      let fh;
      try {
        fh = await open(scratch, 'r+');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new OcitrustError('DIST_BLOB_UPLOAD_UNKNOWN', 'upload expired or was cancelled');
        throw e;
      }
      try {
        await fh.truncate(size);
        const hash = createHash(algorithm);
        for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) hash.update(chunk as Buffer);
        if (hash.digest('hex') !== hex) {
          throw new OcitrustError('DIST_DIGEST_INVALID', `uploaded content does not match ${digest}`, { details: { detail: { digest } } });
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      await rm(scratch, { force: true });
      throw e;
    }
  }

  /**
   * Moves the verified scratch file of upload `id` into place as blob `digest` (atomic rename,
   * directory fsynced). When the blob already exists (a concurrent push of the same content),
   * the scratch file is dropped instead. No-op when the scratch file is already gone and the
   * blob is in place (a retry after a crash that followed the rename).
   * @throws OcitrustError DIST_BLOB_UPLOAD_UNKNOWN when neither the scratch file nor the blob exists
   */
  async publishUpload(id: string, size: number, digest: string): Promise<void> {
    const scratch = this.uploadPath(id);
    const final = this.blobPath(digest);
    const existing = await stat(final).catch(() => undefined);
    const present = existing?.isFile() === true && existing.size === size;
    if (!(await this.hasUpload(id))) {
      if (present) return;
      throw new OcitrustError('DIST_BLOB_UPLOAD_UNKNOWN', 'the bytes of this upload are gone (expired); start a new upload');
    }
    try {
      if (present) {
        await unlink(scratch);
        return;
      }
      await mkdir(dirname(final), { recursive: true });
      await rename(scratch, final);
      await this.syncDir(dirname(final));
    } catch (e) {
      await rm(scratch, { force: true });
      throw e;
    }
  }

  /** True while the scratch file of upload `id` exists. */
  async hasUpload(id: string): Promise<boolean> {
    return (await stat(this.uploadPath(id)).catch(() => undefined))?.isFile() === true;
  }

  /**
   * Stores a whole blob from `source` (monolithic upload) through a scratch file; returns its size.
   * @throws OcitrustError DIST_DIGEST_INVALID, DIST_TOO_LARGE
   */
  async putStream(source: AsyncIterable<Uint8Array>, digest: string, maxBytes: number): Promise<number> {
    const id = `mono-${randomBytes(16).toString('hex')}`;
    await this.createUpload(id);
    let size: number;
    try {
      size = await this.write(id, 0, source, maxBytes);
    } catch (e) {
      await rm(this.uploadPath(id), { force: true });
      throw e;
    }
    await this.commit(id, size, digest);
    return size;
  }

  private async syncDir(dir: string): Promise<void> {
    // Makes the rename itself durable; not every filesystem allows fsync on a directory.
    try {
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      /* best effort */
    }
  }

  /** Size of the stored blob file, or undefined when absent. */
  async size(digest: string): Promise<number | undefined> {
    const s = await stat(this.blobPath(digest)).catch(() => undefined);
    return s?.isFile() ? s.size : undefined;
  }

  /** A stream of bytes `start..end` (inclusive) of blob `digest`. */
  read(digest: string, start: number, end: number): ReadStream {
    return createReadStream(this.blobPath(digest), { start, end });
  }

  /** Deletes the scratch file of upload `id` (no error when absent). */
  async removeUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }

  /** Deletes scratch files not modified since `before` (epoch ms); returns their upload ids. */
  async sweep(before: number): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.uploadsDir).catch(() => [] as string[])) {
      const p = join(this.uploadsDir, name);
      const s = await stat(p).catch(() => undefined);
      if (s && s.mtimeMs < before) {
        await rm(p, { force: true });
        removed.push(name);
      }
    }
    return removed;
  }
}
