/**
 * The world of the cross-face table test (issue 13): one trust server (SQLite, embedded
 * registry), the admission webhooks on their own server over HTTPS, Debian's docker-registry holding every image (pushed by hand
 * as OCI manifests, anonymous reads), collections with delegated signers created with the
 * lib/usecases admin functions, and the verifying proxy (a second trust server with the proxy
 * plugin) in front of the registry. Helpers here only build; tests/helpers/faces.ts asks.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock, systemClock, type Clock } from '../../lib/clock.js';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { parseReference } from '../../lib/reference.js';
import { TrustServerClient } from '../../lib/trust-client.js';
import { OcitrustHome } from '../../lib/usecases/home.js';
import { addSigner, initCollection, removeSigner, revokeSignatures, type AdminContext } from '../../lib/usecases/admin.js';
import { signImage } from '../../lib/usecases/sign.js';
import { copyImage } from '../../lib/usecases/copy.js';
import { listSignatures, signatureTag, updateFallbackIndex } from '../../lib/oci/referrers.js';
import { checkSignatureManifest, referrerDescriptor } from '../../lib/oci/signature-artifact.js';
import { emptyBlob, OCI_MANIFEST } from '../../lib/oci/types.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { startDistribution, type Distribution } from './distribution.js';
import { makeImage, makeIndex, type TestImage, type TestIndex } from './oci-layout.js';
import { PROJECT_ROOT } from './cli.js';
import { TEST_SCRYPT, TEST_SECRET, tokenFor } from './trust-server.js';
import { startTrustFront, type TrustFront } from './trust-front.js';
import { parsePolicy, type Policy } from '../../lib/policy/index.js';

const PASSPHRASE = 'faces world passphrase';
const WEBHOOK_SERVICE = 'ocitrust-webhook';
const WEBHOOK_NAMESPACE = 'ocitrust-system';

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** What {@link startFacesWorld} gives. */
export interface FacesWorld {
  readonly server: RunningServer;
  /** Trust server base URL. */
  readonly url: string;
  /** The trust server behind a front that can be blocked (trust server down after a warm-up). */
  readonly front: TrustFront;
  readonly registry: Distribution;
  /** `127.0.0.1:PORT` of the registry: the host of every image. */
  readonly host: string;
  readonly client: HttpRegistryClient;
  readonly admin: AdminContext;
  /** Scratch folder (policy, root files, manifests). */
  readonly dir: string;
  /** Admin token of the trust server. */
  readonly token: string;
  /** The webhooks' server (HTTPS, its own data folder). */
  readonly webhooks: RunningServer;
  /** POSTs an AdmissionReview to the validating webhook over HTTPS (the private CA, the Service name). */
  validate(review: unknown): Promise<{ status: number; text: string }>;
  /** Changes the policy the admission webhooks use (hot swap, as a reload would). */
  setAdmissionPolicy(p: Policy): void;
  /** Creates collection `name` and returns its root file path (pinned root for policy rules). */
  createCollection(name: string, clock?: Clock): Promise<string>;
  /** Delegates a role with fresh keys to every repository of the registry. */
  delegate(collection: string, role: string, keys?: number, threshold?: number, clock?: Clock): Promise<SeedSigner[]>;
  removeSigner(collection: string, role: string): Promise<void>;
  revoke(collection: string, reference: string, o?: { role?: string; envelope?: string }): Promise<void>;
  /**
   * Saves the signature artifacts of `path@digest` as the registry holds them now; the returned
   * function pushes them back (a registry attacker undoing the deletion a revocation does, so
   * that only the signed revocation stands between the signature and "verified").
   */
  saveSignatures(path: string, digest: string): Promise<() => Promise<void>>;
  /** Digests of the signature envelopes of `path@digest` (as `trust inspect` lists them). */
  envelopes(path: string, digest: string): Promise<string[]>;
  /** Copies `from` (`path:tag`) with its signatures to `to` (`path:tag`), as `trust copy` does. */
  copy(from: string, to: string): Promise<void>;
  /** Pushes a single-platform image under `path:tag` (or the given image), returns its digest. */
  pushImage(path: string, tag: string, image?: TestImage): Promise<string>;
  /** Pushes an index and its children under `path:tag`; returns the index and the children digests. */
  pushIndex(path: string, tag: string): Promise<{ digest: string; children: string[]; index: TestIndex }>;
  /** Signs `reference` (`host/path:tag` or `@digest`) as `role`; returns the signature (envelope) digest. */
  sign(reference: string, signers: readonly SeedSigner[], role: string, o?: { clock?: Clock; expires?: Date }): Promise<void>;
  close(): Promise<void>;
}

