import { OcitrustError } from '../errors/index.js';
import { compilePattern, type ImagePattern } from './pattern.js';
import { SCHEMES, type SignatureScheme } from '../schemes/index.js';
import type { Requirement } from '../schemes/combine.js';
import type {
  IdentityRemap,
  MultiArchMode,
  NamespaceSelector,
  PolicyRule,
  RequiredRoles,
  RootSource,
  RuleMode,
  RuleSettings,
} from './types.js';

/** One mistake in a policy file, located by a JSON pointer (RFC 6901) into the document. */
export interface PolicyProblem {
  /** e.g. `/rules/2/mode`; `` (empty) for the document itself. */
  readonly pointer: string;
  readonly message: string;
  /** 1-based position in the source text, when the document came from text. */
  readonly line?: number;
  readonly column?: number;
}

/** Maps a pointer to a source position (YAML/JSON text); undefined when unknown. */
export type Locator = (pointer: string) => { line: number; column: number } | undefined;

/** What the validator produces before the revision is computed. */
export interface ValidatedPolicy {
  readonly defaults: RuleSettings;
  readonly rules: readonly PolicyRule[];
  readonly unmatched: 'deny' | 'allow';
  readonly skipKinds?: readonly string[];
  readonly document: Record<string, unknown>;
}

const MODES: readonly RuleMode[] = ['enforce', 'warn', 'skip'];
const MULTI_ARCH: readonly MultiArchMode[] = ['index', 'all-children', 'platform'];
const SETTINGS_KEYS = [
  'collection',
  'root',
  'server',
  'requiredRoles',
  'bindTag',
  'multiArch',
  'identityRemap',
  'denyTags',
  'mode',
  'clockSkewSeconds',
  'maxSignatures',
  'trustMaxAgeSeconds',
] as const;
const TOP_KEYS = ['version', 'description', 'defaults', 'rules', 'unmatched', 'skipKinds'];
/** A Kubernetes kind, optionally with its API group: `ConfigMap`, `example.com/Widget`. */
const KIND_NAME = /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Z][A-Za-z0-9]{0,62}$/;
const RULE_KEYS = ['name', 'description', 'images', 'namespaces', 'ocitrust', 'require', ...SETTINGS_KEYS];
const DEFAULTS_KEYS = [...SETTINGS_KEYS];

