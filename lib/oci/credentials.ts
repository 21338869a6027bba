/**
 * Registry credentials from the Docker client configuration: `$DOCKER_CONFIG/config.json`
 * or `~/.docker/config.json`, with `credHelpers` (per registry) taking precedence over
 * `credsStore` (default helper) over `auths` (inline base64 `auth`, `identitytoken`).
 * Helpers are run as `docker-credential-<name> get` with the server address on stdin,
 * bounded in time and output (docker-credential-helpers protocol).
 *
 * Secrets never appear in error messages or logs.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { DOCKER_HUB } from '../reference.js';

/** Credentials for one registry. */
export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** OAuth2 refresh token (`identitytoken`, or a helper answering Username `<token>`). */
  readonly identityToken?: string;
  /** A bearer token to send as is (`registrytoken`). */
  readonly registryToken?: string;
}

/** Looks up credentials for a registry host (as in a reference: `docker.io`, `host:port`). */
export type CredentialProvider = (registry: string) => Promise<Credentials | undefined>;

/** No credentials: anonymous access only. */
export const anonymous: CredentialProvider = async () => undefined;

/** Fixed credentials per registry host (tests, programmatic use). */
export function staticCredentials(map: Readonly<Record<string, Credentials>>): CredentialProvider {
  return async (registry) => map[registry];
}

/** Options of {@link dockerConfigCredentials}. */
export interface DockerConfigOptions {
  /** Directory holding config.json; default `$DOCKER_CONFIG`, else `~/.docker`. */
  readonly configDir?: string;
  /** Environment to read DOCKER_CONFIG / PATH from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Timeout of one credential helper run (ms, default 10 000). */
  readonly helperTimeoutMs?: number;
  /** Largest helper output accepted (bytes, default 64 KiB). */
  readonly maxHelperOutputBytes?: number;
}

const HUB_SERVER = 'https://index.docker.io/v1/';
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Host part of a Docker config key (`https://host:port/v1/` → `host:port`), lowercased. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

function keysFor(registry: string): string[] {
  const r = registry.toLowerCase();
  return r === DOCKER_HUB ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [r];
}

/** The server address a helper is asked about, as docker does. */
function serverAddress(registry: string): string {
  return registry === DOCKER_HUB ? HUB_SERVER : registry;
}

function configError(path: string, msg: string, cause?: unknown): OcitrustError {
  return new OcitrustError('DOCKER_CONFIG_INVALID', `${path}: ${msg}`, cause === undefined ? undefined : { cause });
}

function fromAuthEntry(path: string, key: string, v: unknown): Credentials | undefined {
  if (!isJsonObject(v)) throw configError(path, `auths[${JSON.stringify(key)}] is not an object`);
  const str = (f: string): string | undefined => {
    const x = v[f];
    if (x === undefined || x === '') return undefined;
    if (typeof x !== 'string') throw configError(path, `auths[${JSON.stringify(key)}].${f} is not a string`);
    return x;
  };
  let username = str('username');
  let password = str('password');
  const auth = str('auth');
  if (auth !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth)) throw configError(path, `auths[${JSON.stringify(key)}].auth is not base64`);
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i <= 0) throw configError(path, `auths[${JSON.stringify(key)}].auth does not decode to user:password`);
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  const identityToken = str('identitytoken');
  const registryToken = str('registrytoken');
  if (username === undefined && identityToken === undefined && registryToken === undefined) return undefined;
  return {
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(identityToken !== undefined ? { identityToken } : {}),
    ...(registryToken !== undefined ? { registryToken } : {}),
  };
}

/**
 * Runs `docker-credential-<helper> get` for `server`; undefined when the helper has no
 * credentials for it.
 * @throws OcitrustError CREDENTIAL_HELPER_FAILED
 */