/** Starts the trust server (embedded registry, admission), the registry and the front. */
export async function startFacesWorld(): Promise<FacesWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-faces-'));
  // Replaced by the test's policy before any review; the server reads one at start.
  let policy: Policy = parsePolicy('{"version": 1, "rules": []}');
  const server = await startServer({
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
    cacheTtlMs: 0,
  });
  // The webhooks run as Kubernetes runs them: their own server, over HTTPS with the certificates
  // deploy/gen-certs.sh makes, reading trust from the trust server the policy names.
  const certs = join(dir, 'certs');
  const gen = spawnSync('bash', [join(PROJECT_ROOT, 'deploy/gen-certs.sh'), certs, WEBHOOK_SERVICE, WEBHOOK_NAMESPACE, '2'], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`deploy/gen-certs.sh failed (openssl is required): ${gen.stderr}`);
  const webhooks = await startServer({
    secret: TEST_SECRET,
    scrypt: TEST_SCRYPT,
    dataDir: join(dir, 'webhooks-data'),
    host: '127.0.0.1',
    port: 0,
    registry: false,
    resignIntervalMs: 0,
    auditPruneIntervalMs: 0,
    handleSignals: false,
    logger: false,
    tlsCert: join(certs, 'tls.crt'),
    tlsKey: join(certs, 'tls.key'),
    admission: { policy: () => policy },
  });
  const ca = readFileSync(join(certs, 'ca.crt'));
  const registry = await startDistribution();
  const front = await startTrustFront(server.url);
  const token = await tokenFor(server.app, 'admin', ['**'], 'faces-world');
  const client = new HttpRegistryClient({ credentials: anonymous, retry: { maxAttempts: 2 } });
  const home = new OcitrustHome(join(dir, 'home'));
  const admin: AdminContext = { home, keys: home.keyStore(), server: new TrustServerClient(server.url, { token }), passphrase: async () => PASSPHRASE, token };
  const host = registry.host;
  const paths = [`${host}/*/*`];
  const at = (clock?: Clock): AdminContext => (clock ? { ...admin, clock } : admin);
  return {
    server,
    url: server.url,
    front,
    registry,
    host,
    client,
    admin,
    dir,
    token,
    webhooks,
    validate(review) {
      const port = new URL(webhooks.url).port;
      return new Promise((resolve, reject) => {
        const data = Buffer.from(JSON.stringify(review));
        const req = httpsRequest(
          { host: '127.0.0.1', port, path: '/admission/validate', method: 'POST', ca, servername: `${WEBHOOK_SERVICE}.${WEBHOOK_NAMESPACE}.svc`, headers: { 'content-type': 'application/json', 'content-length': data.length } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    },
    setAdmissionPolicy: (p) => (policy = p),
    async createCollection(name, clock) {
      await initCollection(at(clock), { collection: name });
      const pin = await home.readPin(name);
      if (!pin) throw new Error(`no pinned root for ${name}`);
      const file = join(dir, `${name.replace(/[^a-z0-9]+/g, '-')}.root.json`);
      writeFileSync(file, pin.root);
      return file;
    },
    async delegate(collection, role, keys = 1, threshold = 1, clock) {
      const signers = Array.from({ length: keys }, () => new SeedSigner(randomSecretSeed()));
      await addSigner(at(clock), { collection, name: role, keys: signers.map((s) => s.publicKey), threshold, paths, releases: false });
      return signers;
    },
    async removeSigner(collection, role) {
      await removeSigner(admin, { collection, name: role });
    },
    async revoke(collection, reference, o = {}) {
      await revokeSignatures(admin, { collection, reference, registry: client, reason: 'faces table test', ...o });
    },
    async saveSignatures(path, digest) {
      const ref = parseReference(`${host}/${path}@${digest}`);
      const { descriptors } = await listSignatures(client, ref, digest, { complete: true });
      const saved: { sig: Awaited<ReturnType<HttpRegistryClient["getManifest"]>>; envelope: Uint8Array }[] = [];
      for (const d of descriptors) {
        const sig = await client.getManifest(ref, d.digest);
        const layer = checkSignatureManifest(sig, digest);
        saved.push({ sig, envelope: await client.getBlob(ref, layer.digest, { size: layer.size }) });
      }
      return async () => {
        await client.pushBlob(ref, emptyBlob());
        for (const { sig, envelope } of saved) {
          await client.pushBlob(ref, envelope);
          await client.putManifest(ref, sig.digest, sig.bytes, OCI_MANIFEST);
          await client.putManifest(ref, signatureTag(digest, sig.digest), sig.bytes, OCI_MANIFEST);
          await updateFallbackIndex(client, ref, digest, { add: [referrerDescriptor(sig)] });
        }
      };
    },
    async envelopes(path, digest) {
      const ref = parseReference(`${host}/${path}@${digest}`);
      const { descriptors } = await listSignatures(client, ref, digest, { complete: true });
      const out: string[] = [];
      for (const d of descriptors) out.push(checkSignatureManifest(await client.getManifest(ref, d.digest), digest).digest);
      return out;
    },
    async copy(from, to) {
      await copyImage({ source: `${host}/${from}`, destination: `${host}/${to}`, registry: client });
    },
    async pushImage(path, tag, image = makeImage()) {
      const ref = parseReference(`${host}/${path}:${tag}`);
      for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
      await client.putManifest(ref, tag, image.manifest.bytes, image.manifest.mediaType);
      return image.manifest.digest;
    },
    async pushIndex(path, tag) {
      const index = makeIndex();
      const ref = parseReference(`${host}/${path}:${tag}`);
      for (const im of index.images) {
        for (const b of im.blobs) await client.pushBlob(ref, b.bytes);
        await client.putManifest(ref, im.manifest.digest, im.manifest.bytes, im.manifest.mediaType);
      }
      await client.putManifest(ref, tag, index.index.bytes, index.index.mediaType);
      return { digest: index.index.digest, children: index.images.map((i) => i.manifest.digest), index };
    },
    async sign(reference, signers, role, o = {}) {
      await signImage({ reference, registry: client, signer: signers.length === 1 ? signers[0]! : signers, role, ...(o.clock ? { clock: o.clock } : {}), ...(o.expires ? { expires: o.expires } : {}) });
    },
    async close() {
      await front.close().catch(() => undefined);
      await registry.stop().catch(() => undefined);
      await webhooks.close().catch(() => undefined);
      await server.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A clock `seconds` away from now (negative: the past). */
export function shiftedClock(seconds: number): Clock {
  return fixedClock(new Date(systemClock.now().getTime() + seconds * 1000).toISOString());
}