const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TAG_GLOB = /^[A-Za-z0-9_*][A-Za-z0-9._*-]{0,127}$/;
const NS_GLOB = /^[a-z0-9*](?:[-a-z0-9*]{0,61}[a-z0-9*])?$/;
const LABEL_NAME = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL_VALUE = /^(?:(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$/;
const MAX_RULES = 4096;
const MAX_LIST = 1024;

/** Escapes one JSON-pointer token (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function pointerToken(t: string | number): string {
  return String(t).replace(/~/g, '~0').replace(/\//g, '~1');
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  return `${typeof v} ${String(v)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number;
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length] as number;
}

function suggestion(key: string, allowed: readonly string[]): string {
  const lower = key.toLowerCase();
  const best = allowed.find((k) => k.toLowerCase() === lower) ?? allowed.find((k) => editDistance(k, key) <= 2);
  return best ? ` (did you mean '${best}'?)` : ` (allowed: ${allowed.join(', ')})`;
}

class Checker {
  readonly problems: PolicyProblem[] = [];

  add(pointer: string, message: string): void {
    this.problems.push({ pointer, message });
  }

  keys(obj: Record<string, unknown>, ptr: string, allowed: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) this.add(`${ptr}/${pointerToken(k)}`, `unknown key '${k}'${suggestion(k, allowed)}`);
    }
  }

  string(v: unknown, ptr: string, what = 'a non-empty string'): string | undefined {
    if (typeof v !== 'string' || v.length === 0) {
      this.add(ptr, `expected ${what}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  enumOf<T extends string>(v: unknown, ptr: string, values: readonly T[]): T | undefined {
    if (typeof v !== 'string' || !values.includes(v as T)) {
      this.add(ptr, `expected one of ${values.join(', ')}, got ${show(v)}`);
      return undefined;
    }
    return v as T;
  }

  integer(v: unknown, ptr: string, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.add(ptr, `expected an integer from ${min} to ${max}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  /** A non-empty array of unique strings each matching `re`. */
  stringList(v: unknown, ptr: string, re: RegExp, what: string): string[] | undefined {
    if (!Array.isArray(v) || v.length === 0) {
      this.add(ptr, `expected a non-empty list of ${what}, got ${show(v)}`);
      return undefined;
    }
    if (v.length > MAX_LIST) {
      this.add(ptr, `more than ${MAX_LIST} entries`);
      return undefined;
    }
    const out: string[] = [];
    const seen = new Set<string>();
    v.forEach((e, i) => {
      if (typeof e !== 'string' || !re.test(e)) this.add(`${ptr}/${i}`, `expected ${what}, got ${show(e)}`);
      else if (seen.has(e)) this.add(`${ptr}/${i}`, `duplicate entry ${show(e)}`);
      else {
        seen.add(e);
        out.push(e);
      }
    });
    return out.length === v.length ? out : undefined;
  }
}

/** Normalizes a repository name or prefix (collection, remap) with the exact-pattern rules. */
function repositoryName(c: Checker, v: unknown, ptr: string, what: string): string | undefined {
  const s = c.string(v, ptr, what);
  if (s === undefined) return undefined;
  if (s.includes('*')) {
    c.add(ptr, `${what} cannot contain wildcards, got ${show(s)}`);
    return undefined;
  }
  if (!s.includes('/') && (s.includes('.') || s.includes(':') || s === 'localhost')) {
    c.add(ptr, `${what} must name a repository or a path below a registry host, got ${show(s)}`);
    return undefined;
  }
  const r = compilePattern(s);
  if (!r.ok) {
    c.add(ptr, `${what} ${show(s)} is not valid: ${r.reason}`);
    return undefined;
  }
  return r.pattern.text;
}

function checkRoot(c: Checker, v: unknown, ptr: string): RootSource | undefined {
  if (typeof v === 'string') {
    if (v.length === 0 || v.includes('\0')) {
      c.add(ptr, 'expected a path to a root.json file or inline root metadata, got an empty path');
      return undefined;
    }
    return { kind: 'path', path: v };
  }
  if (isObject(v)) {
    const signed = v['signed'];
    if (!isObject(signed) || signed['_type'] !== 'root' || !Array.isArray(v['signatures'])) {
      c.add(ptr, 'inline root must be TUF root metadata: {"signed": {"_type": "root", ...}, "signatures": [...]}');
      return undefined;
    }
    return { kind: 'inline', metadata: v };
  }
  c.add(ptr, `expected a path to a root.json file or inline root metadata, got ${show(v)}`);
  return undefined;
}

function checkServer(c: Checker, v: unknown, ptr: string): string | undefined {
  const s = c.string(v, ptr, 'an http(s) URL');
  if (s === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    c.add(ptr, `expected an http(s) URL, got ${show(s)}`);
    return undefined;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    c.add(ptr, `expected an http(s) URL, got scheme '${u.protocol.slice(0, -1)}'`);
    return undefined;
  }
  // Credentials do not belong in a policy file, which is often a ConfigMap or in git.
  if (u.username || u.password) {
    c.add(ptr, 'the server URL must not contain credentials; give tokens through the environment');
    return undefined;
  }
  if (u.search || u.hash) {
    c.add(ptr, 'the server URL must not have a query or fragment');
    return undefined;
  }
  return s.replace(/\/+$/, '');
}

function checkRequiredRoles(c: Checker, v: unknown, ptr: string): RequiredRoles | undefined {
  if (!isObject(v)) {
    c.add(ptr, `expected an object with allOf and/or anyOf, got ${show(v)}`);
    return undefined;
  }
  c.keys(v, ptr, ['allOf', 'anyOf']);
  if (v['allOf'] === undefined && v['anyOf'] === undefined) {
    c.add(ptr, 'requiredRoles needs allOf and/or anyOf');
    return undefined;
  }
  const role = /^[^\s/]{1,128}$/;
  const out: { allOf?: string[]; anyOf?: string[] } = {};
  if (v['allOf'] !== undefined) {
    const l = c.stringList(v['allOf'], `${ptr}/allOf`, role, 'role names');
    if (l) out.allOf = l;
  }
  if (v['anyOf'] !== undefined) {
    const l = c.stringList(v['anyOf'], `${ptr}/anyOf`, role, 'role names');
    if (l) out.anyOf = l;
  }
  return out;
}

const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** A repository prefix for identity remaps: an explicit host, optionally followed by path components. */
function repositoryPrefix(c: Checker, v: unknown, ptr: string, what: string): string | undefined {
  const s = c.string(v, ptr, what);
  if (s === undefined) return undefined;
  if (s.includes('*')) {
    c.add(ptr, `${what} cannot contain wildcards, got ${show(s)}`);
    return undefined;
  }
  const [host = '', ...path] = s.replace(/\/+$/, '').split('/');
  const isHost = (host.includes('.') || host.includes(':') || host === 'localhost') && HOST_RE.test(host);
  if (!isHost || !path.every((p) => PATH_COMPONENT.test(p))) {
    c.add(ptr, `${what} must be a registry host optionally followed by lowercase path components (e.g. mirror.example.com/dockerhub), got ${show(s)}`);
    return undefined;
  }
  const h = host.toLowerCase();
  return [h === 'index.docker.io' || h === 'registry-1.docker.io' ? 'docker.io' : h, ...path].join('/');
}

function checkOneRemap(c: Checker, v: unknown, ptr: string): IdentityRemap | undefined {
  if (!isObject(v)) {
    c.add(ptr, `expected {from, to} repository prefixes, got ${show(v)}`);
    return undefined;
  }
  c.keys(v, ptr, ['from', 'to']);
  const from = repositoryPrefix(c, v['from'], `${ptr}/from`, 'identityRemap.from');
  const to = repositoryPrefix(c, v['to'], `${ptr}/to`, 'identityRemap.to');
  if (from === undefined || to === undefined) return undefined;
  if (from === to) {
    c.add(ptr, `identityRemap maps '${from}' to itself`);
    return undefined;
  }
  return Object.freeze({ from, to });
}

function checkRemap(c: Checker, v: unknown, ptr: string): IdentityRemap | readonly IdentityRemap[] | undefined {
  if (!Array.isArray(v)) return checkOneRemap(c, v, ptr);
  if (v.length === 0 || v.length > MAX_LIST) {
    c.add(ptr, `expected 1 to ${MAX_LIST} remaps, got ${show(v)}`);
    return undefined;
  }
  const out = v.map((r, i) => checkOneRemap(c, r, `${ptr}/${i}`));
  return out.every((r) => r !== undefined) ? Object.freeze(out as IdentityRemap[]) : undefined;
}

function checkNamespaces(c: Checker, v: unknown, ptr: string): NamespaceSelector | undefined {
  if (!isObject(v)) {
    c.add(ptr, `expected an object with names and/or labels, got ${show(v)}`);
    return undefined;
  }
  c.keys(v, ptr, ['names', 'labels']);
  if (v['names'] === undefined && v['labels'] === undefined) {
    c.add(ptr, 'namespaces needs names and/or labels');
    return undefined;
  }
  const out: { names?: string[]; labels?: Record<string, string> } = {};
  if (v['names'] !== undefined) {
    const l = c.stringList(v['names'], `${ptr}/names`, NS_GLOB, 'namespace names (DNS labels, * allowed)');
    if (l) out.names = l;
  }
  const labels = v['labels'];
  if (labels !== undefined) {
    if (!isObject(labels) || Object.keys(labels).length === 0) {
      c.add(`${ptr}/labels`, `expected a non-empty map of label name to value, got ${show(labels)}`);
    } else {
      const m: Record<string, string> = {};
      for (const [k, val] of Object.entries(labels)) {
        const kp = `${ptr}/labels/${pointerToken(k)}`;
        const slash = k.indexOf('/');
        const prefix = slash < 0 ? undefined : k.slice(0, slash);
        const name = slash < 0 ? k : k.slice(slash + 1);
        if (!LABEL_NAME.test(name) || (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix))) {
          c.add(kp, `'${k}' is not a valid Kubernetes label name`);
        } else if (typeof val !== 'string' || !LABEL_VALUE.test(val)) {
          c.add(kp, `expected a label value (string of at most 63 characters), got ${show(val)}`);
        } else m[k] = val;
      }
      out.labels = m;
    }
  }
  return out;
}

