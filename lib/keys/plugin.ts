import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { createHash } from 'node:crypto';
import { OcitrustError } from '../errors/index.js';
import { isJsonObject } from '../json.js';
import { decodeBase64 } from '../crypto/base64.js';
import { normalizeEcdsaP256Signature } from '../crypto/ecdsa-p256.js';
import { PublicKey } from './key.js';
import { parsePublicKeyPem } from './pem.js';
import type { Signer, SigningAlgorithm } from './signer.js';

/*
 * Signer plugins (docs/signer-plugins.md): a key reference `plugin:NAME:KEYREF` runs the
 * executable `ocitrust-signer-NAME` found on PATH, once per request, with one JSON request on
 * stdin and one JSON response on stdout (protocol `ocitrust-signer/v1`):
 *
 *   → {"protocol":"ocitrust-signer/v1","operation":"describe-key","keyRef":"…"}
 *   ← {"protocol":"ocitrust-signer/v1","algorithm":"ecdsa-p256"|"ed25519","publicKey":"<SPKI PEM>"}
 *   → {"protocol":"ocitrust-signer/v1","operation":"sign","keyRef":"…","algorithm":"…",
 *      "payload":"<base64 of the bytes to sign>","payloadSha256":"<hex>"}
 *   ← {"protocol":"ocitrust-signer/v1","signature":"<base64>"}
 *   ← on failure, exit status ≠ 0 and {"protocol":"ocitrust-signer/v1","error":{"code":"…","message":"…"}}
 *
 * A plugin is untrusted code's output as far as this file is concerned: it runs with a time
 * limit (killed after it), its stdout and stderr are bounded, the response is parsed strictly,
 * and every signature is verified against the described public key before it is returned.
 */

/** The protocol version spoken (requests carry it; responses must echo it). */
export const PLUGIN_PROTOCOL = 'ocitrust-signer/v1';
/** Largest response read (a PEM key or a signature is well under 1 KiB). */
const MAX_STDOUT = 64 * 1024;
/** stderr kept for messages. */
const MAX_STDERR = 4 * 1024;
/** Default time limit of one plugin call. */
const DEFAULT_TIMEOUT_MS = 30_000;
const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MAX_KEYREF = 1024;

/** A parsed `plugin:NAME:KEYREF` reference. */
export interface PluginRef {
  readonly ref: string;
  readonly name: string;
  readonly keyRef: string;
}

/** Options of the plugin functions. */
export interface PluginOptions {
  /** Environment the plugin runs with and whose PATH finds it (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Time limit per call (default OCITRUST_PLUGIN_TIMEOUT seconds, else 30 s). */
  readonly timeoutMs?: number;
}

/** True when `s` is a plugin reference (`plugin:`…). */
export function isPluginRef(s: string): boolean {
  return s.startsWith('plugin:');
}

/** Parses `plugin:NAME:KEYREF`. @throws KEY_REFERENCE_INVALID */
export function parsePluginRef(ref: string): PluginRef {
  const m = /^plugin:([^:]*):(.*)$/s.exec(ref);
  if (!m) throw new OcitrustError('KEY_REFERENCE_INVALID', `${JSON.stringify(ref.slice(0, 100))}: expected plugin:NAME:KEYREF`);
  const [, name, keyRef] = m as unknown as [string, string, string];
  if (!NAME_RE.test(name)) throw new OcitrustError('KEY_REFERENCE_INVALID', `plugin name ${JSON.stringify(name.slice(0, 80))}: expected [a-z0-9][a-z0-9_-]{0,63}`);
  if (keyRef.length === 0 || keyRef.length > MAX_KEYREF || /[\u0000-\u001f\u007f]/.test(keyRef)) {
    throw new OcitrustError('KEY_REFERENCE_INVALID', `plugin ${name}: KEYREF must be 1 to ${MAX_KEYREF} printable characters, got ${keyRef.length}`);
  }
  return { ref, name, keyRef };
}

