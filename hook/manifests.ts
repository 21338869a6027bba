/**
 * Kubernetes YAML for `trust verify-manifests`: find every container image (with where it
 * was found) and rewrite verified images to digests without touching any other byte.
 *
 * YAML is read the way kubectl reads it (sigs.k8s.io/yaml, i.e. YAML 1.1 with `<<` merge
 * keys), so the scanner sees the same images the API server will receive. Duplicate keys,
 * unknown tags and alias bombs are refused rather than guessed at.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import { OcitrustError, assertArg } from '../lib/errors/index.js';
import { parseReference } from '../lib/reference.js';
import { imagesAt, isKnownWorkload, knownPodSpecPath, podSpecPath, podSpecProblem, type ImageOccurrence, type PathSegments } from './images.js';

export { pinnedReference } from './images.js';

/** Largest YAML input accepted (bytes). Rendered Helm charts of big projects stay far below. */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;
const MAX_ALIASES = 1000;
const MAX_LIST_DEPTH = 8;

/** One image occurrence in a YAML stream. */
export interface ManifestImage extends ImageOccurrence {
  /** File name as given by the caller (`-` for stdin). */
  readonly file: string;
  /** 0-based index of the YAML document in the stream. */
  readonly documentIndex: number;
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly name?: string;
  readonly namespace?: string;
  /** 1-based position of the image scalar in the text. */
  readonly line?: number;
  readonly column?: number;
}

/** Options of {@link scanManifests} and {@link pinManifests}. */
export interface ManifestOptions {
  /** Names the input in results and messages; default `-` (stdin). */
  readonly file?: string;
}

interface Parsed {
  readonly docs: Document.Parsed[];
  readonly values: unknown[];
  readonly lc: LineCounter;
}

