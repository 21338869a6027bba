/**
 * Strict reading of an AdmissionReview (admission.k8s.io/v1): the one place that decides
 * whether the webhooks can interpret a review, shared by the validating and the mutating
 * webhook (hook/admission.ts) and whatever HTTP adapter carries them.
 *
 * Fail closed (issue 12, item 12): a review the webhook cannot interpret — an envelope of
 * another version, no uid, an operation outside CREATE/UPDATE/DELETE/CONNECT (they are
 * upper case on the wire), a `request.kind` that is not a full GroupVersionKind or that the
 * object contradicts, no object on CREATE/UPDATE, a pod spec whose container lists or images
 * have the wrong shape — throws HOOK_REVIEW_INVALID, which the webhook answers with a denial.
 * Before, each of these made the scanner find no image and the request was allowed.
 *
 * Kinds: the workload kinds of hook/images.ts are recognised by group and kind (an
 * `example.com` "Deployment" is not an `apps` Deployment). Any other kind on CREATE/UPDATE is
 * scanned when it embeds a pod template at a usual place (CRDs such as Argo Rollouts),
 * allowed untouched when the policy lists it in `skipKinds`, and otherwise denied with
 * HOOK_KIND_UNSUPPORTED: the webhook cannot tell where such an object keeps its images, so
 * allowing it would let images through unseen.
 */
import { OcitrustError, type ErrorCode } from '../lib/errors/index.js';
import { isKnownWorkload, knownPodSpecPath, podSpecPath, podSpecProblem } from './images.js';

/** The operations of admission.k8s.io/v1, exactly as the API server writes them. */
export const ADMISSION_OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
/** One of {@link ADMISSION_OPERATIONS}. */
export type AdmissionOperation = (typeof ADMISSION_OPERATIONS)[number];

/** A Kubernetes GroupVersionKind (`group` is '' for the core API). */
export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** The parts of an AdmissionRequest the webhooks use, validated. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly operation: AdmissionOperation;
  readonly subResource?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** The object; always present on CREATE and UPDATE. */
  readonly object?: Readonly<Record<string, unknown>>;
}

/** What the webhooks do with a valid request. */
export type ReviewScope =
  /** Nothing that can change images (DELETE, CONNECT, other subresources, a kind the policy skips). */
  | { readonly kind: 'untouched'; readonly reason: string }
  /** Scan the object's pod spec at `specPath` (hook/images.ts `imagesAt`); its shape is checked. */
  | { readonly kind: 'scan'; readonly specPath: readonly string[] };

const MAX_UID = 128;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return JSON.stringify(v).slice(0, 80);
}

function invalid(msg: string, code: ErrorCode = 'HOOK_REVIEW_INVALID'): never {
  throw new OcitrustError(code, `AdmissionReview: ${msg}`);
}

/** `request.uid` when it is one the API server could have sent; '' otherwise (for the denial's echo). */
export function reviewUid(body: unknown): string {
  const r = isObj(body) ? body['request'] : undefined;
  const uid = isObj(r) ? r['uid'] : undefined;
  return typeof uid === 'string' && uid.length > 0 && uid.length <= MAX_UID ? uid : '';
}