/** The executable `ocitrust-signer-NAME` on PATH. @throws PLUGIN_NOT_FOUND */
export async function findPlugin(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const exe = `ocitrust-signer-${name}`;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue; // a relative PATH entry would run whatever the working folder holds
    const p = join(dir, exe);
    try {
      await access(p, constants.X_OK);
      if ((await stat(p)).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  throw new OcitrustError('PLUGIN_NOT_FOUND', `signer plugin ${exe} is not an executable in any absolute PATH folder; install it (docs/signer-plugins.md)`);
}

/** ocitrust's own secrets, which a plugin never needs: key passphrases, the trust server token, the token PIN. */
const SECRET_ENV = /^OCITRUST_(?:(?:[A-Z0-9_]+_)?PASSPHRASE|TOKEN|PKCS11_PIN)$/;

/** The plugin's environment: ours (its KMS credentials, PATH, proxies) without ocitrust's secrets. */
export function pluginEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !SECRET_ENV.test(k)));
}

function timeoutOf(o: PluginOptions): number {
  if (o.timeoutMs !== undefined) return o.timeoutMs;
  const v = (o.env ?? process.env).OCITRUST_PLUGIN_TIMEOUT;
  return v && /^[0-9]{1,5}$/.test(v) && Number(v) > 0 ? Number(v) * 1000 : DEFAULT_TIMEOUT_MS;
}

/**
 * Runs one plugin call: the request on stdin, the parsed response object.
 * @throws PLUGIN_NOT_FOUND, PLUGIN_TIMEOUT, PLUGIN_FAILED, PLUGIN_RESPONSE_INVALID
 */
export async function callPlugin(ref: PluginRef, request: Record<string, unknown>, o: PluginOptions = {}): Promise<Record<string, unknown>> {
  const env = o.env ?? process.env;
  const exe = await findPlugin(ref.name, env);
  const who = `signer plugin ${ref.name} (${String(request.operation)})`;
  const limit = timeoutOf(o);
  const { code, signal, stdout, stderr, timedOut, overflow, spawnError } = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: Buffer;
    stderr: string;
    timedOut: boolean;
    overflow: boolean;
    spawnError?: Error;
  }>((resolve) => {
    const child = spawn(exe, [], { env: pluginEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let timedOut = false;
    let overflow = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limit);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > MAX_STDOUT) {
        overflow = true;
        child.kill('SIGKILL');
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-MAX_STDERR);
    });
    // A plugin that exits without reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, timedOut, overflow, ...(spawnError ? { spawnError } : {}) });
    });
    child.stdin.end(JSON.stringify(request) + '\n');
  });
  const tail = stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
  if (spawnError) throw new OcitrustError('PLUGIN_FAILED', `${who}: cannot run ${exe}: ${spawnError.message}`, { cause: spawnError });
  if (timedOut) throw new OcitrustError('PLUGIN_TIMEOUT', `${who}: no answer within ${limit / 1000} s; stopped it`);
  if (overflow) throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `${who}: expected at most ${MAX_STDOUT} bytes on stdout, got more; stopped it`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (code !== 0) {
    const e = isJsonObject(parsed) && isJsonObject(parsed.error) ? parsed.error : undefined;
    const detail = e ? `${String(e.code ?? 'ERROR').slice(0, 64)}: ${String(e.message ?? '').slice(0, 500)}` : signal ? `killed by ${signal}` : `exit status ${code}`;
    throw new OcitrustError('PLUGIN_FAILED', `${who} failed: ${detail}${tail && !e ? ` (stderr: ${tail})` : ''}`);
  }
  if (!isJsonObject(parsed)) throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `${who}: expected one JSON object on stdout, got ${JSON.stringify(stdout.toString('utf8').slice(0, 80))}`);
  if (parsed.protocol !== PLUGIN_PROTOCOL) {
    throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `${who}: expected "protocol":"${PLUGIN_PROTOCOL}", got ${JSON.stringify(parsed.protocol ?? null).slice(0, 60)}`);
  }
  return parsed;
}

