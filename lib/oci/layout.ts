/**
 * An OCI image layout folder (image-spec image-layout.md): `oci-layout`
 * (`{"imageLayoutVersion":"1.0.0"}`), `index.json` (an image index whose descriptors name the
 * layout's manifests; `org.opencontainers.image.ref.name` gives them names) and
 * `blobs/<alg>/<hex>`. A layout carried across an air gap is untrusted like a registry: every
 * blob is hashed when read and must match the digest it is stored under
 * (LAYOUT_BLOB_MISMATCH), every size is bounded before reading, and index.json goes through
 * the strict index parser.
 *
 * Writes are atomic per file (temp file, rename), blobs first and index.json last, so a
 * layout interrupted while being written still describes only complete content.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../keys/atomic-write.js';
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { digestOf, isDigest, parseDigest } from '../crypto/hash.js';
import { OCI_INDEX, parseImageIndex, type Descriptor, type ImageIndex } from './types.js';

/** The index.json annotation naming a manifest (image-spec annotations.md). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Largest index.json read (many images and their signatures). */
export const MAX_LAYOUT_INDEX_BYTES = 32 * 1024 * 1024;
/** Most descriptors in index.json. */
export const MAX_LAYOUT_ENTRIES = 100_000;
const LAYOUT_FILE = '{"imageLayoutVersion":"1.0.0"}';

/** The path of a blob inside a layout folder. @throws LAYOUT_INVALID for a malformed digest */
export function blobPath(dir: string, digest: string): string {
  if (!isDigest(digest)) throw new OcitrustError('LAYOUT_INVALID', `expected a sha256:/sha512: digest, got ${JSON.stringify(String(digest).slice(0, 80))}`);
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, 'blobs', algorithm, hex);
}

function mismatch(dir: string, digest: string, got: string): OcitrustError {
  return new OcitrustError('LAYOUT_BLOB_MISMATCH', `layout ${dir}: blob ${digest} does not match its digest: got ${got}`, { details: { digest } });
}

/**
 * One OCI image layout folder. Open it with {@link OciLayout.open} (checks `oci-layout`) or
 * create one with {@link OciLayout.create}.
 *
 * @example const l = await OciLayout.open('/media/usb/images'); const idx = await l.index();
 */