function checkSettings(c: Checker, o: Record<string, unknown>, ptr: string): RuleSettings {
  const s: { -readonly [K in keyof RuleSettings]: RuleSettings[K] } = {};
  if (o['collection'] !== undefined) s.collection = repositoryName(c, o['collection'], `${ptr}/collection`, 'collection');
  if (o['root'] !== undefined) s.root = checkRoot(c, o['root'], `${ptr}/root`);
  if (o['server'] !== undefined) s.server = checkServer(c, o['server'], `${ptr}/server`);
  if (o['requiredRoles'] !== undefined) s.requiredRoles = checkRequiredRoles(c, o['requiredRoles'], `${ptr}/requiredRoles`);
  if (o['bindTag'] !== undefined) {
    if (typeof o['bindTag'] !== 'boolean') c.add(`${ptr}/bindTag`, `expected true or false, got ${show(o['bindTag'])}`);
    else s.bindTag = o['bindTag'];
  }
  if (o['multiArch'] !== undefined) s.multiArch = c.enumOf(o['multiArch'], `${ptr}/multiArch`, MULTI_ARCH);
  if (o['identityRemap'] !== undefined) s.identityRemap = checkRemap(c, o['identityRemap'], `${ptr}/identityRemap`);
  if (o['denyTags'] !== undefined) {
    s.denyTags = c.stringList(o['denyTags'], `${ptr}/denyTags`, TAG_GLOB, 'tags (globs with *)');
  }
  if (o['mode'] !== undefined) s.mode = c.enumOf(o['mode'], `${ptr}/mode`, MODES);
  if (o['clockSkewSeconds'] !== undefined) {
    s.clockSkewSeconds = c.integer(o['clockSkewSeconds'], `${ptr}/clockSkewSeconds`, 0, 86_400);
  }
  if (o['maxSignatures'] !== undefined) s.maxSignatures = c.integer(o['maxSignatures'], `${ptr}/maxSignatures`, 1, 65_536);
  if (o['trustMaxAgeSeconds'] !== undefined) {
    s.trustMaxAgeSeconds = c.integer(o['trustMaxAgeSeconds'], `${ptr}/trustMaxAgeSeconds`, 0, 30 * 86_400);
  }
  for (const k of Object.keys(s) as (keyof RuleSettings)[]) if (s[k] === undefined) delete s[k];
  return s;
}

