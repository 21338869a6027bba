import { LineCounter, isMap, isSeq, isScalar, parseDocument, type Document, type Node } from 'yaml';
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { parseJson } from '../json.js';
import { jcs } from '../crypto/canonical.js';
import { digestOf } from '../crypto/hash.js';
import { validatePolicyDocument, type Locator } from './validate.js';
import type { SignatureScheme } from '../schemes/types.js';
import type { Policy, PolicyRule, RootSource, RuleSettings } from './types.js';

/** A root file read from disk by the loader. */
export interface RootFile {
  readonly digest: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Largest policy file accepted (bytes). */
export const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /** `json` or `yaml`; default: JSON when the first non-blank character is `{`, else YAML. */
  readonly format?: 'json' | 'yaml';
  /** Names the file in messages. */
  readonly what?: string;
  /**
   * Root files the policy names by path, keyed by the path as written: their digest
   * (`sha256:<hex>`, folded into the revision so that replacing a pinned root changes it) and
   * parsed content (attached to the rule's {@link RootSource}).
   */
  readonly rootFiles?: Readonly<Record<string, RootFile>>;
  /**
   * Digests (`sha256:<hex>`) of the files the rules' signature schemes name (trusted roots,
   * keys, trust stores), keyed by absolute path: folded into the revision like root files.
   */
  readonly schemeFiles?: Readonly<Record<string, string>>;
  /** The signature schemes the policy may name (default: every scheme, lib/schemes). */
  readonly schemes?: readonly SignatureScheme[];
}

function locatorFor(doc: Document, lc: LineCounter): Locator {
  return (pointer) => {
    const tokens = pointer === '' ? [] : pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: unknown = doc.contents;
    let best: unknown = node;
    for (const t of tokens) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === t);
        if (!pair) break;
        best = pair.value ?? pair.key;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(t)];
        if (item === undefined) break;
        best = item;
        node = item;
      } else break;
    }
    const range = (best as Node | null)?.range;
    if (!range) return undefined;
    const pos = lc.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  };
}

/** One-line message of a `yaml` error or warning, with its line and column. */
export function yamlProblemMessage(p: { message: string; linePos?: [{ line: number; col: number }] | [{ line: number; col: number }, unknown] }): string {
  const first = (p.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const pos = p.linePos?.[0];
  return pos ? `${first} (line ${pos.line}, column ${pos.col})` : first;
}

function parseYamlText(text: string, what: string): { value: unknown; locate: Locator } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: true, version: '1.2' });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new OcitrustError('POLICY_FILE_SYNTAX', `${what}: ${yamlProblemMessage(problem)}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    throw new OcitrustError('POLICY_FILE_SYNTAX', `${what}: ${(e as Error).message}`, { cause: e });
  }
  return { value, locate: locatorFor(doc, lc) };
}

/**
 * Computes the revision of a validated policy document: `sha256:` of its RFC 8785 form
 * together with the digests of the root files it names.
 */
export function policyRevision(document: unknown, rootFileDigests: Readonly<Record<string, string>> = {}): string {
  return digestOf(jcs({ policy: document, rootFiles: rootFileDigests }));
}

/**
 * Builds a {@link Policy} from an already-parsed value (e.g. an object in a test or a
 * configuration system).
 *
 * @throws OcitrustError POLICY_FILE_INVALID
 */
export function policyFromValue(value: unknown, opts: Omit<ParsePolicyOptions, 'format'> & { locate?: Locator } = {}): Policy {
  const v = validatePolicyDocument(value, opts.locate, opts.what ?? 'policy file', ...(opts.schemes ? [opts.schemes] : []));
  const usesNamespaceLabels = v.rules.some((r) => r.namespaces?.labels !== undefined);
  const files = opts.rootFiles ?? {};
  const attach = <T extends RuleSettings>(s: T): T => {
    const r: RootSource | undefined = s.root;
    const f = r?.kind === 'path' ? files[r.path] : undefined;
    return r?.kind === 'path' && f ? Object.freeze({ ...s, root: Object.freeze({ ...r, metadata: f.metadata }) }) : s;
  };
  const digests: Record<string, string> = {};
  for (const [p, f] of Object.entries(files)) digests[p] = f.digest;
  for (const [p, d] of Object.entries(opts.schemeFiles ?? {})) digests[`scheme:${p}`] = d;
  return Object.freeze({
    version: 1 as const,
    defaults: attach(v.defaults),
    rules: Object.freeze(v.rules.map((r): PolicyRule => attach(r))),
    unmatched: v.unmatched,
    ...(v.skipKinds ? { skipKinds: v.skipKinds } : {}),
    revision: policyRevision(v.document, digests),
    usesNamespaceLabels,
    document: Object.freeze(v.document),
  });
}

/**
 * Parses and validates a policy file (JSON or YAML). JSON goes through the strict parser
 * (no duplicate keys); YAML is read as YAML 1.2 with duplicate keys refused and aliases
 * bounded. Problems are reported with a JSON pointer and a line/column.
 *
 * @throws OcitrustError POLICY_FILE_SYNTAX, POLICY_FILE_INVALID, INPUT_TOO_LARGE
 * @example parsePolicy('version: 1\nrules: []\nunmatched: allow\n')
 */
export function parsePolicy(text: string, opts: ParsePolicyOptions = {}): Policy {
  if (typeof opts !== 'object' || opts === null) throw new OcitrustError('INVALID_ARGUMENT', `policy options: expected an object {what?, format?}, got ${opts === null ? 'null' : typeof opts}`);
  const what = typeof opts.what === 'string' ? opts.what : 'policy file';
  if (typeof text !== 'string') throw new OcitrustError('INVALID_ARGUMENT', `${what}: expected a string`);
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) {
    throw new OcitrustError('INPUT_TOO_LARGE', `${what}: larger than ${MAX_POLICY_BYTES} bytes`);
  }
  const format = opts.format ?? (/^\s*\{/.test(text) ? 'json' : 'yaml');
  let value: unknown;
  let locate: Locator | undefined;
  if (format === 'json') {
    try {
      value = parseJson(text, { maxBytes: MAX_POLICY_BYTES, what });
    } catch (e) {
      if (isOcitrustError(e, 'JSON_MALFORMED') || isOcitrustError(e, 'JSON_DUPLICATE_KEY') || isOcitrustError(e, 'JSON_TOO_DEEP')) {
        throw new OcitrustError('POLICY_FILE_SYNTAX', e.message, { cause: e });
      }
      throw e;
    }
    // JSON is YAML: reuse the YAML parser only to map pointers to line/column.
    try {
      const lc = new LineCounter();
      locate = locatorFor(parseDocument(text, { lineCounter: lc }), lc);
    } catch {
      locate = undefined;
    }
  } else {
    ({ value, locate } = parseYamlText(text, what));
  }
  return policyFromValue(value, { ...opts, what, ...(locate ? { locate } : {}) });
}