/** What `describe-key` answers. */
export interface PluginKey {
  readonly algorithm: SigningAlgorithm;
  readonly publicKey: PublicKey;
}

/** Asks a plugin for its key. @throws PLUGIN_* */
export async function describePluginKey(ref: string | PluginRef, o: PluginOptions = {}): Promise<PluginKey> {
  const r = typeof ref === 'string' ? parsePluginRef(ref) : ref;
  const res = await callPlugin(r, { protocol: PLUGIN_PROTOCOL, operation: 'describe-key', keyRef: r.keyRef }, o);
  const algorithm = res.algorithm;
  if (algorithm !== 'ecdsa-p256' && algorithm !== 'ed25519') {
    throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `signer plugin ${r.name}: expected algorithm "ecdsa-p256" or "ed25519", got ${JSON.stringify(algorithm ?? null).slice(0, 40)}`);
  }
  if (typeof res.publicKey !== 'string') throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `signer plugin ${r.name}: expected publicKey, an SPKI PEM string`);
  let publicKey: PublicKey;
  try {
    publicKey = parsePublicKeyPem(res.publicKey);
  } catch (e) {
    throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `signer plugin ${r.name}: publicKey is not a usable SPKI PEM (${(e as Error).message})`, { cause: e });
  }
  if (publicKey.algorithm !== algorithm) {
    throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `signer plugin ${r.name}: algorithm ${algorithm} but the public key is ${publicKey.algorithm}`);
  }
  return { algorithm, publicKey };
}

/**
 * A signer backed by a plugin. Its signatures are normalized (ECDSA: low-S DER) and verified
 * against the described key before they are returned.
 */
export class PluginSigner implements Signer {
  readonly keyid: string;
  readonly publicKey: PublicKey;
  readonly algorithm: SigningAlgorithm;
  readonly #ref: PluginRef;
  readonly #o: PluginOptions;

  constructor(ref: PluginRef, key: PluginKey, o: PluginOptions) {
    this.#ref = ref;
    this.#o = o;
    this.publicKey = key.publicKey;
    this.keyid = key.publicKey.keyid;
    this.algorithm = key.algorithm;
  }

  /** @throws PLUGIN_*, SIGNATURE_UNVERIFIED */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    const r = this.#ref;
    const res = await callPlugin(
      r,
      {
        protocol: PLUGIN_PROTOCOL,
        operation: 'sign',
        keyRef: r.keyRef,
        algorithm: this.algorithm,
        payload: Buffer.from(data).toString('base64'),
        payloadSha256: createHash('sha256').update(data).digest('hex'),
      },
      this.#o,
    );
    if (typeof res.signature !== 'string' || res.signature.length > 1024) {
      throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `signer plugin ${r.name}: expected signature, a base64 string of at most 1024 characters`);
    }
    let sig: Uint8Array;
    try {
      sig = decodeBase64(res.signature, 'signature');
      if (this.algorithm === 'ecdsa-p256') sig = normalizeEcdsaP256Signature(sig);
    } catch (e) {
      throw new OcitrustError('PLUGIN_RESPONSE_INVALID', `signer plugin ${r.name}: signature is not ${this.algorithm === 'ed25519' ? 'base64' : 'base64 of a DER or r||s ECDSA signature'} (${(e as Error).message})`, { cause: e });
    }
    if (!this.publicKey.verify(sig, data)) {
      throw new OcitrustError('SIGNATURE_UNVERIFIED', `signer plugin ${r.name} (key ${r.keyRef.slice(0, 100)}): its signature does not verify with the key it described (keyid ${this.keyid.slice(0, 16)}…); not used`);
    }
    return sig;
  }
}

/** Describes the plugin's key and returns a signer for it. @throws KEY_REFERENCE_INVALID, PLUGIN_* */
export async function openPluginSigner(ref: string, o: PluginOptions = {}): Promise<PluginSigner> {
  const r = parsePluginRef(ref);
  return new PluginSigner(r, await describePluginKey(r, o), o);
}
