/**
 * What the warm verifier's tests (verify-daemon, native-front) start from: a trust server with
 * its embedded registry, a CLI session with a token, and `<repo>:v1` pushed and signed by alice;
 * and how they tell an answer of the warm verifier from one of a process of its own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, startTrustServer, stopWarmVerifiers, type TestTrustServer, type TrustRun } from './cli.js';
import { makeImage, type TestImage } from './oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { parseReference } from '../../lib/reference.js';

/** A signed repository and everything around it; {@link SignedRepo.close} removes it all. */
export interface SignedRepo {
  /** A temporary folder (alice's key files are in it). */
  readonly work: string;
  /** `<work>/cache`: the XDG_CACHE_HOME the tests give the warm verifiers. */
  readonly cache: string;
  readonly ts: TestTrustServer;
  readonly s: CliSession;
  /** `<host>/<path>` on the embedded registry. */
  readonly repo: string;
  /** The image `<repo>:v1` points at, signed by alice. */
  readonly signed: TestImage;
  /** Pushes `image` (default: a new one) as `<repo>:<tag>`. */
  push(tag: string, image?: TestImage): Promise<TestImage>;
  /** Stops the warm verifiers of {@link cache} and the server; removes the folders. */
  close(): Promise<void>;
}

/** Starts the server, initialises `<host>/<path>` with signer alice and signs `:v1`. */
export async function startSignedRepo(prefix: string, path: string): Promise<SignedRepo> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const cache = join(work, 'cache');
  const ts = await startTrustServer({ registry: true });
  const token = await ts.token();
  const host = new URL(ts.url).host;
  const registry = new HttpRegistryClient({ credentials: async (r) => (r === host ? { username: 'ocitrust', password: token } : undefined) });
  const s = new CliSession({ server: ts.url, token });
  const repo = `${host}/${path}`;
  const push = async (tag: string, image: TestImage = makeImage()): Promise<TestImage> => {
    const ref = parseReference(`${repo}:${tag}`);
    for (const b of image.blobs) await registry.pushBlob(ref, b.bytes);
    await registry.putManifest(ref, tag, image.manifest.bytes, image.manifest.mediaType);
    return image;
  };
  const ok = async (args: string[]): Promise<void> => {
    const r = await s.run(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  };
  await ok(['key', 'generate', 'alice', '--dir', work]);
  await ok(['init', repo]);
  await ok(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]);
  const signed = await push('v1');
  await ok(['sign', `${repo}:v1`]);
  return {
    work,
    cache,
    ts,
    s,
    repo,
    signed,
    push,
    async close() {
      stopWarmVerifiers(cache);
      await ts.close();
      s.cleanup();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** True when OCITRUST_DEBUG=1 says the warm verifier answered the call (through any client). */
export function answeredByDaemon(r: TrustRun): boolean {
  return /answered by the verify daemon/.test(r.stderr);
}

/** The run without the debug line that says the warm verifier answered it. */
export function withoutDaemonLine(r: TrustRun): { code: number | null; stdout: string; stderr: string } {
  return { code: r.code, stdout: r.stdout, stderr: r.stderr.replace(/^trust: debug: answered by the verify daemon at .*\n/m, '') };
}
