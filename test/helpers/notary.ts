/**
 * Docker Content Trust without the docker CLI, for tests (issue 15): Debian's notary-server and
 * notary-signer (0.7, mutual TLS, in-memory storage, started by bench/notary/harness.ts),
 * Debian's docker-registry, images pushed with skopeo, and the real `notary` client doing what
 * `docker trust` does:
 *
 * - `docker trust signer add NAME REPO KEY.pub` → `notary delegation add GUN targets/releases`
 *   and `targets/NAME` with the signer's public key (the owner's trust dir: root + targets keys);
 * - `docker trust sign REPO:TAG` → in the signer's own trust dir (its private key imported with
 *   `notary key import`), `notary addhash GUN TAG SIZE --sha256 HEX -r targets/releases -r
 *   targets/NAME` over the pushed manifest's bytes, then `notary publish`;
 * - the snapshot key is server-managed (`notary key rotate GUN snapshot -r`), as docker sets up
 *   a repository, so that signers without the owner's keys can publish.
 *
 * The GUN is `<registry host>/<repository>`, as docker names it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotaryClient, notaryMissing, startNotary, type NotaryService } from '../../bench/notary/harness.js';
import { timeProcess } from '../../bench/helpers/process.js';
import { startDistribution, type Distribution } from './distribution.js';
import { makeImage, missingPrograms, skopeoPush, writeOciLayout } from './oci-layout.js';

export { notaryMissing };

/** The passphrase the harness gives every Notary key (NOTARY_*_PASSPHRASE). */
export const NOTARY_PASSPHRASE = 'bench-passphrase-0123456789';

/** Why the DCT world cannot run here, or undefined. Under CI=true a missing program throws (the test fails). */
export function dctMissing(): string | undefined {
  const notary = notaryMissing();
  if (notary && process.env.CI === 'true') throw new Error(`CI=true but ${notary}`);
  return notary ?? missingPrograms('docker-registry', 'skopeo');
}

/** A DCT signer: an ECDSA P-256 key made with openssl, with its own `notary` trust dir. */
export interface DctSigner {
  readonly name: string;
  /** PKCS#8 PEM of the private key (unencrypted; imported into the signer's trust dir encrypted by notary). */
  readonly keyPath: string;
  /** Self-signed certificate PEM of the key (what `notary delegation add` takes). */
  readonly certPath: string;
  /** The notary keyid of the certificate key (as `delegation add` prints it). */
  keyid?: string;
  readonly client: NotaryClient;
}

/** An image pushed with skopeo. */
export interface PushedImage {
  readonly digest: string;
  readonly size: number;
  readonly bytes: Uint8Array;
}

