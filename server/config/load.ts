/**
 * The one options loader of the trust server: every entry point (`trust server`,
 * `node dist/server/run.js`, the proxy runner server/proxy/run.ts) turns its flags and its
 * environment into {@link ServerSettings} here, by the table of settings.ts, with the
 * precedence flag > environment > default. Values are checked at the door: a malformed one
 * stops the start with SERVER_CONFIG_INVALID (exit 2) naming the flag or variable, what was
 * expected and what was given — never a silent default, never a boolean that means "on"
 * because it was not recognised.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { OcitrustError } from '../../lib/errors/index.js';
import { IpAllowlist } from '../ip-allowlist.js';
import { parseUpstream } from '../proxy/options.js';
import { PROXY_ONLY, SETTINGS, isClientVariable, type ServerSettings, type SettingSpec } from './settings.js';
import { closestName } from '../did-you-mean.js';

/** Flag values as the command line gave them, keyed by {@link SettingSpec.key}; undefined: not given. */
export type FlagValues = Partial<Record<keyof ServerSettings, string | boolean | undefined>>;

/** Input of {@link loadServerSettings}. */
export interface LoadInput {
  /** Flag values (only `trust server` has flags). */
  readonly flags?: FlagValues;
  readonly env: NodeJS.ProcessEnv;
  /** Relative paths are resolved against this (default: process.cwd()). */
  readonly cwd?: string;
  /** The ocitrust home folder, for the default data folder (default: OCITRUST_HOME, else ~/.ocitrust). */
  readonly home?: string;
}

/** Where a setting's value came from. */
export type SettingSource = 'flag' | 'env' | 'default';

/** What {@link loadServerSettings} found. */
export interface LoadedSettings {
  readonly settings: ServerSettings;
  /** Per setting: flag, env or default. */
  readonly sources: Readonly<Record<keyof ServerSettings, SettingSource>>;
  /** Warnings for stderr (unknown OCITRUST_* variables). */
  readonly warnings: readonly string[];
}

function fail(what: string, expected: string, got: string): never {
  throw new OcitrustError('SERVER_CONFIG_INVALID', `${what}: expected ${expected}, got ${quote(got)}`);
}

