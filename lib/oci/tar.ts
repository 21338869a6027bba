/**
 * A small streaming tar reader and writer for OCI image layout archives (`trust save -o X.tar`,
 * `trust load X.tar`). Written here rather than taken from a package because the layout needs
 * only regular files and folders, and every bound and every refusal must be a coded error: a
 * truncated archive (TAR_TRUNCATED), a bad checksum, an unsafe or duplicate path, an unsupported
 * entry type (TAR_INVALID), too many or too large entries (LAYOUT_TOO_LARGE). Nothing is held in
 * memory but one 512-byte header and the chunk being passed on, so a 10 GiB layer streams.
 *
 * Format: POSIX ustar (IEEE 1003.1-1988) headers; pax extended headers (`x`) are read for
 * `path` and `size`, global ones (`g`) skipped. Written archives are plain ustar with fixed
 * mode, owner and time, so the same layout gives the same bytes.
 */
import { OcitrustError } from '../errors/index.js';

/** One entry of an archive. */
export interface TarEntryHeader {
  /** Normalized relative path (no leading `./`, no trailing `/`). */
  readonly name: string;
  readonly type: 'file' | 'directory';
  readonly size: number;
}

/** Bounds of {@link readTar}. */
export interface TarLimits {
  /** Most entries (default 100 000). */
  readonly maxEntries: number;
  /** Largest single file (default 8 GiB - 1, the ustar size field). */
  readonly maxEntryBytes: number;
  /** Largest sum of file sizes (default 64 GiB). */
  readonly maxTotalBytes: number;
}

/** Default bounds of {@link readTar}. */
export const DEFAULT_TAR_LIMITS: TarLimits = Object.freeze({ maxEntries: 100_000, maxEntryBytes: 8 * 1024 ** 3 - 1, maxTotalBytes: 64 * 1024 ** 3 });

const BLOCK = 512;
const MAX_PAX_BYTES = 64 * 1024;
const MAX_NAME = 1024;
const dec = new TextDecoder('utf-8', { fatal: false });
const enc = new TextEncoder();

function invalid(msg: string): OcitrustError {
  return new OcitrustError('TAR_INVALID', `tar archive: ${msg}`);
}

/** Pulls exact byte counts out of a chunk stream. */
class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #done = false;
  /** Bytes consumed so far (for messages). */
  offset = 0;

  constructor(src: AsyncIterable<Uint8Array>) {
    this.#it = src[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const r = await this.#it.next();
    if (r.done) {
      this.#done = true;
      return false;
    }
    const c = r.value instanceof Uint8Array ? r.value : new Uint8Array(r.value as ArrayBuffer);
    this.#buf = this.#buf.length === 0 ? c : concat(this.#buf, c);
    return true;
  }

  /** Exactly n bytes, or null at a clean end (no byte left); a partial read is TAR_TRUNCATED. */
  async exact(n: number, what: string): Promise<Uint8Array | null> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return null;
        throw truncated(`${what} at byte ${this.offset}: expected ${n} bytes, got ${this.#buf.length}`);
      }
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Yields exactly n bytes as chunks. @throws TAR_TRUNCATED */
  async *take(n: number, what: string): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.#fill())) throw truncated(`${what}: expected ${n} bytes, got ${n - left}`);
      const k = Math.min(left, this.#buf.length);
      const out = this.#buf.subarray(0, k);
      this.#buf = this.#buf.subarray(k);
      this.offset += k;
      left -= k;
      yield out;
    }
  }
}

function truncated(msg: string): OcitrustError {
  return new OcitrustError('TAR_TRUNCATED', `tar archive is truncated: ${msg}`);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a, 0);
  o.set(b, a.length);
  return o;
}

function cstring(h: Uint8Array, off: number, len: number): string {
  const f = h.subarray(off, off + len);
  const z = f.indexOf(0);
  return dec.decode(z < 0 ? f : f.subarray(0, z));
}

function octal(h: Uint8Array, off: number, len: number, what: string): number {
  const f = h.subarray(off, off + len);
  if (f[0]! & 0x80) throw invalid(`${what}: base-256 numbers are not supported`);
  const s = cstring(h, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]{1,12}$/.test(s)) throw invalid(`${what}: expected an octal number, got ${JSON.stringify(s.slice(0, 16))}`);
  return parseInt(s, 8);
}