export function runCredentialHelper(
  helper: string,
  server: string,
  opts: { timeoutMs?: number; maxOutputBytes?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Credentials | undefined> {
  if (!HELPER_NAME_RE.test(helper)) {
    return Promise.reject(new OcitrustError('CREDENTIAL_HELPER_FAILED', `invalid credential helper name ${JSON.stringify(helper.slice(0, 64))}`));
  }
  const program = `docker-credential-${helper}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxOut = opts.maxOutputBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (msg: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      // A grandchild may still hold the pipes open; do not wait for it.
      child.stdout.destroy();
      child.stderr.destroy();
      reject(new OcitrustError('CREDENTIAL_HELPER_FAILED', `${program}: ${msg}`, cause === undefined ? undefined : { cause }));
    };
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const out: Buffer[] = [];
    let outLen = 0;
    let errText = '';
    child.stdout.on('data', (d: Buffer) => {
      outLen += d.length;
      if (outLen > maxOut) fail(`output larger than ${maxOut} bytes`);
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (errText.length < 4096) errText += d.toString('utf8');
    });
    child.on('error', (e) => fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found on PATH' : 'could not be started', e));
    child.stdin.on('error', () => undefined);
    child.stdin.end(server);
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      if (code !== 0) {
        // The protocol's "not found" answer means: no credentials, go anonymous.
        if (/credentials not found/i.test(stdout + errText)) return resolve(undefined);
        return reject(new OcitrustError('CREDENTIAL_HELPER_FAILED', `${program} exited with ${code}`));
      }
      let doc: unknown;
      try {
        doc = parseJson(stdout, { maxBytes: maxOut, what: `${program} output` });
      } catch (e) {
        return reject(new OcitrustError('CREDENTIAL_HELPER_FAILED', `${program} printed something that is not JSON`, { cause: e }));
      }
      if (!isJsonObject(doc) || typeof doc.Secret !== 'string' || (doc.Username !== undefined && typeof doc.Username !== 'string')) {
        return reject(new OcitrustError('CREDENTIAL_HELPER_FAILED', `${program} printed JSON without a string Secret`));
      }
      const username = (doc.Username as string | undefined) ?? '';
      if (doc.Secret === '') return resolve(undefined);
      if (username === '<token>') return resolve({ identityToken: doc.Secret });
      resolve({ username, password: doc.Secret });
    });
  });
}

/**
 * Credentials from the Docker config (`auths`, `credsStore`, `credHelpers`), looked up
 * once per registry and memoized. A missing config file means anonymous access.
 *
 * @throws OcitrustError DOCKER_CONFIG_INVALID, CREDENTIAL_HELPER_FAILED (from the returned provider)
 * @example const client = new HttpRegistryClient({ credentials: dockerConfigCredentials() });
 */
export function dockerConfigCredentials(opts: DockerConfigOptions = {}): CredentialProvider {
  if (typeof opts !== 'object' || opts === null) throw new OcitrustError('INVALID_ARGUMENT', `dockerConfigCredentials: expected an options object, got ${opts === null ? 'null' : typeof opts}`);
  const env = opts.env ?? process.env;
  const dir = opts.configDir ?? (env.DOCKER_CONFIG ? env.DOCKER_CONFIG : join(homedir(), '.docker'));
  const path = join(dir, 'config.json');
  let config: Promise<Record<string, unknown> | undefined> | undefined;
  const cache = new Map<string, Promise<Credentials | undefined>>();

  const load = async (): Promise<Record<string, unknown> | undefined> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw configError(path, 'cannot be read', e);
    }
    let doc: unknown;
    try {
      doc = parseJson(new Uint8Array(bytes), { maxBytes: MAX_CONFIG_BYTES, what: path });
    } catch (e) {
      throw configError(path, 'is not valid JSON', e);
    }
    if (!isJsonObject(doc)) throw configError(path, 'is not a JSON object');
    return doc;
  };

  const lookup = async (registry: string): Promise<Credentials | undefined> => {
    config ??= load();
    const doc = await config;
    if (!doc) return undefined;
    const wanted = keysFor(registry);
    const helperOpts = { timeoutMs: opts.helperTimeoutMs, maxOutputBytes: opts.maxHelperOutputBytes, env };
    const helpers = doc.credHelpers;
    if (helpers !== undefined) {
      if (!isJsonObject(helpers)) throw configError(path, 'credHelpers is not an object');
      for (const [k, v] of Object.entries(helpers)) {
        if (!wanted.includes(hostOf(k))) continue;
        if (typeof v !== 'string') throw configError(path, `credHelpers[${JSON.stringify(k)}] is not a string`);
        return runCredentialHelper(v, serverAddress(registry), helperOpts);
      }
    }
    if (doc.credsStore !== undefined) {
      if (typeof doc.credsStore !== 'string') throw configError(path, 'credsStore is not a string');
      if (doc.credsStore !== '') {
        const c = await runCredentialHelper(doc.credsStore, serverAddress(registry), helperOpts);
        if (c) return c;
      }
    }
    const auths = doc.auths;
    if (auths !== undefined) {
      if (!isJsonObject(auths)) throw configError(path, 'auths is not an object');
      for (const [k, v] of Object.entries(auths)) {
        if (wanted.includes(hostOf(k))) {
          const c = fromAuthEntry(path, k, v);
          if (c) return c;
        }
      }
    }
    return undefined;
  };

  return (registry) => {
    let p = cache.get(registry);
    if (!p) {
      p = lookup(registry);
      cache.set(registry, p);
      p.catch(() => cache.delete(registry));
    }
    return p;
  };
}
