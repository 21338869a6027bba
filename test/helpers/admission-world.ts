/**
 * A complete deploy-time setting for the admission and verify-manifests end-to-end tests and
 * the admission benchmark: a real trust server (SQLite in a temp dir, embedded registry,
 * admission webhooks) listening on 127.0.0.1:0, a delaying and counting proxy in front of it
 * through which every image is pushed, signed and verified, collections created with the
 * lib/usecases admin functions (keys in a temp home), and images signed with `signImage`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { parseReference } from '../../lib/reference.js';
import { loadPolicyFile, parsePolicy, type Policy } from '../../lib/policy/index.js';
import { TrustServerClient } from '../../lib/trust-client.js';
import { OcitrustHome } from '../../lib/usecases/home.js';
import { addSigner, initCollection, type AdminContext } from '../../lib/usecases/admin.js';
import { signImage } from '../../lib/usecases/sign.js';
import { startServer, type RunningServer } from '../../server/main.js';
import type { AdmissionServerOptions, AdmissionVerifier } from '../../server/admission.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { makeImage } from './oci-layout.js';
import { TEST_SCRYPT, TEST_SECRET, tokenFor } from './trust-server.js';

/** Options of {@link startAdmissionWorld}. */
export interface AdmissionWorldOptions {
  /** Admission settings other than the policy (timeoutSeconds, deadlineMs, cache…). */
  readonly admission?: Omit<AdmissionServerOptions, 'policy' | 'onVerifier'>;
}

/** What {@link startAdmissionWorld} gives. */
export interface AdmissionWorld {
  readonly server: RunningServer;
  /** Trust server base URL (direct). */
  readonly url: string;
  /** The proxy in front of the server's registry. */
  readonly proxy: DelayProxy;
  /** `127.0.0.1:PORT` of the proxy: the registry host of every image. */
  readonly host: string;
  /** Admin token of the server. */
  readonly token: string;
  /** Registry client with push rights (through the proxy when references name its host). */
  readonly registry: HttpRegistryClient;
  readonly admin: AdminContext;
  /** The delegated signer `release` (its key is delegated by {@link createCollection}). */
  readonly signer: SeedSigner;
  /** Scratch folder (policy and root files). */
  readonly dir: string;
  /** The admission verifier built by the server (its stats count cache hits). */
  verifier(): AdmissionVerifier;
  /** The policy the webhooks use now. */
  policy(): Policy;
  /** Writes `text` as `<dir>/<name>` and makes it the webhooks' policy (hot swap). */
  usePolicy(text: string, name?: string): Promise<Policy>;
  /** Creates a collection with signer `release` (key {@link signer}) for `paths`; returns the root file path. */
  createCollection(collection: string, paths: readonly string[]): Promise<string>;
  /** Pushes a fresh random image as `<host>/<path>:<tag>`; returns its reference and digest. */
  pushImage(path: string, tag: string): Promise<{ reference: string; digest: string }>;
  /** Signs a reference as role `release`. */
  sign(reference: string): Promise<void>;
  close(): Promise<void>;
}

const PASSPHRASE = 'admission world passphrase';

/** Starts the server, the proxy and the admin context; no collections yet. */
export async function startAdmissionWorld(o: AdmissionWorldOptions = {}): Promise<AdmissionWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-admission-'));
  let policy: Policy = parsePolicy('{"version": 1, "rules": []}');
  let verifier: AdmissionVerifier | undefined;
  let server: RunningServer | undefined;
  let proxy: DelayProxy | undefined;
  try {
    server = await startServer({
      secret: TEST_SECRET,
      scrypt: TEST_SCRYPT,
      dataDir: join(dir, 'data'),
      host: '127.0.0.1',
      port: 0,
      registry: true,
      resignIntervalMs: 0,
      auditPruneIntervalMs: 0,
      handleSignals: false,
      logger: false,
      admission: { ...(o.admission ?? {}), policy: () => policy, onVerifier: (v) => (verifier = v) },
    });
    proxy = await startDelayProxy(server.url);
    const token = await tokenFor(server.app, 'admin', ['**'], 'admission-world');
    const registry = new HttpRegistryClient({ credentials: async () => ({ username: 'ocitrust', password: token }), userAgent: 'ocitrust-test' });
    const home = new OcitrustHome(join(dir, 'home'));
    const admin: AdminContext = {
      home,
      keys: home.keyStore(),
      server: new TrustServerClient(server.url, { token }),
      passphrase: async () => PASSPHRASE,
      token,
    };
    const signer = new SeedSigner(randomSecretSeed());
    const host = proxy.host;
    const srv = server;
    const px = proxy;
    return {
      server: srv,
      url: srv.url,
      proxy: px,
      host,
      token,
      registry,
      admin,
      signer,
      dir,
      verifier() {
        if (!verifier) throw new Error('the server built no admission verifier');
        return verifier;
      },
      policy: () => policy,
      async usePolicy(text, name = 'policy.yaml') {
        const file = join(dir, name);
        writeFileSync(file, text);
        policy = await loadPolicyFile(file);
        return policy;
      },
      async createCollection(collection, paths) {
        await initCollection(admin, { collection });
        await addSigner(admin, { collection, name: 'release', keys: [signer.publicKey], paths, releases: false });
        const pin = await home.readPin(collection);
        if (!pin) throw new Error(`no pinned root for ${collection}`);
        const file = join(dir, `${collection.replace(/[^a-z0-9]+/g, '-')}.root.json`);
        writeFileSync(file, pin.root);
        return file;
      },
      async pushImage(path, tag) {
        const ref = parseReference(`${host}/${path}:${tag}`);
        const img = makeImage();
        for (const b of img.blobs) await registry.pushBlob(ref, b.bytes);
        await registry.putManifest(ref, tag, img.manifest.bytes, img.manifest.mediaType);
        return { reference: `${host}/${path}:${tag}`, digest: img.manifest.digest };
      },
      async sign(reference) {
        await signImage({ reference, registry, signer, role: 'release' });
      },
      async close() {
        await px.close();
        await srv.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await proxy?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** POSTs an AdmissionReview to `<url>/admission/<action>` and returns the HTTP status, body and elapsed ms. */
export async function postReview(url: string, action: 'validate' | 'mutate', review: unknown): Promise<{ status: number; body: any; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/admission/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review) });
  const text = await res.text();
  const ms = performance.now() - t0;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text for the assertion message
  }
  return { status: res.status, body, ms };
}
