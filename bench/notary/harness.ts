// Notary v1 (Debian's `notary` package: notary, notary-server, notary-signer 0.7.0) as the
// baseline of the benchmarks of issue 8, set up the way notary's own docs deploy it:
// notary-server in front of notary-signer, mutual TLS between them (gRPC), HTTPS from the client,
// both on 127.0.0.1 with ephemeral ports, in-memory storage on both, a throwaway CA from openssl.
//
// The `notary` client runs as a whole process with its own trust dir; passphrases come from
// NOTARY_{ROOT,TARGETS,SNAPSHOT,DELEGATION}_PASSPHRASE. Configs follow cmd/notary-server and
// cmd/notary-signer upstream (server.http_addr / trust_service remote / storage memory;
// server.grpc_addr / client_ca_file / storage memory).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timeOk, timeProcess, waitForListeningPort, type TimedRun } from '../helpers/process.js';

/** Programs the harness needs. */
export const NOTARY_PROGRAMS = ['notary', 'notary-server', 'notary-signer', 'openssl'] as const;

/**
 * Why Notary cannot run here (a missing program), or undefined when it can. Install with
 * `apt-get install notary openssl` (Debian ships client, server and signer in one package).
 */
export function notaryMissing(): string | undefined {
  for (const p of NOTARY_PROGRAMS) {
    const r = spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' });
    if (r.status !== 0) return `${p} is not installed (apt-get install notary openssl)`;
  }
  return undefined;
}

/** One request notary-server logged ("response completed"). */
export interface NotaryRequest {
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  /** Response body bytes. */
  readonly written: number;
}

/** A running notary-server + notary-signer pair. */
export interface NotaryService {
  /** `https://127.0.0.1:PORT` of notary-server. */
  readonly url: string;
  /** The CA that signed both TLS certificates (for `--tlscacert`). */
  readonly caPath: string;
  /** Temporary folder holding certificates, configs and client trust dirs. */
  readonly dir: string;
  /** Every request notary-server has logged so far, oldest first. */
  requests(): readonly NotaryRequest[];
  /** Resolves once the server log has been quiet for `quietMs` (so a finished client's requests are all in). */
  settle(quietMs?: number): Promise<void>;
  /** A client with a fresh trust dir (`name` makes it readable in the temp folder). */
  client(name?: string): NotaryClient;
  /** Stops both processes and removes the folder. */
  stop(): Promise<void>;
}

const PASS = 'bench-passphrase-0123456789';

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** Writes ca.pem/ca.key and, per name, NAME.pem/NAME.key signed by it, valid for 127.0.0.1. */
function makeCertificates(dir: string, names: readonly string[]): void {
  // P-256 keys: as accepted by Go's TLS as RSA, and generated in milliseconds rather than seconds.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ocitrust bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const ext = join(dir, 'leaf.ext');
  writeFileSync(ext, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    // notary-server's certificate is both the HTTPS server certificate and its client
    // certificate towards notary-signer (mutual TLS), as in notary's fixtures.
    'extendedKeyUsage=serverAuth,clientAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '',
  ].join('\n'));
  for (const n of names) {
    openssl(['req', ...ec, '-keyout', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${n}`], dir);
    openssl(['x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${n}.pem`, '-extfile', ext], dir);
  }
}

interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  exitReason(): string | undefined;
}

function startProc(cmd: string, args: string[], cwd: string, onLine?: (l: string) => void): Proc {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let exited: string | undefined;
  let rest = '';
  const feed = (b: Buffer): void => {
    const parts = (rest + b.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      if (lines.length < 200) lines.push(l);
      onLine?.(l);
    }
  };
  child.stdout!.on('data', feed);
  child.stderr!.on('data', feed);
  child.on('exit', (code, signal) => {
    exited = `${cmd} exited (${code ?? signal}): ${lines.slice(-5).join(' / ')}`;
  });
  child.on('error', (e) => {
    exited = `${cmd} could not start: ${e.message}`;
  });
  return { child, lines, exitReason: () => exited };
}

function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
    p.child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.child.kill('SIGTERM');
  });
}

