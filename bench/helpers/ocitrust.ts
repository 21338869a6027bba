// The ocitrust side of the comparisons (issue 8): the real `trust` CLI from the build
// (package.json "bin", the bundle `npm run build` writes, as users run it), a `trust server` with its embedded registry as a
// separate process on 127.0.0.1:0, and in-process helpers that build large repositories fast
// (pushing images and signing them through the library instead of one process per tag).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timeOk, timeProcess, type TimedRun } from './process.js';
import { HttpRegistryClient, type RegistryClient } from '../../lib/oci/client.js';
import type { CredentialProvider } from '../../lib/oci/credentials.js';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from '../../lib/oci/types.js';
import { parseReference } from '../../lib/reference.js';
import { digestOf } from '../../lib/crypto/hash.js';
import { OcitrustHome } from '../../lib/usecases/home.js';
import { signImage } from '../../lib/usecases/sign.js';
import type { Signer } from '../../lib/keys/signer.js';

/** The project root. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The shipped CLI: package.json "bin".trust (the esbuild bundle of scripts/build-cli.mjs). */
export const DIST_MAIN = join(PROJECT_ROOT, (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: { trust: string } }).bin.trust);
/** Passphrase of every key the benchmarks make. */
export const BENCH_PASSPHRASE = 'bench passphrase 0123456789';

/** Why the ocitrust columns cannot run (no build of the CLI), or undefined. */
export function cliMissing(): string | undefined {
  return existsSync(DIST_MAIN) ? undefined : `pending CLI: ${DIST_MAIN} is missing (run \`npm run build\`)`;
}

function newest(dir: string, ext: string): number {
  let t = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e);
    const st = statSync(p);
    if (st.isDirectory()) t = Math.max(t, newest(p, ext));
    else if (e.endsWith(ext) && !e.endsWith('.d.ts')) t = Math.max(t, st.mtimeMs);
  }
  return t;
}

/** A warning when sources are newer than the build the benchmarks run (`npm run build` first), else undefined. */
export function buildStaleness(): string | undefined {
  const src = Math.max(...['lib', 'cli', 'server'].map((d) => newest(join(PROJECT_ROOT, d), '.ts')));
  const built = Math.max(...['lib', 'cli', 'server'].map((d) => newest(join(PROJECT_ROOT, 'dist', d), '.js')));
  return src > built ? `sources changed after the last build (${new Date(src).toISOString()} > ${new Date(built).toISOString()}): run \`npm run build\` before benchmarking` : undefined;
}

/** A `trust` user: one home folder (keys, pinned roots, trust cache), one server, one token. */
export class TrustCli {
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly home: string, server: string, token: string | undefined) {
    this.env = {
      PATH: process.env.PATH,
      HOME: home,
      OCITRUST_HOME: home,
      OCITRUST_SERVER: server,
      OCITRUST_PASSPHRASE: BENCH_PASSPHRASE,
      NO_COLOR: '1',
      ...(token ? { OCITRUST_TOKEN: token } : {}),
    };
  }

  /** `trust args…` (node {@link DIST_MAIN}), timed; rejects unless it exits 0. */
  run(args: readonly string[]): Promise<TimedRun> {
    return timeOk(process.execPath, [DIST_MAIN, ...args], { env: this.env });
  }

  /** Like {@link run} but resolves whatever the exit code. */
  runAny(args: readonly string[]): Promise<TimedRun> {
    return timeProcess(process.execPath, [DIST_MAIN, ...args], { env: this.env });
  }

  /** Empties the home folder: the next verify starts cold (no pinned root, no cached metadata: trust on first use). */
  forget(): void {
    rmSync(this.home, { recursive: true, force: true });
  }

  /** The home as the library sees it. */
  ocitrustHome(): OcitrustHome {
    return new OcitrustHome(this.home);
  }
}