export class OciLayout {
  readonly dir: string;
  #index?: ImageIndex;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens an existing layout. @throws LAYOUT_INVALID */
  static async open(dir: string): Promise<OciLayout> {
    let marker: string;
    try {
      marker = await readFile(join(dir, 'oci-layout'), 'utf8');
    } catch (e) {
      throw new OcitrustError('LAYOUT_INVALID', `${dir} is not an OCI image layout: cannot read oci-layout (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
    }
    let v: unknown;
    try {
      v = marker.length <= 4096 ? JSON.parse(marker) : undefined;
    } catch {
      v = undefined;
    }
    if (typeof v !== 'object' || v === null || (v as Record<string, unknown>).imageLayoutVersion !== '1.0.0') {
      throw new OcitrustError('LAYOUT_INVALID', `${dir}/oci-layout: expected {"imageLayoutVersion":"1.0.0"}, got ${JSON.stringify(marker.slice(0, 80))}`);
    }
    const l = new OciLayout(dir);
    await l.index();
    return l;
  }

  /** Opens the layout at `dir`, creating an empty one when there is none. @throws LAYOUT_INVALID, CLI_OUTPUT_FAILED */
  static async create(dir: string): Promise<OciLayout> {
    try {
      await stat(join(dir, 'oci-layout'));
      return await OciLayout.open(dir);
    } catch (e) {
      if (isOcitrustError(e)) throw e;
    }
    try {
      await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
      await writeFile(join(dir, 'oci-layout'), LAYOUT_FILE);
    } catch (e) {
      throw new OcitrustError('CLI_OUTPUT_FAILED', `cannot create an OCI image layout in ${dir}: ${(e as Error).message}`, { cause: e });
    }
    const l = new OciLayout(dir);
    l.#index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    await l.#writeIndex();
    return l;
  }

  /** The parsed index.json (read once, then kept in step with this object's writes). @throws LAYOUT_INVALID */
  async index(): Promise<ImageIndex> {
    if (this.#index) return this.#index;
    const p = join(this.dir, 'index.json');
    let bytes: Uint8Array;
    try {
      const st = await stat(p);
      if (st.size > MAX_LAYOUT_INDEX_BYTES) throw new OcitrustError('LAYOUT_TOO_LARGE', `${p}: expected at most ${MAX_LAYOUT_INDEX_BYTES} bytes, got ${st.size}`);
      bytes = new Uint8Array(await readFile(p));
    } catch (e) {
      if (isOcitrustError(e)) throw e;
      throw new OcitrustError('LAYOUT_INVALID', `${this.dir} is not an OCI image layout: cannot read index.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
    }
    try {
      this.#index = parseImageIndex(bytes, { what: `${p}`, maxBytes: MAX_LAYOUT_INDEX_BYTES, maxEntries: MAX_LAYOUT_ENTRIES });
    } catch (e) {
      throw new OcitrustError('LAYOUT_INVALID', `${this.dir}: index.json is not a valid image index: ${(e as Error).message}`, { cause: e });
    }
    return this.#index;
  }

  /** Replaces index.json's descriptors (atomically). */
  async setManifests(manifests: readonly Descriptor[]): Promise<void> {
    const idx = await this.index();
    this.#index = { ...idx, manifests: [...manifests] };
    await this.#writeIndex();
  }

  async #writeIndex(): Promise<void> {
    await atomicWrite(join(this.dir, 'index.json'), new TextEncoder().encode(JSON.stringify(this.#index)));
  }

  /** Size of a blob, or undefined when absent. */
  async blobSize(digest: string): Promise<number | undefined> {
    try {
      const st = await stat(blobPath(this.dir, digest));
      return st.isFile() ? st.size : undefined;
    } catch (e) {
      if (isOcitrustError(e)) throw e;
      return undefined;
    }
  }

  /**
   * Reads a blob into memory, bounded by `maxBytes` (and `size` when known) before reading,
   * and checks it against its digest.
   * @throws LAYOUT_BLOB_MISSING, LAYOUT_BLOB_MISMATCH, LAYOUT_TOO_LARGE
   */
  async readBlob(digest: string, opts: { size?: number; maxBytes: number }): Promise<Uint8Array> {
    const p = blobPath(this.dir, digest);
    let fh;
    try {
      fh = await open(p, 'r');
    } catch (e) {
      throw new OcitrustError('LAYOUT_BLOB_MISSING', `layout ${this.dir}: blob ${digest} is missing (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: e });
    }
    try {
      const st = await fh.stat();
      if (opts.size !== undefined && st.size !== opts.size) throw mismatch(this.dir, digest, `${st.size} bytes where its descriptor says ${opts.size}`);
      if (st.size > opts.maxBytes) throw new OcitrustError('LAYOUT_TOO_LARGE', `layout ${this.dir}: blob ${digest} has ${st.size} bytes, expected at most ${opts.maxBytes}`);
      const buf = new Uint8Array(st.size);
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      const got = digestOf(buf.subarray(0, n), parseDigest(digest).algorithm);
      if (n !== st.size || got !== digest) throw mismatch(this.dir, digest, got);
      return buf;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  /**
   * Streams a blob, hashing as it goes; the digest is checked at the end (so a consumer must
   * not act on the bytes before the stream ended without error).
   * @throws LAYOUT_BLOB_MISSING, LAYOUT_BLOB_MISMATCH
   */
  async *streamBlob(digest: string, size?: number): AsyncGenerator<Uint8Array> {
    const have = await this.blobSize(digest);
    if (have === undefined) throw new OcitrustError('LAYOUT_BLOB_MISSING', `layout ${this.dir}: blob ${digest} is missing`);
    if (size !== undefined && have !== size) throw mismatch(this.dir, digest, `${have} bytes where its descriptor says ${size}`);
    const { algorithm } = parseDigest(digest);
    const h = createHash(algorithm);
    for await (const c of createReadStream(blobPath(this.dir, digest), { highWaterMark: 1 << 20 })) {
      h.update(c as Buffer);
      yield c as Uint8Array;
    }
    const got = `${algorithm}:${h.digest('hex')}`;
    if (got !== digest) throw mismatch(this.dir, digest, got);
  }

  /** Writes a blob (no-op when present with the right size); returns its digest. */
  async writeBlob(bytes: Uint8Array): Promise<string> {
    const digest = digestOf(bytes);
    if ((await this.blobSize(digest)) === bytes.length) return digest;
    await atomicWrite(blobPath(this.dir, digest), bytes);
    return digest;
  }

  /**
   * Writes a blob from a stream, checking digest and size before it becomes visible.
   * @throws LAYOUT_BLOB_MISMATCH (what arrived is not `digest`), CLI_OUTPUT_FAILED
   */
  async writeBlobStream(digest: string, size: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const p = blobPath(this.dir, digest);
    if ((await this.blobSize(digest)) === size) {
      for await (const _ of chunks) void _;
      return;
    }
    const { algorithm } = parseDigest(digest);
    await mkdir(join(this.dir, 'blobs', algorithm), { recursive: true });
    const tmp = `${p}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o644);
    let ok = false;
    try {
      const h = createHash(algorithm);
      let n = 0;
      for await (const c of chunks) {
        n += c.length;
        if (n > size) throw mismatch(this.dir, digest, `more than the ${size} bytes its descriptor says`);
        h.update(c);
        await fh.write(c);
      }
      const got = `${algorithm}:${h.digest('hex')}`;
      if (n !== size || got !== digest) throw mismatch(this.dir, digest, n !== size ? `${n} bytes where its descriptor says ${size}` : got);
      await fh.sync();
      ok = true;
    } finally {
      await fh.close();
      if (!ok) await unlink(tmp).catch(() => undefined);
    }
    await rename(tmp, p);
  }
}

/** Temp file, fsync, rename: a reader sees the old file or the new one, never half of one. */
async function atomicWrite(p: string, bytes: Uint8Array): Promise<void> {
  try {
    await mkdir(join(p, '..'), { recursive: true });
    // The key store's atomic write (temp file, fsync, rename, fsync of the folder), readable by all.
    await writeFileAtomic(p, bytes, { mode: 0o644, overwrite: true });
  } catch (e) {
    throw new OcitrustError('CLI_OUTPUT_FAILED', `cannot write ${p}: ${((isOcitrustError(e) ? e.cause : e) as Error)?.message ?? String(e)}`, { cause: e });
  }
}
