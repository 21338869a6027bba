/**
 * Builds tiny but real OCI images by hand (a random gzip tar layer, an image config, a
 * manifest; and a two-platform index) and writes them as an OCI image layout directory that
 * `skopeo copy oci:DIR:TAG docker://…` pushes. Everything is made at test time so each run
 * pushes fresh digests; the bytes and digests are returned for comparison.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { collectProcess, type ProcessRun } from './process.js';
import { digestOf } from '../../lib/crypto/hash.js';
import {
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  type Descriptor,
  type Platform,
} from '../../lib/oci/types.js';

/** A blob with its descriptor fields. */
export interface TestBlob {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly bytes: Uint8Array;
}

/** A single-platform image made by {@link makeImage}. */
export interface TestImage {
  readonly platform: Platform;
  readonly config: TestBlob;
  readonly layers: readonly TestBlob[];
  /** The manifest blob (mediaType OCI manifest). */
  readonly manifest: TestBlob;
  /** Every blob the manifest references (config first). */
  readonly blobs: readonly TestBlob[];
}

/** A multi-platform image made by {@link makeIndex}. */
export interface TestIndex {
  readonly images: readonly TestImage[];
  /** The index blob (mediaType OCI index). */
  readonly index: TestBlob;
}

/** Descriptor (mediaType, digest, size) of a test blob. */
export function descriptorOf(b: TestBlob, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra };
}

function blob(mediaType: string, bytes: Uint8Array): TestBlob {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, bytes };
}

const enc = new TextEncoder();

/** A one-file ustar archive (POSIX 1003.1-1988 header, two zero blocks at the end). */
export function tarOneFile(name: string, content: Uint8Array, mtime = 0): Uint8Array {
  const header = new Uint8Array(512);
  const put = (off: number, len: number, s: string): void => {
    header.set(enc.encode(s).subarray(0, len), off);
  };
  const octal = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0') + '\0';
  put(0, 100, name);
  put(100, 8, octal(0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(content.length, 12));
  put(136, 12, octal(mtime, 12));
  put(148, 8, '        ');
  put(156, 1, '0');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  let sum = 0;
  for (const b of header) sum += b;
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  const padded = Math.ceil(content.length / 512) * 512;
  const out = new Uint8Array(512 + padded + 1024);
  out.set(header, 0);
  out.set(content, 512);
  return out;
}

/** Options of {@link makeImage}. */
export interface MakeImageOptions {
  readonly platform?: Platform;
  /** Content of the single file in the layer; default 64 random bytes. */
  readonly fileContent?: Uint8Array;
  /** Annotations on the manifest. */
  readonly annotations?: Record<string, string>;
}

/** Builds a single-platform OCI image with one small random gzip layer. */
export function makeImage(opts: MakeImageOptions = {}): TestImage {
  const platform = opts.platform ?? { architecture: 'amd64', os: 'linux' };
  const tar = tarOneFile('hello.txt', opts.fileContent ?? new Uint8Array(randomBytes(64)));
  const layer = blob(OCI_LAYER_GZIP, new Uint8Array(gzipSync(tar)));
  const configJson = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Cmd: ['/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
    history: [{ created: '2026-01-01T00:00:00Z', created_by: 'ocitrust test/helpers/oci-layout.ts' }],
  };
  const config = blob(OCI_CONFIG, enc.encode(JSON.stringify(configJson)));
  const manifestJson = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(config),
    layers: [descriptorOf(layer)],
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const manifest = blob(OCI_MANIFEST, enc.encode(JSON.stringify(manifestJson)));
  return { platform, config, layers: [layer], manifest, blobs: [config, layer] };
}

/** Builds a multi-platform OCI index (default linux/amd64 and linux/arm64). */
export function makeIndex(
  platforms: readonly Platform[] = [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux', variant: 'v8' },
  ],
): TestIndex {
  const images = platforms.map((platform) => makeImage({ platform }));
  const indexJson = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: images.map((im) => descriptorOf(im.manifest, { platform: im.platform })),
  };
  return { images, index: blob(OCI_INDEX, enc.encode(JSON.stringify(indexJson))) };
}

/** One tagged entry of an OCI layout. */
export interface LayoutEntry {
  readonly tag: string;
  readonly content: TestImage | TestIndex;
}

function isTestIndex(c: TestImage | TestIndex): c is TestIndex {
  return (c as TestIndex).index !== undefined;
}

/** Every blob (manifests included) of an image or index. */
export function allBlobs(c: TestImage | TestIndex): TestBlob[] {
  if (isTestIndex(c)) return [...c.images.flatMap((im) => [...im.blobs, im.manifest]), c.index];
  return [...c.blobs, c.manifest];
}

/** The top-level blob (manifest or index) of an image or index. */
export function topBlob(c: TestImage | TestIndex): TestBlob {
  return isTestIndex(c) ? c.index : c.manifest;
}

/**
 * Writes an OCI image layout (image-spec image-layout.md) into `dir`: `oci-layout`,
 * `index.json` naming each entry with `org.opencontainers.image.ref.name`, and `blobs/sha256/*`.
 */
export async function writeOciLayout(dir: string, entries: readonly LayoutEntry[]): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const e of entries) {
    for (const b of allBlobs(e.content)) {
      await writeFile(join(dir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.bytes);
    }
  }
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: entries.map((e) =>
      descriptorOf(topBlob(e.content), { annotations: { 'org.opencontainers.image.ref.name': e.tag } }),
    ),
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

/** True when `program` is on PATH. */
export function hasProgram(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Skip reason for a test needing `programs`, or undefined when all are installed. Under
 * CI=true a missing program throws instead, so the test fails rather than skips (PREAMBLE).
 */
export function missingPrograms(...programs: string[]): string | undefined {
  const missing = programs.filter((p) => !hasProgram(p));
  if (missing.length === 0) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI=true but required programs are missing: ${missing.join(', ')}`);
  return `not installed: ${missing.join(', ')}`;
}

/** Result of running skopeo. */
export type RunResult = ProcessRun;

/** Runs skopeo with `args` (bounded to 60 s); resolves with its exit code and output. */
export function runSkopeo(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return collectProcess('skopeo', args, { timeout: timeoutMs });
}

/**
 * `skopeo copy --all --preserve-digests oci:LAYOUT:TAG docker://DEST` over plain HTTP; throws
 * with skopeo's stderr when the copy fails. `creds` is `user:password` for basic auth.
 */
export async function skopeoPush(layoutDir: string, tag: string, dest: string, creds?: string): Promise<void> {
  const args = ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false'];
  if (creds) args.push('--dest-creds', creds);
  args.push(`oci:${layoutDir}:${tag}`, `docker://${dest}`);
  const r = await runSkopeo(args);
  if (r.code !== 0) throw new Error(`skopeo copy failed (${r.code}): ${r.stderr.trim()}`);
}

/** `skopeo copy --all --preserve-digests docker://SRC oci:LAYOUT:TAG` over plain HTTP. */
export async function skopeoPull(src: string, layoutDir: string, tag: string, creds?: string): Promise<void> {
  const args = ['copy', '--all', '--preserve-digests', '--src-tls-verify=false'];
  if (creds) args.push('--src-creds', creds);
  args.push(`docker://${src}`, `oci:${layoutDir}:${tag}`);
  const r = await runSkopeo(args);
  if (r.code !== 0) throw new Error(`skopeo copy failed (${r.code}): ${r.stderr.trim()}`);
}