/**
 * A rule's signature requirements: ocitrust's own (unless the rule names another scheme and
 * no `ocitrust: true`), each scheme block (validated by its scheme), and `require:`.
 */
function checkRequirements(
  c: Checker,
  r: Record<string, unknown>,
  ptr: string,
  schemes: readonly SignatureScheme[],
): Pick<PolicyRule, 'schemes' | 'ocitrust' | 'require'> {
  const found: Record<string, unknown> = {};
  for (const scheme of schemes) {
    if (r[scheme.key] === undefined) continue;
    const config = scheme.validate(r[scheme.key], `${ptr}/${pointerToken(scheme.key)}`, c);
    if (config !== undefined) found[scheme.key] = config;
  }
  const named = schemes.filter((x) => r[x.key] !== undefined).length;
  let ocitrust = named === 0;
  if (r['ocitrust'] !== undefined) {
    if (typeof r['ocitrust'] !== 'boolean') c.add(`${ptr}/ocitrust`, `expected true or false, got ${show(r['ocitrust'])}`);
    else if (!r['ocitrust'] && named === 0) c.add(`${ptr}/ocitrust`, `ocitrust: false needs another signature scheme in the rule (${schemes.map((x) => x.key).join(', ') || 'none available'}); use mode: skip to verify nothing`);
    else ocitrust = r['ocitrust'];
  }
  const count = named + (ocitrust ? 1 : 0);
  let require: Requirement | undefined;
  const q = r['require'];
  if (q !== undefined) {
    if (q === 'all' || q === 'any') require = q;
    else if (typeof q === 'number' && Number.isSafeInteger(q) && q >= 1 && q <= Math.max(count, 1)) require = q;
    else c.add(`${ptr}/require`, `expected all, any, or an integer from 1 to ${Math.max(count, 1)} (the rule's number of signature sources), got ${show(q)}`);
  }
  return {
    ...(named > 0 ? { schemes: Object.freeze(found) } : {}),
    ...(named > 0 || r['ocitrust'] !== undefined ? { ocitrust } : {}),
    ...(require !== undefined ? { require } : {}),
  };
}