function checksumOk(h: Uint8Array): boolean {
  const stored = octal(h, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

/**
 * Normalizes an archive path and refuses what could escape the extraction folder.
 * @throws TAR_INVALID
 */
export function safeTarPath(raw: string): string {
  if (raw.length === 0 || raw.length > MAX_NAME) throw invalid(`entry name must be 1–${MAX_NAME} characters, got ${raw.length}`);
  if (raw.includes('\0') || raw.includes('\\')) throw invalid(`entry name ${JSON.stringify(raw.slice(0, 100))} has a NUL or a backslash`);
  if (raw.startsWith('/')) throw invalid(`entry name ${JSON.stringify(raw.slice(0, 100))} is absolute`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw invalid(`entry name ${JSON.stringify(raw.slice(0, 100))} contains ..`);
  if (parts.length === 0) return '';
  return parts.join('/');
}

function parsePax(body: Uint8Array): Record<string, string> {
  // Records: "<len> <key>=<value>\n", len counting the whole record.
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break;
    const sp = body.indexOf(0x20, i);
    if (sp < 0) throw invalid('malformed pax record');
    const lenStr = dec.decode(body.subarray(i, sp));
    if (!/^[1-9][0-9]{0,5}$/.test(lenStr)) throw invalid('malformed pax record length');
    const len = Number(lenStr);
    if (i + len > body.length || len <= sp - i + 1 || body[i + len - 1] !== 0x0a) throw invalid('malformed pax record');
    const rec = dec.decode(body.subarray(sp + 1, i + len - 1));
    const eq = rec.indexOf('=');
    if (eq <= 0) throw invalid('malformed pax record');
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Reads an archive as a stream. For each regular file, `onFile` gets the header and a chunk
 * stream of exactly `size` bytes that it must consume (or the rest is skipped); folders go to
 * `onDirectory`. The archive must end with its end-of-archive block: anything cut off is
 * TAR_TRUNCATED, so a caller that only commits after `readTar` resolves never commits half.
 *
 * @throws TAR_TRUNCATED, TAR_INVALID, LAYOUT_TOO_LARGE, and what the callbacks throw
 * @example await readTar(createReadStream('x.tar'), { onFile: async (h, body) => { for await (const c of body) hash.update(c); } });
 */
export async function readTar(
  src: AsyncIterable<Uint8Array>,
  cb: { onFile(h: TarEntryHeader, body: AsyncIterable<Uint8Array>): Promise<void>; onDirectory?(h: TarEntryHeader): Promise<void> },
  limits: Partial<TarLimits> = {},
): Promise<{ entries: number; bytes: number }> {
  const L = { ...DEFAULT_TAR_LIMITS, ...limits };
  const r = new ByteReader(src);
  const seen = new Set<string>();
  let entries = 0;
  let total = 0;
  let pax: Record<string, string> | undefined;
  for (;;) {
    const h = await r.exact(BLOCK, 'header');
    if (h === null) throw truncated(`no end-of-archive block after ${entries} entries`);
    if (h.every((b) => b === 0)) {
      // End of archive: two zero blocks (POSIX); a writer that stops after one is tolerated
      // only when the stream ends right there.
      const h2 = await r.exact(BLOCK, 'end-of-archive block');
      if (h2 !== null && !h2.every((b) => b === 0)) throw invalid(`data after the end-of-archive block at byte ${r.offset - BLOCK}`);
      return { entries, bytes: total };
    }
    if (!checksumOk(h)) throw invalid(`header checksum mismatch at byte ${r.offset - BLOCK}`);
    const typeflag = String.fromCharCode(h[156]!);
    let size = octal(h, 124, 12, 'size');
    const magic = cstring(h, 257, 6);
    let name = cstring(h, 0, 100);
    if (magic === 'ustar') {
      const prefix = cstring(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (pax) {
      if (pax.path !== undefined) name = pax.path;
      if (pax.size !== undefined) {
        if (!/^[0-9]{1,15}$/.test(pax.size)) throw invalid(`pax size ${JSON.stringify(pax.size.slice(0, 20))}`);
        size = Number(pax.size);
      }
      pax = undefined;
    }
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x' || typeflag === 'g') {
      if (size > MAX_PAX_BYTES) throw new OcitrustError('LAYOUT_TOO_LARGE', `tar archive: pax header of ${size} bytes, expected at most ${MAX_PAX_BYTES}`);
      const body = await r.exact(padded, 'pax header');
      if (body === null) throw truncated('pax header body missing');
      if (typeflag === 'x') pax = parsePax(body.subarray(0, size));
      continue;
    }
    if (++entries > L.maxEntries) throw new OcitrustError('LAYOUT_TOO_LARGE', `tar archive: more than ${L.maxEntries} entries`);
    const path = safeTarPath(name);
    if (typeflag === '5') {
      if (size !== 0) throw invalid(`folder ${JSON.stringify(path)} has a size`);
      if (path !== '') await cb.onDirectory?.({ name: path, type: 'directory', size: 0 });
      continue;
    }
    if (typeflag !== '0' && typeflag !== '\0') {
      throw invalid(`entry ${JSON.stringify(path.slice(0, 100))} has type ${JSON.stringify(typeflag)}; only regular files and folders are accepted (no links or devices)`);
    }
    if (path === '') throw invalid('a file entry has an empty name');
    if (seen.has(path)) throw invalid(`entry ${JSON.stringify(path.slice(0, 100))} appears twice`);
    seen.add(path);
    if (size > L.maxEntryBytes) throw new OcitrustError('LAYOUT_TOO_LARGE', `tar archive: entry ${path} has ${size} bytes, expected at most ${L.maxEntryBytes}`);
    total += size;
    if (total > L.maxTotalBytes) throw new OcitrustError('LAYOUT_TOO_LARGE', `tar archive: more than ${L.maxTotalBytes} bytes of files`);
    let consumed = 0;
    const body = (async function* () {
      for await (const c of r.take(size, `entry ${path}`)) {
        consumed += c.length;
        yield c;
      }
    })();
    await cb.onFile({ name: path, type: 'file', size }, body);
    // Whatever the callback left unread is skipped, then the block padding.
    for await (const _ of r.take(size - consumed, `entry ${path}`)) void _;
    if (padded > size) {
      const pad = await r.exact(padded - size, `padding of ${path}`);
      if (pad === null) throw truncated(`padding of ${path} missing`);
    }
  }
}

/** One entry to write: a folder, or a file with its size and its bytes as a stream. */
export type TarWriteEntry =
  | { readonly type: 'directory'; readonly name: string }
  | { readonly type: 'file'; readonly name: string; readonly size: number; readonly body: () => AsyncIterable<Uint8Array> };

function header(name: string, size: number, typeflag: '0' | '5'): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const nb = enc.encode(typeflag === '5' ? `${name}/` : name);
  if (nb.length > 100) {
    // ustar prefix/name split at a '/'.
    const s = typeflag === '5' ? `${name}/` : name;
    const cut = s.lastIndexOf('/', 155);
    if (cut <= 0 || enc.encode(s.slice(cut + 1)).length > 100 || enc.encode(s.slice(0, cut)).length > 155) throw invalid(`name ${JSON.stringify(name.slice(0, 100))} is too long for ustar`);
    h.set(enc.encode(s.slice(cut + 1)), 0);
    h.set(enc.encode(s.slice(0, cut)), 345);
  } else h.set(nb, 0);
  const put = (off: number, s: string): void => h.set(enc.encode(s), off);
  const oct = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0') + '\0';
  if (size > 0o77777777777) throw new OcitrustError('LAYOUT_TOO_LARGE', `tar entry ${name}: ${size} bytes is more than ustar can hold (8 GiB)`);
  put(100, oct(typeflag === '5' ? 0o755 : 0o644, 8));
  put(108, oct(0, 8));
  put(116, oct(0, 8));
  put(124, oct(size, 12));
  put(136, oct(0, 12));
  put(148, '        ');
  put(156, typeflag);
  put(257, 'ustar\0');
  put(263, '00');
  let sum = 0;
  for (const b of h) sum += b;
  put(148, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/**
 * Writes entries as a ustar archive, streaming each file body. A body that yields another
 * number of bytes than its declared size is an error (the archive would be corrupt).
 *
 * @throws TAR_INVALID (a name ustar cannot hold, a body of the wrong size), LAYOUT_TOO_LARGE
 * @example await pipeline(Readable.from(writeTar(entries)), createWriteStream('x.tar'));
 */
export async function* writeTar(entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>): AsyncGenerator<Uint8Array> {
  for await (const e of entries) {
    const name = safeTarPath(e.name);
    if (e.type === 'directory') {
      yield header(name, 0, '5');
      continue;
    }
    yield header(name, e.size, '0');
    let n = 0;
    for await (const c of e.body()) {
      n += c.length;
      if (n > e.size) throw invalid(`file ${name}: body longer than its declared ${e.size} bytes`);
      yield c;
    }
    if (n !== e.size) throw invalid(`file ${name}: body of ${n} bytes, declared ${e.size}`);
    const pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
    if (pad) yield new Uint8Array(pad);
  }
  yield new Uint8Array(2 * BLOCK);
}