/** The running stack and the `docker trust` operations on it. */
export interface DctWorld {
  readonly notary: NotaryService;
  readonly registry: Distribution;
  /** The repository owner's trust dir (root and targets keys). */
  readonly owner: NotaryClient;
  /** `<registry host>/<repo>`. */
  gun(repo: string): string;
  /** `docker trust` on a new repository: `notary init -p` and a server-managed snapshot key. */
  initRepo(repo: string): Promise<void>;
  /** A new signer key (openssl), imported into its own trust dir. */
  newSigner(name: string): Promise<DctSigner>;
  /**
   * `docker trust signer add`: the signer's key into `targets/releases` and `targets/<name>`
   * (or the given roles); `threshold` > 1 rewrites the staged delegation change (the notary CLI
   * always stages threshold 1), then publishes.
   */
  addSigner(repo: string, signer: DctSigner, opts?: { roles?: readonly string[]; threshold?: number }): Promise<void>;
  /** `docker trust signer remove`: the signer's key out of `targets/releases` and `targets/<name>`, published. */
  removeSigner(repo: string, signer: DctSigner, roles?: readonly string[]): Promise<void>;
  /** Pushes a fresh random image with skopeo as `repo:tag`. */
  pushImage(repo: string, tag: string): Promise<PushedImage>;
  /** `docker trust sign`: the tag's target (manifest sha256 and size) into the signers' roles, published. */
  sign(repo: string, tag: string, image: PushedImage, signers: readonly DctSigner[], roles?: readonly string[]): Promise<void>;
  /**
   * `docker trust sign` of many tags in one publish (benchmarks): the first tag through
   * `notary addhash`, its changelist entries the template of the others (same fields, the
   * tag's length and sha256, names that keep their order), then one `notary publish`.
   */
  signMany(repo: string, tags: ReadonlyMap<string, { digest: string; size: number }>, signer: DctSigner): Promise<void>;
  /** The repository's root certificate PEM (from the owner's cached root.json) written to a file. */
  rootCertFile(repo: string): string;
  /** The owner's cached root.json (the root as Notary published it) written to a file. */
  rootJsonFile(repo: string): string;
  /** `notary key rotate GUN ROLE` by the owner (a root rotation is confirmed with "yes", signed by the old and new root keys). */
  rotateKey(repo: string, role: 'root' | 'targets'): Promise<void>;
  /** Runs `notary` in the owner's (or a given) trust dir; rejects unless it exits 0. */
  run(args: readonly string[], client?: NotaryClient): Promise<string>;
  stop(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** Starts notary-signer, notary-server and docker-registry on 127.0.0.1 (ephemeral ports). */
export async function startDct(): Promise<DctWorld> {
  const notary = await startNotary({ logLevel: 'warn' });
  let registry: Distribution;
  try {
    registry = await startDistribution();
  } catch (e) {
    await notary.stop();
    throw e;
  }
  const work = mkdtempSync(join(notary.dir, 'dct-'));
  const owner = notary.client('owner');
  const gun = (repo: string) => `${registry.host}/${repo}`;
  const run = async (args: readonly string[], client: NotaryClient = owner): Promise<string> => {
    const r = await client.runAny(args);
    if (r.code !== 0) throw new Error(`notary ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()} ${r.stdout.trim()}`);
    return r.stdout;
  };
  const changelist = (client: NotaryClient, repo: string): string => join(client.trustDir, 'tuf', ...gun(repo).split('/'), 'changelist');
  const cachedRoot = (repo: string): { signed: { keys: Record<string, { keytype: string; keyval: { public: string } }>; roles: { root: { keyids: string[] } } } } =>
    JSON.parse(readFileSync(owner.metadataPath(gun(repo), 'root'), 'utf8'));
  let images = 0;

  const world: DctWorld = {
    notary,
    registry,
    owner,
    gun,
    run,
    async initRepo(repo) {
      await run(['init', '-p', gun(repo)]);
      await run(['key', 'rotate', gun(repo), 'snapshot', '-r']);
    },
    async rotateKey(repo, role) {
      const r = await timeProcess('notary', ['-s', notary.url, '-d', owner.trustDir, '--tlscacert', notary.caPath, 'key', 'rotate', gun(repo), role], { env: owner.env, input: 'yes\n' });
      if (r.code !== 0 || /Aborting/.test(r.stdout)) throw new Error(`notary key rotate ${role} failed (${r.code}): ${r.stderr.trim()} ${r.stdout.trim()}`);
    },
    async newSigner(name) {
      const dir = mkdtempSync(join(work, `signer-${name}-`));
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key'], dir);
      openssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'ec.key', '-out', 'key.pem'], dir);
      openssl(['req', '-new', '-x509', '-key', 'ec.key', '-out', 'cert.pem', '-days', '3650', '-subj', `/CN=${name}`], dir);
      const client = notary.client(`signer-${name}`);
      const signer: DctSigner = { name, keyPath: join(dir, 'key.pem'), certPath: join(dir, 'cert.pem'), client };
      await run(['key', 'import', signer.keyPath, '--role', name], client);
      return signer;
    },
    async addSigner(repo, signer, opts = {}) {
      const roles = opts.roles ?? ['targets/releases', `targets/${signer.name}`];
      for (const role of roles) {
        const before = new Set(safeList(changelist(owner, repo)));
        const out = await run(['delegation', 'add', gun(repo), role, signer.certPath, '--all-paths']);
        signer.keyid ??= /keys \[([0-9a-f]{64})\]/.exec(out)?.[1];
        if ((opts.threshold ?? 1) > 1) {
          // The notary CLI stages threshold 1; the library it calls applies whatever is staged.
          const made = safeList(changelist(owner, repo)).filter((f) => !before.has(f));
          for (const f of made) {
            const path = join(changelist(owner, repo), f);
            const entry = JSON.parse(readFileSync(path, 'utf8')) as { type: string; data: string };
            if (entry.type !== 'delegation') continue;
            const data = JSON.parse(Buffer.from(entry.data, 'base64').toString('utf8')) as Record<string, unknown>;
            if (!('threshold' in data)) continue; // the paths change
            data.threshold = opts.threshold;
            writeFileSync(path, JSON.stringify({ ...entry, data: Buffer.from(JSON.stringify(data)).toString('base64') }));
          }
        }
      }
      await run(['publish', gun(repo)]);
    },
    async removeSigner(repo, signer, roles = ['targets/releases', `targets/${signer.name}`]) {
      if (!signer.keyid) throw new Error(`signer ${signer.name} was never added`);
      for (const role of roles) await run(['delegation', 'remove', gun(repo), role, signer.keyid]);
      await run(['publish', gun(repo)]);
    },
    async pushImage(repo, tag) {
      const img = makeImage();
      const layout = join(work, `layout-${++images}`);
      await writeOciLayout(layout, [{ tag, content: img }]);
      await skopeoPush(layout, tag, `${registry.host}/${repo}:${tag}`);
      return { digest: img.manifest.digest, size: img.manifest.bytes.length, bytes: img.manifest.bytes };
    },
    async sign(repo, tag, image, signers, roles) {
      const hex = createHash('sha256').update(image.bytes).digest('hex');
      if (`sha256:${hex}` !== image.digest) throw new Error('image bytes do not match its digest');
      for (const s of signers) {
        const r = (roles ?? ['targets/releases', `targets/${s.name}`]).flatMap((x) => ['-r', x]);
        await run(['addhash', gun(repo), tag, String(image.size), '--sha256', hex, ...r], s.client);
        await run(['publish', gun(repo)], s.client);
      }
    },
    async signMany(repo, tags, signer) {
      const list = [...tags];
      if (list.length === 0) return;
      const dir = changelist(signer.client, repo);
      const before = new Set(safeList(dir));
      const [tag0, first] = list[0]!;
      const roles = ['targets/releases', `targets/${signer.name}`].flatMap((x) => ['-r', x]);
      await run(['addhash', gun(repo), tag0, String(first.size), '--sha256', first.digest.slice('sha256:'.length), ...roles], signer.client);
      const made = safeList(dir).filter((f) => !before.has(f)).sort();
      if (made.length === 0) throw new Error('notary addhash staged nothing');
      const templates = made.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown> & { data: string });
      let seq = BigInt(made[made.length - 1]!.slice(0, 20)) + 1n;
      for (const [tag, img] of list.slice(1)) {
        for (const t of templates) {
          const meta = JSON.parse(Buffer.from(t.data, 'base64').toString('utf8')) as { length: number; hashes: Record<string, string> };
          const data = Buffer.from(JSON.stringify({ ...meta, length: img.size, hashes: { sha256: Buffer.from(img.digest.slice('sha256:'.length), 'hex').toString('base64') } })).toString('base64');
          const name = `${(seq++).toString().padStart(20, '0')}_${createHash('sha256').update(`${tag} ${String(seq)}`).digest('hex').slice(0, 32)}.change`;
          writeFileSync(join(dir, name), JSON.stringify({ ...t, path: tag, data }));
        }
      }
      await run(['publish', gun(repo)], signer.client);
    },
    rootCertFile(repo) {
      const root = cachedRoot(repo);
      const id = root.signed.roles.root.keyids[0]!;
      const file = join(work, `${repo.replace(/\//g, '_')}-root-${id.slice(0, 8)}.crt`);
      writeFileSync(file, Buffer.from(root.signed.keys[id]!.keyval.public, 'base64'));
      return file;
    },
    rootJsonFile(repo) {
      const file = join(work, `${repo.replace(/\//g, '_')}-root.json`);
      writeFileSync(file, readFileSync(owner.metadataPath(gun(repo), 'root')));
      return file;
    },
    async stop() {
      await registry.stop();
      await notary.stop();
    },
  };
  return world;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
