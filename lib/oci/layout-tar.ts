/**
 * OCI image layouts as tar files (`trust save -o X.tar`, `trust verify oci-layout:X.tar:…`,
 * `trust load X.tar`): a layout is carried as one file and opened by extracting it into a
 * fresh folder. Extraction checks every blob against the digest its path names while it
 * streams (LAYOUT_BLOB_MISMATCH) and refuses a truncated or malformed archive (TAR_TRUNCATED,
 * TAR_INVALID); on any error the folder is removed, so nothing half-extracted is ever used.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { OciLayout } from './layout.js';
import { readTar, writeTar, type TarLimits, type TarWriteEntry } from './tar.js';

const BLOB_PATH = /^blobs\/(sha256|sha512)\/([0-9a-f]{64}|[0-9a-f]{128})$/;
/** Largest oci-layout / index.json entry extracted. */
const MAX_META_ENTRY = 32 * 1024 * 1024;

/**
 * Extracts a layout tar into `dir` (which must not exist or be empty) and opens it.
 * @throws TAR_TRUNCATED, TAR_INVALID, LAYOUT_TOO_LARGE, LAYOUT_BLOB_MISMATCH, LAYOUT_INVALID, CLI_INPUT_UNREADABLE
 */
export async function extractLayoutTar(file: string, dir: string, limits: Partial<TarLimits> = {}): Promise<OciLayout> {
  assertArg(typeof file === 'string' && file.length > 0, 'file', 'a .tar path', file);
  assertArg(typeof dir === 'string' && dir.length > 0, 'dir', 'a folder path', dir);
  let src: AsyncIterable<Uint8Array>;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    src = createReadStream(file, { highWaterMark: 1 << 20 });
  } catch (e) {
    throw new OcitrustError('CLI_INPUT_UNREADABLE', `layout archive ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  await mkdir(dir, { recursive: true });
  try {
    await readTar(
      src,
      {
        async onFile(h, body) {
          const m = BLOB_PATH.exec(h.name);
          if (!m && h.name !== 'oci-layout' && h.name !== 'index.json') return; // other files are not part of the layout
          if (!m && h.size > MAX_META_ENTRY) throw new OcitrustError('LAYOUT_TOO_LARGE', `layout archive ${file}: ${h.name} has ${h.size} bytes, expected at most ${MAX_META_ENTRY}`);
          const dest = join(dir, ...h.name.split('/'));
          await mkdir(dirname(dest), { recursive: true });
          const hash = m ? createHash(m[1]!) : undefined;
          const tmp = `${dest}.part`;
          const fh = await open(tmp, 'wx', 0o644);
          try {
            for await (const c of body) {
              hash?.update(c);
              await fh.write(c);
            }
          } finally {
            await fh.close();
          }
          if (m && hash!.digest('hex') !== m[2]) {
            throw new OcitrustError('LAYOUT_BLOB_MISMATCH', `layout archive ${file}: ${h.name} does not match the digest its name says`, { details: { digest: `${m[1]}:${m[2]}` } });
          }
          await rename(tmp, dest);
        },
      },
      limits,
    );
    return await OciLayout.open(dir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    if (isOcitrustError(e)) throw e;
    throw new OcitrustError('CLI_INPUT_UNREADABLE', `layout archive ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** A layout opened from a folder or a tar, with what to do when done with it. */
export interface OpenedLayout {
  readonly layout: OciLayout;
  /** Removes the extraction folder of a tar (nothing for a folder). */
  close(): Promise<void>;
}

/**
 * Opens a layout folder, or extracts a layout tar into a temporary folder.
 * @throws LAYOUT_INVALID, TAR_*, LAYOUT_*, CLI_INPUT_UNREADABLE
 */
export async function openLayoutPath(path: string, limits: Partial<TarLimits> = {}): Promise<OpenedLayout> {
  assertArg(typeof path === 'string' && path.length > 0, 'path', 'a folder or .tar path', path);
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw new OcitrustError('CLI_INPUT_UNREADABLE', `layout ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (isDir) return { layout: await OciLayout.open(path), close: async () => undefined };
  const tmp = await mkdtemp(join(tmpdir(), 'ocitrust-layout-'));
  const layout = await extractLayoutTar(path, join(tmp, 'layout'), limits);
  return { layout, close: () => rm(tmp, { recursive: true, force: true }) };
}

/**
 * Writes a layout folder as a tar file: `oci-layout`, the blobs, and `index.json` last, so a
 * reader that stops early has no index naming missing blobs. Written to a temp name and
 * renamed, so an interrupted save leaves no half archive under the final name.
 * @throws CLI_OUTPUT_FAILED, TAR_INVALID, LAYOUT_TOO_LARGE
 */
export async function writeLayoutTar(layout: OciLayout, file: string): Promise<void> {
  assertArg(typeof layout === 'object' && layout !== null && typeof (layout as OciLayout).dir === 'string', 'layout', 'an OciLayout (OciLayout.open)', layout);
  assertArg(typeof file === 'string' && file.length > 0, 'file', 'a file path', file);
  const dir = layout.dir;
  async function* entries(): AsyncGenerator<TarWriteEntry> {
    yield { type: 'file', name: 'oci-layout', size: (await stat(join(dir, 'oci-layout'))).size, body: () => createReadStream(join(dir, 'oci-layout')) };
    yield { type: 'directory', name: 'blobs' };
    for (const alg of (await readdir(join(dir, 'blobs'))).sort()) {
      yield { type: 'directory', name: `blobs/${alg}` };
      for (const hex of (await readdir(join(dir, 'blobs', alg))).sort()) {
        if (!BLOB_PATH.test(`blobs/${alg}/${hex}`)) continue; // temp files
        const p = join(dir, 'blobs', alg, hex);
        yield { type: 'file', name: `blobs/${alg}/${hex}`, size: (await stat(p)).size, body: () => createReadStream(p, { highWaterMark: 1 << 20 }) };
      }
    }
    yield { type: 'file', name: 'index.json', size: (await stat(join(dir, 'index.json'))).size, body: () => createReadStream(join(dir, 'index.json')) };
  }
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await pipeline(Readable.from(writeTar(entries())), createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    if (isOcitrustError(e)) throw e;
    throw new OcitrustError('CLI_OUTPUT_FAILED', `cannot write layout archive ${file}: ${(e as Error).message}`, { cause: e });
  }
}