function healthy(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/_notary_server/health`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Options of {@link startNotary}. */
export interface StartNotaryOptions {
  /** notary-server log level (default `info`, which logs every request: needed for {@link NotaryService.requests}). */
  readonly logLevel?: 'info' | 'warn' | 'error';
  readonly timeoutMs?: number;
}

/**
 * Starts notary-signer, then notary-server pointing at it, and waits until the server's health
 * endpoint answers 200 over HTTPS.
 * @throws Error when a program is missing or a process dies or does not become ready.
 */
export async function startNotary(opts: StartNotaryOptions = {}): Promise<NotaryService> {
  const missing = notaryMissing();
  if (missing) throw new Error(missing);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-bench-notary-'));
  const procs: Proc[] = [];
  try {
    makeCertificates(dir, ['notary-server', 'notary-signer']);
    writeFileSync(join(dir, 'signer.json'), JSON.stringify({
      server: { grpc_addr: '127.0.0.1:0', tls_cert_file: 'notary-signer.pem', tls_key_file: 'notary-signer.key', client_ca_file: 'ca.pem' },
      logging: { level: 'warn' },
      storage: { backend: 'memory' },
    }, null, 2));
    const signer = startProc('notary-signer', ['-config', 'signer.json', '-logf', 'json'], dir);
    procs.push(signer);
    const signerPort = await waitForListeningPort(signer.child.pid!, timeoutMs, signer.exitReason);

    writeFileSync(join(dir, 'server.json'), JSON.stringify({
      server: { http_addr: '127.0.0.1:0', tls_cert_file: 'notary-server.pem', tls_key_file: 'notary-server.key' },
      trust_service: {
        type: 'remote', hostname: '127.0.0.1', port: String(signerPort), key_algorithm: 'ecdsa',
        tls_ca_file: 'ca.pem', tls_client_cert: 'notary-server.pem', tls_client_key: 'notary-server.key',
      },
      logging: { level: opts.logLevel ?? 'info' },
      storage: { backend: 'memory' },
    }, null, 2));
    const requests: NotaryRequest[] = [];
    let lastLine = Date.now();
    const onLine = (l: string): void => {
      lastLine = Date.now();
      if (!l.includes('"response completed"')) return;
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        requests.push({
          method: String(j['http.request.method']),
          uri: String(j['http.request.uri']),
          status: Number(j['http.response.status']),
          written: Number(j['http.response.written']),
        });
      } catch {
        // not a log record
      }
    };
    const server = startProc('notary-server', ['-config', 'server.json', '-logf', 'json'], dir, onLine);
    procs.push(server);
    const port = await waitForListeningPort(server.child.pid!, timeoutMs, server.exitReason);
    const url = `https://127.0.0.1:${port}`;
    const caPath = join(dir, 'ca.pem');
    const ca = readFileSync(caPath);
    const deadline = Date.now() + timeoutMs;
    while (!(await healthy(url, ca))) {
      const gone = server.exitReason() ?? signer.exitReason();
      if (gone) throw new Error(gone);
      if (Date.now() > deadline) throw new Error(`notary-server at ${url} not healthy within ${timeoutMs} ms: ${server.lines.slice(-5).join(' / ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    let clients = 0;
    const service: NotaryService = {
      url,
      caPath,
      dir,
      requests: () => requests,
      async settle(quietMs = 100) {
        while (Date.now() - lastLine < quietMs) await new Promise((r) => setTimeout(r, quietMs / 4));
      },
      client: (name) => new NotaryClient(service, join(dir, `client-${name ?? ''}${++clients}`)),
      async stop() {
        for (const p of [...procs].reverse()) await stopProc(p);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    // Health counts as traffic; start every measurement from a quiet log.
    await service.settle();
    return service;
  } catch (e) {
    for (const p of procs.reverse()) await stopProc(p);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A target to stage without running `notary add` for it. */
export interface StagedTarget {
  readonly tag: string;
  readonly content: Buffer;
}

/**
 * The `notary` client with one trust dir (its local keys and cached metadata), as one user on
 * one machine. Every call is a whole `notary` process, timed.
 */
export class NotaryClient {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly service: NotaryService, readonly trustDir: string) {
    this.home = `${trustDir}-home`;
    mkdirSync(trustDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.home, { recursive: true });
    this.env = {
      PATH: process.env.PATH,
      // notary reads ~/.notary/config.json when present: an empty HOME keeps the user's out.
      HOME: this.home,
      NOTARY_ROOT_PASSPHRASE: PASS,
      NOTARY_TARGETS_PASSPHRASE: PASS,
      NOTARY_SNAPSHOT_PASSPHRASE: PASS,
      NOTARY_DELEGATION_PASSPHRASE: PASS,
    };
  }

  /** `notary -s URL -d DIR --tlscacert CA args…`, timed; rejects unless it exits 0. */
  run(args: readonly string[]): Promise<TimedRun> {
    return timeOk('notary', ['-s', this.service.url, '-d', this.trustDir, '--tlscacert', this.service.caPath, ...args], { env: this.env });
  }

  /** Like {@link run} but resolves whatever the exit code. */
  runAny(args: readonly string[]): Promise<TimedRun> {
    return timeProcess('notary', ['-s', this.service.url, '-d', this.trustDir, '--tlscacert', this.service.caPath, ...args], { env: this.env });
  }

  /** `notary init GUN` (creates root, targets keys locally; the server makes snapshot/timestamp keys). */
  init(gun: string): Promise<TimedRun> {
    return this.run(['init', gun]);
  }

  /** `notary add GUN TAG FILE` (stages the file's length, sha256 and sha512 as target TAG). */
  add(gun: string, tag: string, file: string): Promise<TimedRun> {
    return this.run(['add', gun, tag, file]);
  }

  /** `notary publish GUN`. */
  publish(gun: string): Promise<TimedRun> {
    return this.run(['publish', gun]);
  }

  /** `notary lookup GUN TAG` (prints `TAG sha256:HEX LENGTH`). */
  lookup(gun: string, tag: string): Promise<TimedRun> {
    return this.run(['lookup', gun, tag]);
  }

  /** `notary list GUN`. */
  list(gun: string): Promise<TimedRun> {
    return this.run(['list', gun]);
  }

  /** Removes the trust dir's cached metadata and keys: the next lookup starts cold (trust on first use). */
  forget(): void {
    rmSync(this.trustDir, { recursive: true, force: true });
    mkdirSync(this.trustDir, { recursive: true, mode: 0o700 });
  }

  /** Path of the locally cached `ROLE.json` of a collection. */
  metadataPath(gun: string, role: string): string {
    return join(this.trustDir, 'tuf', ...gun.split('/'), 'metadata', `${role}.json`);
  }

  /** Size in bytes of the locally cached `ROLE.json` (targets.json grows with every tag). */
  metadataSize(gun: string, role = 'targets'): number {
    return statSync(this.metadataPath(gun, role)).size;
  }

  private changelistDir(gun: string): string {
    return join(this.trustDir, 'tuf', ...gun.split('/'), 'changelist');
  }

  /**
   * Stages many targets at once without one `notary add` process per target (10,000 of those
   * would take minutes): the first goes through `notary add`, and its changelist file is the
   * template for the others, written with the same fields, the hashes `add` computes
   * (length, sha256, sha512) and names that keep their order. One `notary publish` then
   * applies them all, exactly as it would after as many `add` calls.
   * @throws Error when the real client's changelist entry does not look as expected.
   */
  async stage(gun: string, targets: readonly StagedTarget[], scratch: string): Promise<void> {
    if (targets.length === 0) return;
    const dir = this.changelistDir(gun);
    const first = targets[0]!;
    const firstFile = join(scratch, 'first-target');
    writeFileSync(firstFile, first.content);
    const before = new Set(safeList(dir));
    await this.add(gun, first.tag, firstFile);
    const made = safeList(dir).filter((f) => !before.has(f));
    if (made.length !== 1) throw new Error(`expected notary add to write one changelist file, found ${made.length}`);
    const template = JSON.parse(readFileSync(join(dir, made[0]!), 'utf8')) as Record<string, unknown>;
    if (template.action !== 'create' || template.type !== 'target' || typeof template.data !== 'string') {
      throw new Error(`unexpected changelist entry from notary add: ${JSON.stringify(template)}`);
    }
    const meta = JSON.parse(Buffer.from(template.data, 'base64').toString('utf8')) as { length: number; hashes: Record<string, string> };
    const algs = Object.keys(meta.hashes);
    if (meta.length !== first.content.length || !algs.every((a) => a === 'sha256' || a === 'sha512')) {
      throw new Error(`unexpected target meta from notary add: ${JSON.stringify(meta)}`);
    }
    // Names sort after the real entry: a nanosecond time of the same width, then a uuid.
    const base = BigInt(made[0]!.slice(0, 20)) + 1n;
    targets.slice(1).forEach((t, i) => {
      const hashes: Record<string, string> = {};
      for (const a of algs) hashes[a] = createHash(a).update(t.content).digest('base64');
      const data = Buffer.from(JSON.stringify({ ...meta, length: t.content.length, hashes })).toString('base64');
      const name = `${(base + BigInt(i)).toString().padStart(20, '0')}_${randomUUID()}.change`;
      writeFileSync(join(dir, name), JSON.stringify({ ...template, path: t.tag, data }), { mode: 0o644 });
    });
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Stand-in manifest bytes for tag `tag` (distinct per tag, the size of a small image manifest). */
export function manifestFor(tag: string): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${createHash('sha256').update(`config ${tag}`).digest('hex')}`, size: 1469 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${createHash('sha256').update(`layer ${tag}`).digest('hex')}`, size: 3_370_706 }],
  }));
}

/**
 * A collection `gun` with `count` published tags `tag-0 … tag-(count-1)`: `init`, the tags staged
 * with {@link NotaryClient.stage}, one `publish`. Returns the owner's client (which keeps the
 * keys, for signing more).
 */
export async function populate(service: NotaryService, gun: string, count: number): Promise<NotaryClient> {
  const owner = service.client('owner');
  await owner.init(gun);
  const scratch = mkdtempSync(join(service.dir, 'scratch-'));
  const tags = Array.from({ length: count }, (_, i) => `tag-${i}`);
  await owner.stage(gun, tags.map((tag) => ({ tag, content: manifestFor(tag) })), scratch);
  await owner.publish(gun);
  return owner;
}