/** The canonical JSON shape of a rule's requirements (only what was written, so older revisions stay). */
function requirementsDocument(r: PolicyRule, schemes: readonly SignatureScheme[]): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (r.ocitrust !== undefined) d['ocitrust'] = r.ocitrust;
  if (r.require !== undefined) d['require'] = r.require;
  for (const x of schemes) if (r.schemes?.[x.key] !== undefined) d[x.key] = r.schemes[x.key];
  return d;
}

/** The canonical JSON shape of settings (what the revision hashes and `document` shows). */
function settingsDocument(s: RuleSettings): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  for (const k of SETTINGS_KEYS) {
    const v = s[k];
    if (v === undefined) continue;
    if (k === 'root') {
      const r = v as RootSource;
      d[k] = r.kind === 'path' ? r.path : r.metadata;
    } else d[k] = v;
  }
  return d;
}

function selectorKey(n: NamespaceSelector | undefined): string {
  if (!n) return '';
  const names = n.names ? [...n.names].sort() : [];
  const labels = n.labels ? Object.entries(n.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [];
  return JSON.stringify([names, labels]);
}

/**
 * Validates a parsed policy document (plain data from JSON or YAML) and returns the typed
 * model. Every mistake is collected with its JSON pointer, so a user fixes them all in one go.
 *
 * @throws OcitrustError POLICY_FILE_INVALID (details.problems lists every mistake)
 */
export function validatePolicyDocument(value: unknown, locate?: Locator, what = 'policy file', schemes: readonly SignatureScheme[] = SCHEMES): ValidatedPolicy {
  const c = new Checker();
  const result = check(c, value, schemes);
  if (c.problems.length > 0 || result === undefined) {
    const problems = c.problems.map((p) => ({ ...p, ...(locate?.(p.pointer) ?? {}) }));
    // Report in reading order when positions are known (stable sort keeps the rest).
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    const lines = problems.map((p) => {
      const where = p.pointer === '' ? '(document)' : p.pointer;
      const pos = p.line !== undefined ? ` (line ${p.line}, column ${p.column})` : '';
      return `  ${where}${pos}: ${p.message}`;
    });
    throw new OcitrustError(
      'POLICY_FILE_INVALID',
      `${what} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      { details: { problems } },
    );
  }
  return result;
}

function check(c: Checker, value: unknown, schemes: readonly SignatureScheme[]): ValidatedPolicy | undefined {
  if (!isObject(value)) {
    c.add('', `expected a policy object {version: 1, rules: [...]}, got ${show(value)}`);
    return undefined;
  }
  c.keys(value, '', TOP_KEYS);
  if (value['version'] === undefined) c.add('/version', 'version is required (the only version is 1)');
  else if (value['version'] !== 1) c.add('/version', `unsupported version ${show(value['version'])}; the only version is 1`);
  if (value['description'] !== undefined && typeof value['description'] !== 'string') {
    c.add('/description', `expected a string, got ${show(value['description'])}`);
  }

  let defaults: RuleSettings = {};
  if (value['defaults'] !== undefined) {
    const d = value['defaults'];
    if (!isObject(d)) c.add('/defaults', `expected an object, got ${show(d)}`);
    else {
      c.keys(d, '/defaults', DEFAULTS_KEYS);
      defaults = checkSettings(c, d, '/defaults');
    }
  }

  let unmatched: 'deny' | 'allow' = 'deny';
  if (value['unmatched'] !== undefined) unmatched = c.enumOf(value['unmatched'], '/unmatched', ['deny', 'allow'] as const) ?? 'deny';

  const skipKinds = value['skipKinds'] === undefined ? undefined : c.stringList(value['skipKinds'], '/skipKinds', KIND_NAME, 'Kubernetes kinds (Kind or group/Kind)');

  const rules: PolicyRule[] = [];
  const raw = value['rules'];
  if (raw === undefined) c.add('/rules', 'rules is required (a list; it may be empty)');
  else if (!Array.isArray(raw)) c.add('/rules', `expected a list of rules, got ${show(raw)}`);
  else if (raw.length > MAX_RULES) c.add('/rules', `more than ${MAX_RULES} rules`);
  else {
    const names = new Map<string, number>();
    // pattern text + namespace selector → first place it was declared
    const seen = new Map<string, string>();
    raw.forEach((r, i) => {
      const ptr = `/rules/${i}`;
      if (!isObject(r)) {
        c.add(ptr, `expected a rule object, got ${show(r)}`);
        return;
      }
      c.keys(r, ptr, [...RULE_KEYS, ...schemes.map((x) => x.key)]);
      const name = c.string(r['name'], `${ptr}/name`, 'a rule name');
      if (name !== undefined) {
        if (!RULE_NAME.test(name)) c.add(`${ptr}/name`, `rule names are 1-63 characters of A-Z a-z 0-9 . _ -, got ${show(name)}`);
        else if (names.has(name)) c.add(`${ptr}/name`, `duplicate rule name '${name}' (also /rules/${names.get(name)})`);
        else names.set(name, i);
      }
      if (r['description'] !== undefined && typeof r['description'] !== 'string') {
        c.add(`${ptr}/description`, `expected a string, got ${show(r['description'])}`);
      }
      const settings = checkSettings(c, r, ptr);
      const requirements = checkRequirements(c, r, ptr, schemes);
      const namespaces = r['namespaces'] === undefined ? undefined : checkNamespaces(c, r['namespaces'], `${ptr}/namespaces`);
      const images: ImagePattern[] = [];
      const imgs = r['images'];
      if (!Array.isArray(imgs) || imgs.length === 0) {
        c.add(`${ptr}/images`, `expected a non-empty list of image patterns, got ${show(imgs)}`);
      } else if (imgs.length > MAX_LIST) {
        c.add(`${ptr}/images`, `more than ${MAX_LIST} patterns`);
      } else {
        imgs.forEach((p, j) => {
          const pp = `${ptr}/images/${j}`;
          if (typeof p !== 'string') {
            c.add(pp, `expected an image pattern string, got ${show(p)}`);
            return;
          }
          const res = compilePattern(p);
          if (!res.ok) {
            c.add(pp, `bad image pattern ${show(p)}: ${res.reason}`);
            return;
          }
          const key = res.pattern.text + '\n' + selectorKey(namespaces);
          const first = seen.get(key);
          if (first !== undefined) {
            c.add(
              pp,
              `pattern '${res.pattern.text}' is ambiguous: ${first} declares the same pattern` +
                (namespaces ? ' for the same namespaces' : '') +
                '; merge the two or make one more specific',
            );
            return;
          }
          seen.set(key, pp);
          images.push(res.pattern);
        });
      }
      const mode = settings.mode ?? defaults.mode ?? 'enforce';
      if (mode === 'skip' && namespaces === undefined && images.some((p) => p.catchAll)) {
        // As notation's trust policy forbids `skip` for scope `*`: a catch-all skip would
        // silently disable verification; `unmatched: allow` says it explicitly.
        c.add(`${ptr}/mode`, "mode 'skip' is not allowed on the catch-all pattern '**' without a namespaces selector; use unmatched: allow");
      }
      if (name !== undefined) {
        rules.push(
          Object.freeze({
            ...settings,
            ...requirements,
            name,
            index: i,
            images: Object.freeze(images),
            ...(namespaces ? { namespaces: Object.freeze(namespaces) } : {}),
          }),
        );
      }
    });
  }
  if (c.problems.length > 0) return undefined;

  const document: Record<string, unknown> = {
    version: 1,
    defaults: settingsDocument(defaults),
    rules: rules.map((r) => ({
      name: r.name,
      images: r.images.map((p) => p.text),
      ...(r.namespaces ? { namespaces: r.namespaces } : {}),
      ...settingsDocument(r),
      ...requirementsDocument(r, schemes),
    })),
    unmatched,
    // Only when given, so that the revision of every policy without it stays what it was.
    ...(skipKinds ? { skipKinds } : {}),
  };
  return { defaults: Object.freeze(defaults), rules: Object.freeze(rules), unmatched, ...(skipKinds ? { skipKinds: Object.freeze(skipKinds) } : {}), document };
}
