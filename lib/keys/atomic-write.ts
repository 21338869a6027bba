import { open, rename, link, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { OcitrustError } from '../errors/index.js';

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode of the result (default 0o600: key files are secret). */
  readonly mode?: number;
  /** Replace an existing file (default false: refuse with KEY_EXISTS). */
  readonly overwrite?: boolean;
}

/**
 * Writes `data` to `path` so that readers see either the old state or the complete new file,
 * never a partial one, even across a crash (DESIGN §2): a temp file in the same directory created
 * with the final mode (O_EXCL, so no one else's file is reused), fsync, then rename (or link,
 * which refuses to replace an existing file, when `overwrite` is false), then fsync of the
 * directory so the new name itself is durable. The temp file is removed on every failure.
 *
 * @throws OcitrustError KEY_EXISTS (the target exists and overwrite is false), KEYFILE_IO
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o600;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', mode);
    created = true;
    try {
      // The umask may have removed bits from `mode`; set it exactly (it can only be narrower here).
      await fh.chmod(mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.overwrite) {
      await rename(tmp, path);
    } else {
      await link(tmp, path);
      await unlink(tmp);
    }
    created = false;
    await syncDir(dir);
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' && !opts.overwrite) {
      throw new OcitrustError('KEY_EXISTS', `${path} already exists`, { cause: e });
    }
    throw new OcitrustError('KEYFILE_IO', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** fsync a directory so a rename in it survives a crash; platforms that cannot (EISDIR, EINVAL, EPERM) are skipped. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    await fh?.close();
  }
}