function quote(s: string): string {
  const t = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  return `'${t.replace(/[\u0000-\u001f\u007f]/g, '?')}'`;
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

function parseIps(what: string, text: string): string[] {
  const entries = text.split(',').map((s) => s.trim());
  if (entries.length === 0 || entries.some((e) => e === '')) fail(what, 'IP addresses or CIDR ranges separated by commas', text);
  for (const e of entries) {
    try {
      new IpAllowlist([e]);
    } catch {
      fail(what, 'IP addresses or CIDR ranges separated by commas (e.g. 10.0.0.0/8,127.0.0.1)', e);
    }
  }
  return entries;
}

function readSecretFile(what: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new OcitrustError('SERVER_CONFIG_INVALID', `${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  const v = text.trim();
  if (!v) throw new OcitrustError('SERVER_CONFIG_INVALID', `${what}: ${path} is empty`);
  return v;
}

/** Parses one value by its spec; `what` names its source (`--port`, `OCITRUST_PORT`) in messages. */
function parseValue(spec: SettingSpec, raw: string | boolean, what: string, cwd: string, fromFlag: boolean): unknown {
  if (typeof raw === 'boolean') {
    if (spec.type !== 'bool') fail(what, 'a value', String(raw));
    return raw;
  }
  const text = raw.trim();
  switch (spec.type) {
    case 'bool':
      if (TRUE.test(text)) return true;
      if (FALSE.test(text)) return false;
      return fail(what, 'true or false', raw);
    case 'port':
    case 'int': {
      const min = spec.type === 'port' ? 0 : (spec.min ?? 0);
      const max = spec.type === 'port' ? 65535 : (spec.max ?? Number.MAX_SAFE_INTEGER);
      const range = spec.max !== undefined || spec.type === 'port' ? `an integer ${min}-${max}` : `an integer ≥ ${min}`;
      const n = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        // Kubernetes injects <SERVICE>_PORT=tcp://ip:port for every Service: one named "ocitrust" collides.
        if (/^tcp:\/\//.test(text)) fail(what, `${range} (this looks like a Kubernetes service link: set enableServiceLinks: false)`, raw);
        fail(what, range, raw);
      }
      return n;
    }
    case 'ips':
      return parseIps(what, text);
    case 'enum':
      if (!spec.choices!.includes(text)) fail(what, `one of ${spec.choices!.join(', ')}`, raw);
      return text;
    case 'url':
      try {
        return parseUpstream(text).toString().replace(/\/$/, '');
      } catch {
        return fail(what, 'an http(s) URL of a registry without credentials or path (e.g. https://registry.example.com)', raw);
      }
    case 'path':
      if (!text) fail(what, 'a path', raw);
      return isAbsolute(text) ? text : resolve(cwd, text);
    case 'database':
      if (!text) fail(what, 'a postgres:// URL or a file path', raw);
      return /^postgres(ql)?:\/\//i.test(text) || isAbsolute(text) ? text : resolve(cwd, text);
    case 'secret':
      // A flag names a file (argv is visible to every user of the machine); a variable holds the value.
      if (fromFlag) return readSecretFile(what, isAbsolute(text) ? text : resolve(cwd, text));
      if (!text) fail(what, 'a value', raw);
      return text;
    case 'string':
      if (!text) fail(what, 'a value', raw);
      return text;
  }
}

/** Every OCITRUST_* variable some ocitrust program reads. */
function knownVariables(): string[] {
  return [...SETTINGS.map((s) => s.env), 'OCITRUST_HOME', 'OCITRUST_SERVER', 'OCITRUST_TOKEN', 'OCITRUST_PASSPHRASE'];
}

/**
 * Warnings for `OCITRUST_*` variables that nothing reads (a typo silently leaves a setting at
 * its default, e.g. OCITRUST_ALLOW_IP leaves the server open), with the closest known name.
 */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = new Set(SETTINGS.map((s) => s.env));
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('OCITRUST_') || known.has(name) || isClientVariable(name)) continue;
    const best = closestName(name, knownVariables(), (k) => Math.max(2, Math.floor(k.length / 6)));
    const hint = best ? ` (did you mean ${best}?)` : '';
    out.push(`unknown environment variable ${name} is ignored${hint}`);
  }
  return out;
}

/** The name a setting's value is reported under in messages. */
function label(spec: SettingSpec, source: SettingSource): string {
  return source === 'env' ? spec.env : spec.flag;
}

/**
 * Loads the server settings: flag > environment (`OCITRUST_*`) > default, each value parsed and
 * checked by its row of the settings table, then the settings checked together (TLS needs a
 * certificate and a key, mTLS needs TLS, proxy settings need an upstream, …).
 *
 * An empty variable counts as unset (as in container specs that blank a value).
 *
 * @throws OcitrustError SERVER_CONFIG_INVALID (exit 2) naming the flag or variable
 * @example const { settings, warnings } = loadServerSettings({ env: process.env });
 */
export function loadServerSettings(input: LoadInput): LoadedSettings {
  const cwd = input.cwd ?? process.cwd();
  const env = input.env;
  const flags = input.flags ?? {};
  const values: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = {};
  for (const spec of SETTINGS) {
    const flag = flags[spec.key];
    const envText = env[spec.env];
    if (flag !== undefined) {
      values[spec.key] = parseValue(spec, flag, spec.flag, cwd, true);
      sources[spec.key] = 'flag';
    } else if (envText !== undefined && envText !== '') {
      values[spec.key] = parseValue(spec, envText, spec.env, cwd, false);
      sources[spec.key] = 'env';
    } else {
      values[spec.key] = spec.default;
      sources[spec.key] = 'default';
    }
  }
  if (values.dataDir === undefined) {
    const home = input.home ?? (env.OCITRUST_HOME ? resolve(cwd, env.OCITRUST_HOME) : join(homedir(), '.ocitrust'));
    values.dataDir = join(home, 'server');
  }
  const spec = (k: keyof ServerSettings): SettingSpec => SETTINGS.find((s) => s.key === k)!;
  const name = (k: keyof ServerSettings): string => label(spec(k), sources[k]!);
  const given = (k: keyof ServerSettings): boolean => sources[k] !== 'default';

  // Settings that only make sense together.
  if (given('tlsCert') !== given('tlsKey')) {
    throw new OcitrustError('SERVER_CONFIG_INVALID', `TLS needs both a certificate and a key: ${given('tlsCert') ? name('tlsCert') : name('tlsKey')} was given without ${given('tlsCert') ? `--tls-key (OCITRUST_TLS_KEY)` : `--tls-cert (OCITRUST_TLS_CERT)`}`);
  }
  if (given('clientCa') && !given('tlsCert')) {
    throw new OcitrustError('SERVER_CONFIG_INVALID', `${name('clientCa')} (client certificates, mTLS) needs TLS: give --tls-cert and --tls-key (OCITRUST_TLS_CERT, OCITRUST_TLS_KEY)`);
  }
  if (values.proxyUpstream === undefined) {
    const orphans = PROXY_ONLY.filter(given).map(name);
    if (orphans.length) throw new OcitrustError('SERVER_CONFIG_INVALID', `settings that need --proxy-upstream (OCITRUST_PROXY_UPSTREAM) were given without it: ${orphans.join(', ')}`);
  } else if (given('registry') && values.registry === true) {
    throw new OcitrustError('SERVER_CONFIG_INVALID', `${name('registry')} and ${name('proxyUpstream')} both want /v2/: the embedded registry and the proxy cannot both be served`);
  } else {
    values.registry = false;
  }
  if (given('admissionTimeoutSeconds') && !given('admissionPolicy')) {
    throw new OcitrustError('SERVER_CONFIG_INVALID', `${name('admissionTimeoutSeconds')} needs --admission-policy (OCITRUST_ADMISSION_POLICY)`);
  }
  return { settings: values as unknown as ServerSettings, sources: sources as Record<keyof ServerSettings, SettingSource>, warnings: unknownVariableWarnings(env) };
}