function optionalString(r: Record<string, unknown>, key: string): string | undefined {
  const v = r[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') invalid(`request.${key}: expected a string, got ${show(v)}`);
  return v;
}

/** The apiVersion a GroupVersionKind is written as in an object (`v1`, `apps/v1`). */
export function apiVersionOf(gvk: Pick<GroupVersionKind, 'group' | 'version'>): string {
  return gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
}

/**
 * Validates an AdmissionReview v1 request strictly (see the module comment).
 *
 * @throws OcitrustError HOOK_REVIEW_INVALID naming the first field that is wrong ("expected X, got Y")
 * @example const req = parseAdmissionReview(JSON.parse(body)); req.operation // 'CREATE'
 */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isObj(body)) invalid(`expected a JSON object, got ${show(body)}`);
  if (body['apiVersion'] !== 'admission.k8s.io/v1') invalid(`apiVersion: expected admission.k8s.io/v1, got ${show(body['apiVersion'])}`);
  if (body['kind'] !== 'AdmissionReview') invalid(`kind: expected AdmissionReview, got ${show(body['kind'])}`);
  const r = body['request'];
  if (!isObj(r)) invalid(`request: expected an object, got ${show(r)}`);
  const uid = r['uid'];
  if (typeof uid !== 'string' || uid.length === 0 || uid.length > MAX_UID) invalid(`request.uid: expected a string of 1-${MAX_UID} characters, got ${show(uid)}`);

  const k = r['kind'];
  if (!isObj(k)) invalid(`request.kind: expected a GroupVersionKind object, got ${show(k)}`);
  const group = k['group'];
  const version = k['version'];
  const kindName = k['kind'];
  if (typeof group !== 'string') invalid(`request.kind.group: expected a string ('' for the core API), got ${show(group)}`);
  if (typeof version !== 'string' || version === '') invalid(`request.kind.version: expected a non-empty string, got ${show(version)}`);
  if (typeof kindName !== 'string' || kindName === '') invalid(`request.kind.kind: expected a non-empty string, got ${show(kindName)}`);
  const kind: GroupVersionKind = { group, version, kind: kindName };

  const op = r['operation'];
  if (typeof op !== 'string' || !(ADMISSION_OPERATIONS as readonly string[]).includes(op)) {
    invalid(`request.operation: expected one of ${ADMISSION_OPERATIONS.join(', ')}, got ${show(op)}`);
  }
  const operation = op as AdmissionOperation;

  const subResource = optionalString(r, 'subResource');
  const namespace = optionalString(r, 'namespace');
  const name = optionalString(r, 'name');

  const object = r['object'];
  if (object !== undefined && object !== null && !isObj(object)) invalid(`request.object: expected an object, got ${show(object)}`);
  if ((operation === 'CREATE' || operation === 'UPDATE') && !isObj(object)) invalid(`request.object: expected the object on ${operation}, got ${show(object)}`);
  if (isObj(object)) {
    // The object must be what request.kind says it is: the scanner reads it by that kind.
    const ok = object['kind'];
    if (ok !== undefined && ok !== kindName) invalid(`request.object.kind: expected ${JSON.stringify(kindName)} (request.kind), got ${show(ok)}`);
    const av = object['apiVersion'];
    if (av !== undefined && av !== apiVersionOf(kind)) invalid(`request.object.apiVersion: expected ${JSON.stringify(apiVersionOf(kind))} (request.kind), got ${show(av)}`);
  }
  return {
    uid,
    kind,
    operation,
    ...(subResource !== undefined ? { subResource } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(isObj(object) ? { object } : {}),
  };
}

/** True when `skipKinds` (policy entries `Kind` or `group/Kind`) names this kind. */
function skipped(kind: GroupVersionKind, skipKinds: readonly string[]): boolean {
  return skipKinds.includes(kind.kind) || skipKinds.includes(`${kind.group}/${kind.kind}`);
}

/**
 * What the webhooks do with a valid request: leave it untouched (nothing that can change
 * images) or scan the object, after checking the shape of its pod spec.
 *
 * @param skipKinds the policy's `skipKinds`; ignored for the known workload kinds, which are always scanned
 * @throws OcitrustError HOOK_REVIEW_INVALID for a malformed pod spec; HOOK_KIND_UNSUPPORTED for
 *   an unknown kind with no pod template that the policy does not skip
 */
export function reviewScope(req: AdmissionRequest, skipKinds: readonly string[] = []): ReviewScope {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return { kind: 'untouched', reason: `operation ${req.operation}` };
  if (req.subResource !== undefined && req.subResource !== 'ephemeralcontainers') return { kind: 'untouched', reason: `subresource ${req.subResource}` };
  const object = req.object as Readonly<Record<string, unknown>>;
  const { group, kind } = req.kind;
  let specPath: readonly string[] | undefined;
  if (isKnownWorkload(group, kind)) specPath = knownPodSpecPath(kind);
  else if (skipped(req.kind, skipKinds)) return { kind: 'untouched', reason: `kind ${group === '' ? '' : `${group}/`}${kind} is in the policy's skipKinds` };
  else {
    specPath = podSpecPath(undefined, object);
    if (specPath === undefined) {
      invalid(
        `kind ${group === '' ? 'core' : group}/${kind} is not a workload kind the webhook knows and has no pod template at spec.template.spec; ` +
          "list it in the policy's skipKinds if it runs no containers",
        'HOOK_KIND_UNSUPPORTED',
      );
    }
  }
  const path = specPath as readonly string[];
  const problem = podSpecProblem(object, path);
  if (problem) invalid(`request.object.${problem.path}: ${problem.message}`);
  return { kind: 'scan', specPath: path };
}