function parseStream(text: string, file: string): Parsed {
  assertArg(typeof text === 'string', 'text', 'a string of YAML', text);
  if (Buffer.byteLength(text, 'utf8') > MAX_MANIFEST_BYTES) {
    throw new OcitrustError('INPUT_TOO_LARGE', `${file}: larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { version: '1.1', merge: true, uniqueKeys: true, prettyErrors: true, lineCounter: lc });
  const list = Array.isArray(docs) ? docs : [];
  const values: unknown[] = [];
  list.forEach((doc, i) => {
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) {
      const first = (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      const pos = problem.linePos?.[0];
      throw new OcitrustError(
        'HOOK_YAML_INVALID',
        `${file}: document ${i}: ${first}${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}`,
      );
    }
    try {
      values.push(doc.toJS({ maxAliasCount: MAX_ALIASES }));
    } catch (e) {
      throw new OcitrustError('HOOK_YAML_INVALID', `${file}: document ${i}: ${(e as Error).message}`, { cause: e });
    }
  });
  return { docs: list, values, lc };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function meta(obj: Record<string, unknown>): Pick<ManifestImage, 'kind' | 'apiVersion' | 'name' | 'namespace'> {
  const m = isObj(obj['metadata']) ? obj['metadata'] : {};
  return {
    ...(typeof obj['kind'] === 'string' ? { kind: obj['kind'] } : {}),
    ...(typeof obj['apiVersion'] === 'string' ? { apiVersion: obj['apiVersion'] } : {}),
    ...(typeof m['name'] === 'string' ? { name: m['name'] } : {}),
    ...(typeof m['namespace'] === 'string' ? { namespace: m['namespace'] } : {}),
  };
}

/** Objects of a document: the document itself, or the items of a `List` (any `*List` kind). */
function objectsOf(v: unknown, prefix: PathSegments, depth = 0): { obj: Record<string, unknown>; prefix: PathSegments }[] {
  if (!isObj(v)) return [];
  const kind = v['kind'];
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(v['items']) && depth < MAX_LIST_DEPTH) {
    return v['items'].flatMap((item, j) => objectsOf(item, [...prefix, 'items', j], depth + 1));
  }
  return [{ obj: v, prefix }];
}

/**
 * The images of one object, after checking the shape of its pod spec. A built-in workload kind
 * (in its own API group; an object without apiVersion is taken at its kind) must have a
 * well-formed pod spec where Kubernetes expects it; other kinds are read when they embed a pod
 * template at a usual place. A malformed one is refused, never read as "no images".
 *
 * @throws OcitrustError HOOK_MANIFEST_INVALID
 */
function checkedImages(obj: Record<string, unknown>, prefix: PathSegments, where: string): ImageOccurrence[] {
  const kind = typeof obj['kind'] === 'string' ? obj['kind'] : undefined;
  const av = typeof obj['apiVersion'] === 'string' ? obj['apiVersion'] : undefined;
  const group = av === undefined ? undefined : av.includes('/') ? av.slice(0, av.indexOf('/')) : '';
  const known = kind !== undefined && (group === undefined || isKnownWorkload(group, kind)) ? knownPodSpecPath(kind) : undefined;
  const specPath = known ?? podSpecPath(undefined, obj);
  if (!specPath) return [];
  const problem = podSpecProblem(obj, specPath, prefix);
  if (problem) {
    const m = meta(obj);
    throw new OcitrustError('HOOK_MANIFEST_INVALID', `${where}: ${m.kind ?? 'object'}${m.name !== undefined ? ` ${m.name}` : ''}: ${problem.path}: ${problem.message}`);
  }
  return imagesAt(obj, specPath, prefix);
}

/** Resolves an alias to its anchored node. */
function deref(doc: Document.Parsed, n: unknown): unknown {
  return isAlias(n) ? n.resolve(doc) : n;
}

function isMergeKey(k: unknown): boolean {
  return isScalar(k) && typeof k.value === 'symbol';
}

/** The value node of `key` in a map node, honouring `<<` merges as YAML 1.1 defines them. */
function mapGet(doc: Document.Parsed, map: unknown, key: string, depth = 0): unknown {
  if (!isMap(map) || depth > MAX_LIST_DEPTH) return undefined;
  for (const p of map.items) if (!isMergeKey(p.key) && isScalar(p.key) && String(p.key.value) === key) return deref(doc, p.value);
  for (const p of map.items) {
    if (!isMergeKey(p.key)) continue;
    const v = deref(doc, p.value);
    const sources = isSeq(v) ? v.items.map((i) => deref(doc, i)) : [v];
    for (const s of sources) {
      const found = mapGet(doc, s, key, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The YAML node at a path of keys and indexes (aliases and merges followed). */
function nodeAt(doc: Document.Parsed, segs: PathSegments): Node | undefined {
  let n: unknown = deref(doc, doc.contents);
  for (const s of segs) {
    if (typeof s === 'number') n = isSeq(n) ? deref(doc, n.items[s]) : undefined;
    else n = mapGet(doc, n, s);
    if (n === undefined) return undefined;
  }
  return n as Node;
}

/**
 * Finds every container image in a YAML stream: containers, initContainers and
 * ephemeralContainers of Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets,
 * ReplicationControllers, Jobs, CronJobs, PodTemplates, items of `List` kinds, and pod
 * templates of other kinds. Invalid references (`ko://…`) are reported with their error; a
 * workload whose containers or images have the wrong shape is refused.
 *
 * @throws OcitrustError HOOK_YAML_INVALID, HOOK_MANIFEST_INVALID, INPUT_TOO_LARGE
 * @example scanManifests(yamlText, { file: 'deploy.yaml' }).map((o) => `${o.kind}/${o.name}: ${o.path} ${o.image}`)
 */
export function scanManifests(text: string, opts: ManifestOptions = {}): ManifestImage[] {
  const file = opts.file ?? '-';
  const { docs, values, lc } = parseStream(text, file);
  const out: ManifestImage[] = [];
  values.forEach((v, documentIndex) => {
    const doc = docs[documentIndex] as Document.Parsed;
    for (const { obj, prefix } of objectsOf(v, [])) {
      const m = meta(obj);
      for (const occ of checkedImages(obj, prefix, `${file}: document ${documentIndex}`)) {
        const node = nodeAt(doc, occ.imageSegments);
        const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
        out.push({ file, documentIndex, ...m, ...occ, ...(pos ? { line: pos.line, column: pos.col } : {}) });
      }
    }
  });
  return out;
}

const PLAIN_SAFE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;

/** Source text for `value` in the style of the scalar it replaces. */
function scalarSource(type: string | undefined, value: string, old: string): string {
  switch (type) {
    case 'PLAIN':
      if (PLAIN_SAFE.test(value)) return value;
      return JSON.stringify(value);
    case 'QUOTE_SINGLE':
      return `'${value.replace(/'/g, "''")}'`;
    case 'QUOTE_DOUBLE':
      return JSON.stringify(value);
    default:
      // Block scalars: a double-quoted scalar in their place; keep the line break they ended with.
      return JSON.stringify(value) + (old.endsWith('\n') ? '\n' : '');
  }
}

/**
 * Rewrites every image listed in `pins` (image as written → pinned reference, see
 * `pinnedReference`) and returns the new text. Only the image scalars change: comments,
 * quoting style, indentation, key order, anchors and every other byte stay as they were. An
 * anchored image shared through aliases is rewritten once, at its anchor.
 *
 * @throws OcitrustError HOOK_YAML_INVALID, HOOK_MANIFEST_INVALID, INPUT_TOO_LARGE, INVALID_ARGUMENT (a pin that is not
 *   a reference with a digest)
 * @example pinManifests(text, new Map([['nginx:1.27', 'nginx:1.27@sha256:…']]))
 */
export function pinManifests(text: string, pins: ReadonlyMap<string, string>, opts: ManifestOptions = {}): string {
  const file = opts.file ?? '-';
  assertArg(pins instanceof Map, 'pins', 'a Map of image → pinned reference', pins);
  for (const [from, to] of pins) {
    let ok = false;
    try {
      ok = parseReference(to).digest !== undefined;
    } catch {
      ok = false;
    }
    assertArg(ok, `pins[${JSON.stringify(from)}]`, 'a reference with a digest (repo[:tag]@sha256:…)', to);
  }
  const { docs, values } = parseStream(text, file);
  const edits = new Map<number, { end: number; text: string }>();
  const expected: string[] = [];
  values.forEach((v, i) => {
    const doc = docs[i] as Document.Parsed;
    for (const { obj, prefix } of objectsOf(v, [])) {
      for (const occ of checkedImages(obj, prefix, `${file}: document ${i}`)) {
        const to = pins.get(occ.image);
        expected.push(to ?? occ.image);
        if (to === undefined) continue;
        const node = nodeAt(doc, occ.imageSegments);
        if (!isScalar(node) || !node.range) {
          throw new OcitrustError('HOOK_YAML_INVALID', `${file}: document ${i}: ${occ.path}: image is not a plain YAML scalar`);
        }
        const [start, end] = node.range;
        edits.set(start, { end, text: scalarSource(node.type, to, text.slice(start, end)) });
      }
    }
  });
  let out = text;
  for (const start of [...edits.keys()].sort((a, b) => b - a)) {
    const e = edits.get(start) as { end: number; text: string };
    out = out.slice(0, start) + e.text + out.slice(e.end);
  }
  // Read the result back: it must hold exactly the expected images, in the same places.
  const after = scanManifests(out, { file }).map((o) => o.image);
  if (after.length !== expected.length || after.some((img, k) => img !== expected[k])) {
    throw new OcitrustError('INTERNAL', `${file}: pinning did not produce the expected images; the input was left unchanged`);
  }
  return out;
}
