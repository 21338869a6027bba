/**
 * Finds container images in Kubernetes objects (plain JSON values): the containers,
 * initContainers and ephemeralContainers of a Pod and of every pod template. Shared by the
 * manifest scanner (`trust verify-manifests`) and the admission webhooks.
 */
import { assertArg, isOcitrustError } from '../lib/errors/index.js';
import { isDigest } from '../lib/crypto/hash.js';
import { formatReference, parseReference } from '../lib/reference.js';

/** The container lists of a PodSpec, in the order Kubernetes starts them. */
export const CONTAINER_FIELDS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Where the PodSpec sits in each workload kind (core/v1, apps/v1, batch/v1). */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** The API group of each kind above (core is ''): a CRD that reuses a name in another group is not that kind. */
const WORKLOAD_GROUPS: Readonly<Record<string, string>> = {
  Pod: '',
  PodTemplate: '',
  ReplicationController: '',
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  ReplicaSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
};

/** Pod-template locations tried for kinds not listed above (CRDs such as Argo Rollouts). */
const GENERIC_POD_SPEC_PATHS: readonly (readonly string[])[] = [
  ['spec', 'template', 'spec'],
  ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
];

/** Where the PodSpec of a known workload kind lies (see {@link WORKLOAD_KINDS}), or undefined for other kinds. */
export function knownPodSpecPath(kind: string): readonly string[] | undefined {
  return Object.prototype.hasOwnProperty.call(POD_SPEC_PATHS, kind) ? POD_SPEC_PATHS[kind] : undefined;
}

/** The kinds whose pod templates are known by name. */
export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

/** True when `group`/`kind` is one of {@link WORKLOAD_KINDS} in its own API group (`apps` Deployment, core Pod…). */
export function isKnownWorkload(group: string, kind: string): boolean {
  return Object.prototype.hasOwnProperty.call(WORKLOAD_GROUPS, kind) && WORKLOAD_GROUPS[kind] === group;
}

/** A path into an object: keys and array indexes. */
export type PathSegments = readonly (string | number)[];

