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

/** Pod-template locations tried for kinds not listed above (CRDs such as Argo Rollouts). */
const GENERIC_POD_SPEC_PATHS: readonly (readonly string[])[] = [
  ['spec', 'template', 'spec'],
  ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
];

/** The kinds whose pod templates are known by name. */
export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

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
  if (!specPath) return [];
  const spec = at(obj, specPath) as Record<string, unknown>;
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