/** A running `trust server` (with the embedded registry unless disabled). */
export interface OcitrustService {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT`: the embedded registry's host in image references. */
  readonly host: string;
  readonly dir: string;
  /** An admin token for every collection. */
  readonly token: string;
  /** A registry client with the token (push rights on the embedded registry). */
  readonly registry: RegistryClient;
  /** A `trust` user with a fresh home; `server` overrides the URL (e.g. a counting proxy in front). */
  cli(name?: string, server?: string): TrustCli;
  stop(): Promise<void>;
}

/**
 * Starts `trust server --listen 127.0.0.1:0` from the build as its own process (as a deployment
 * runs it, and as notary-server runs next to it), with an admin token made beforehand through
 * `trust server token create`.
 * @throws Error when the build is missing or the server does not start.
 */
export async function startOcitrust(opts: { registry?: boolean; timeoutMs?: number } = {}): Promise<OcitrustService> {
  const missing = cliMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-bench-server-'));
  const data = join(dir, 'data');
  let child: ChildProcess | undefined;
  try {
    // OCITRUST_DATA_DIR rather than --data: the data folder of the `token` subcommands.
    const tok = await timeOk(process.execPath, [DIST_MAIN, 'server', 'token', 'create', '--role', 'admin', '--collections', '**', '-o', 'json'], {
      env: { PATH: process.env.PATH, HOME: dir, OCITRUST_HOME: join(dir, 'home'), OCITRUST_DATA_DIR: data },
    });
    const token = (JSON.parse(tok.stdout) as { secret: string }).secret;
    const args = [DIST_MAIN, 'server', '--data', data, '--listen', '127.0.0.1:0', '-o', 'json', '--log-level', 'warn', ...(opts.registry === false ? ['--no-registry'] : [])];
    const c = spawn(process.execPath, args, { env: { PATH: process.env.PATH, HOME: dir, OCITRUST_HOME: join(dir, 'home') }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`trust server did not start in ${opts.timeoutMs ?? 30_000} ms: ${out}`)), opts.timeoutMs ?? 30_000);
      c.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /"listening":"([^"]+)"/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      c.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`trust server exited (${code}) before listening: ${out}`));
      });
    });
    const host = new URL(url).host;
    const credentials: CredentialProvider = async (registry) => (registry === host ? { username: 'ocitrust', password: token } : undefined);
    let clients = 0;
    return {
      url,
      host,
      dir,
      token,
      registry: new HttpRegistryClient({ credentials, userAgent: 'ocitrust-bench' }),
      cli: (name, server) => new TrustCli(join(dir, `home-${name ?? 'user'}-${++clients}`), server ?? url, token),
      async stop() {
        if (c.exitCode === null && c.signalCode === null) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            c.kill('SIGTERM');
          });
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

const enc = new TextEncoder();

/** What {@link pushTaggedImages} pushed: tag → manifest digest and size. */
export type PushedImages = Map<string, { digest: string; size: number }>;

/**
 * Pushes one small image per tag to `repository` (`host/path`): the config and layer blobs once,
 * then one manifest per tag, distinct through an annotation (so every tag has its own digest
 * and its own signatures, as releases do). `concurrency` manifests are in flight at once.
 */
export async function pushTaggedImages(registry: RegistryClient, repository: string, tags: readonly string[], concurrency = 8): Promise<PushedImages> {
  const repo = parseReference(`${repository}:x`);
  const config = enc.encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = enc.encode('ocitrust bench layer\n');
  await registry.pushBlob(repo, config);
  await registry.pushBlob(repo, layer);
  const out: PushedImages = new Map();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tags.length) {
      const tag = tags[next++]!;
      const bytes = enc.encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.length },
        layers: [{ mediaType: OCI_LAYER_GZIP, digest: digestOf(layer), size: layer.length }],
        annotations: { 'org.opencontainers.image.version': tag },
      }));
      await registry.putManifest(repo, tag, bytes, OCI_MANIFEST);
      out.set(tag, { digest: digestOf(bytes), size: bytes.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tags.length) }, worker));
  return out;
}

/** Loads a signing key from a `trust` home's key store (decrypting it once). */
export function loadHomeSigner(cli: TrustCli, key: string): Promise<Signer> {
  return cli.ocitrustHome().keyStore().loadSigner(key, BENCH_PASSPHRASE);
}

/**
 * Signs `repository:tag` for every tag through the library (what `trust sign` does, without a
 * process per tag), as `role` with `signer`; `concurrency` signatures in flight at once.
 */
export async function signInProcess(registry: RegistryClient, repository: string, tags: readonly string[], signer: Signer, role: string, concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tags.length) {
      const tag = tags[next++]!;
      await signImage({ reference: `${repository}:${tag}`, registry, signer, role });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tags.length) }, worker));
}

/**
 * A collection `repository` with signer `alice` (key generated in `owner`'s home on first use,
 * its public key next to the home), through the CLI as a user would: `trust key generate`,
 * `trust init`, `trust signer add`.
 */
export async function initCollection(owner: TrustCli, repository: string, signer = 'alice'): Promise<void> {
  const pubDir = `${owner.home}-pub`;
  const have = existsSync(owner.home) && (await owner.ocitrustHome().keyStore().list()).some((k) => k.name === signer);
  mkdirSync(pubDir, { recursive: true });
  if (!have) await owner.run(['key', 'generate', signer, '--dir', pubDir]);
  await owner.run(['init', repository]);
  await owner.run(['signer', 'add', '--key', join(pubDir, `${signer}.pub`), signer, repository]);
}