/** One image found in an object. */
export interface ImageOccurrence {
  /** Path of the container, e.g. `spec.template.spec.initContainers[0]`. */
  readonly path: string;
  /** Path segments of the container's `image` field (for JSON pointers and patches). */
  readonly imageSegments: PathSegments;
  /** The container's name, when it has one. */
  readonly container?: string;
  /** The `image` value exactly as written. */
  readonly image: string;
  /** The normalized reference (`docker.io/library/nginx:1.27`), when `image` parses. */
  readonly reference?: string;
  /** The normalized repository, when `image` parses. */
  readonly repository?: string;
  /** The tag as written (absent for `nginx` or `nginx@sha256:…`). */
  readonly tag?: string;
  readonly digest?: string;
  /** Why `image` is not a valid reference (e.g. `ko://…`), when it does not parse. */
  readonly error?: { readonly code: string; readonly message: string };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(v: unknown, segs: readonly string[]): unknown {
  let cur = v;
  for (const s of segs) {
    if (!isObj(cur)) return undefined;
    cur = cur[s];
  }
  return cur;
}

/** Formats path segments the way kubectl explains fields: `spec.containers[0]`. */
export function formatPath(segs: PathSegments): string {
  let out = '';
  for (const s of segs) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

/** RFC 6901 JSON pointer of path segments. */
export function jsonPointer(segs: PathSegments): string {
  return segs.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/**
 * Parses one image string into the parts the policy and verifier need. A reference that
 * does not parse (`ko://…`, uppercase path, empty) is kept with its error, never dropped.
 */
export function describeImage(image: string): Pick<ImageOccurrence, 'reference' | 'repository' | 'tag' | 'digest' | 'error'> {
  try {
    // The tag as written (none for `nginx`), while the normalized reference says `:latest`.
    const ref = parseReference(image, { defaultTag: false });
    return {
      reference: formatReference(parseReference(image)),
      repository: ref.repository,
      ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
      ...(ref.digest !== undefined ? { digest: ref.digest } : {}),
    };
  } catch (e) {
    if (!isOcitrustError(e)) throw e;
    return { error: { code: e.code, message: e.message } };
  }
}

/**
 * Where the PodSpec of an object of `kind` lies, or undefined when it has none. Unknown kinds
 * are scanned when they carry a pod template (`spec.template.spec.containers` or a CronJob-like
 * `spec.jobTemplate…`), since CRDs that run pods usually embed one.
 */
export function podSpecPath(kind: string | undefined, obj: unknown): readonly string[] | undefined {
  const known = kind !== undefined ? POD_SPEC_PATHS[kind] : undefined;
  if (known) return isObj(at(obj, known)) ? known : undefined;
  for (const p of GENERIC_POD_SPEC_PATHS) {
    const spec = at(obj, p);
    if (isObj(spec) && (Array.isArray(spec['containers']) || Array.isArray(spec['initContainers']))) return p;
  }
  return undefined;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v).slice(0, 60)}`;
}

/** Where and why a pod spec is malformed. */
export interface PodSpecProblem {
  /** kubectl-style path of the offending field, e.g. `spec.containers[0].image`. */
  readonly path: string;
  /** "expected X, got Y". */
  readonly message: string;
}

/**
 * The first structural problem of the pod spec of `obj` at `specPath`, or undefined when it is
 * well-formed: the spec must be an object, each container list (when present and not null) a
 * list of objects, and each container's `image` a string. Without this check a container list
 * written as a map, or an image written as a list, hides the image from the scanner and the
 * object passes as "no images" (issue 12, item 12).
 *
 * @param prefix path segments of `obj` inside a larger document, for the reported path
 */
export function podSpecProblem(obj: unknown, specPath: readonly string[], prefix: PathSegments = []): PodSpecProblem | undefined {
  const spec = at(obj, specPath);
  const base = [...prefix, ...specPath];
  if (!isObj(spec)) return { path: formatPath(base), message: `expected a pod spec object, got ${show(spec)}` };
  for (const field of CONTAINER_FIELDS) {
    const list = spec[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) return { path: formatPath([...base, field]), message: `expected a list of containers, got ${show(list)}` };
    for (let i = 0; i < list.length; i++) {
      const c: unknown = list[i];
      if (!isObj(c)) return { path: formatPath([...base, field, i]), message: `expected a container object, got ${show(c)}` };
      if (typeof c['image'] !== 'string') return { path: formatPath([...base, field, i, 'image']), message: `expected an image reference string, got ${show(c['image'])}` };
    }
  }
  return undefined;
}

/**
 * Every container image of one Kubernetes object, in document order of the container lists
 * (initContainers, containers, ephemeralContainers). Containers without an `image` are
 * skipped (Kubernetes rejects them or fills them in later); an `image` that is not a string
 * is reported as an invalid reference.
 *
 * @param prefix path segments of `obj` inside a larger document (e.g. `['items', 2]`)
 * @param kindOverride the kind to assume (AdmissionReview `request.kind.kind`) instead of `obj.kind`
 */
export function imagesOfObject(obj: unknown, prefix: PathSegments = [], kindOverride?: string): ImageOccurrence[] {
  if (!isObj(obj)) return [];
  const kind = kindOverride ?? (typeof obj['kind'] === 'string' ? obj['kind'] : undefined);
  const specPath = podSpecPath(kind, obj);
  return specPath ? imagesAt(obj, specPath, prefix) : [];
}

/**
 * Every container image of the pod spec of `obj` at `specPath` (see {@link imagesOfObject});
 * none when there is no object there.
 */
export function imagesAt(obj: unknown, specPath: readonly string[], prefix: PathSegments = []): ImageOccurrence[] {
  const spec = at(obj, specPath);
  if (!isObj(spec)) return [];
  const out: ImageOccurrence[] = [];
  for (const field of CONTAINER_FIELDS) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c: unknown, i) => {
      if (!isObj(c) || c['image'] === undefined || c['image'] === null) return;
      const segs = [...prefix, ...specPath, field, i];
      const image = c['image'];
      const base = {
        path: formatPath(segs),
        imageSegments: [...segs, 'image'],
        ...(typeof c['name'] === 'string' ? { container: c['name'] } : {}),
      };
      if (typeof image !== 'string') {
        out.push({ ...base, image: typeof image === 'object' ? JSON.stringify(image) : String(image), error: { code: 'REFERENCE_INVALID', message: `image is not a string (${typeof image})` } });
      } else out.push({ ...base, image, ...describeImage(image) });
    });
  }
  return out;
}

/**
 * The pinned form of an image as written: its name and tag kept, the digest appended
 * (`nginx:1.27` → `nginx:1.27@sha256:…`, `nginx` → `nginx@sha256:…`).
 *
 * @throws OcitrustError REFERENCE_INVALID when `image` does not parse; INVALID_ARGUMENT when
 *   `digest` is not a digest or contradicts a digest already written
 */
export function pinnedReference(image: string, digest: string): string {
  assertArg(isDigest(digest), 'digest', 'sha256:<64 hex> or sha512:<128 hex>', digest);
  const ref = parseReference(image);
  assertArg(ref.digest === undefined || ref.digest === digest, 'digest', `the digest already written in ${image}`, digest);
  const at = image.indexOf('@');
  return `${at < 0 ? image : image.slice(0, at)}@${digest}`;
}
