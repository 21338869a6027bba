/**
 * Kubernetes admission (AdmissionReview admission.k8s.io/v1) over the policy file and an
 * injected verifier. Pure logic: the only I/O is whatever `verifyImage` and
 * `namespaceLabels` do, and every decision that needs no I/O (skip rules, unmatched images,
 * denied tags, invalid references) is taken before either is called.
 *
 * Fail closed: anything not positively verified under an `enforce` rule is denied, and when
 * verification cannot finish before the deadline (set below the webhook timeout) the request
 * is denied on purpose with a clear message instead of letting the API server time out.
 * Verifications still running at the deadline are not cancelled: they finish in the
 * background and fill the cache for the retry.
 */
import { systemClock, type Clock } from '../lib/clock.js';
import { assertArg, isOcitrustError, toOcitrustError } from '../lib/errors/index.js';
import { isDigest } from '../lib/crypto/hash.js';
import { parseReference, type ImageReference } from '../lib/reference.js';
import { planUnderPolicy } from '../lib/usecases/policy-verify.js';
import type { ImageRuleOptions, Policy, RuleMode } from '../lib/policy/types.js';
import { imagesAt, jsonPointer, pinnedReference, type ImageOccurrence } from './images.js';
import { parseAdmissionReview, reviewScope, reviewUid, type AdmissionRequest } from './review.js';

export { parseAdmissionReview } from './review.js';

/** The part of a VerifyResult (lib/verify) admission needs. */
export interface VerifyResultLike {
  readonly verified: boolean;
  /** The resolved manifest digest (required for a verified image). */
  readonly digest?: string;
  readonly failures: readonly { readonly code: string; readonly message: string }[];
}

/** Verifies one image under the options its rule resolved to. May throw; a throw counts as a failure. */
export type AdmissionVerifyImage = (ref: ImageReference, options: ImageRuleOptions) => Promise<VerifyResultLike>;

/** Labels of a namespace (e.g. from an informer cache); undefined when the namespace is unknown. */
export type NamespaceLabelsFn = (
  namespace: string,
) => Promise<Readonly<Record<string, string>> | undefined> | Readonly<Record<string, string>> | undefined;

/** Options of {@link reviewAdmission}. */
export interface AdmissionOptions {
  /** The policy, or a getter returning the current one (hot reload). */
  readonly policy: Policy | (() => Policy);
  readonly verifyImage: AdmissionVerifyImage;
  /** Needed when the policy selects rules by namespace labels. */
  readonly namespaceLabels?: NamespaceLabelsFn;
  /** Time source for the elapsed-time figures in results. Default: the system clock. */
  readonly clock?: Clock;
  /** Deadline for one review in ms. Default: 80 % of `timeoutSeconds`. */
  readonly deadlineMs?: number;
  /** The webhook configuration's timeoutSeconds (1-30). Default 10. */
  readonly timeoutSeconds?: number;
}

/** Which webhook is answering. */
export type AdmissionAction = 'validate' | 'mutate';

/** RFC 6902 operations produced by the mutating webhook. */
export type PatchOperation =
  | { readonly op: 'test'; readonly path: string; readonly value: string }
  | { readonly op: 'replace'; readonly path: string; readonly value: string };

/** AdmissionReview v1 response (k8s.io/api/admission/v1 AdmissionResponse). */
export interface AdmissionReviewResponse {
  readonly apiVersion: 'admission.k8s.io/v1';
  readonly kind: 'AdmissionReview';
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly status?: { readonly code: number; readonly reason?: string; readonly message: string };
    readonly patchType?: 'JSONPatch';
    /** base64 of the JSON array of patch operations. */
    readonly patch?: string;
    readonly warnings?: readonly string[];
    readonly auditAnnotations?: Readonly<Record<string, string>>;
  };
}

/** What happened to one image occurrence. */
export interface ImageVerdict {
  readonly path: string;
  readonly container?: string;
  readonly image: string;
  readonly reference?: string;
  /** `allowed` (verified or allowed by policy), `denied`, `warned` (not verified, warn mode), `skipped`. */
  readonly decision: 'allowed' | 'denied' | 'warned' | 'skipped';
  /** The rule that decided, when one matched. */
  readonly rule?: string;
  /** Failure code, for denied and warned images. */
  readonly code?: string;
  readonly message?: string;
  readonly digest?: string;
  /** The pinned reference written by the mutating webhook. */
  readonly pinned?: string;
}

/** The full outcome of a review: the wire response plus per-image detail for logs and metrics. */
export interface AdmissionOutcome {
  readonly review: AdmissionReviewResponse;
  readonly verdicts: readonly ImageVerdict[];
  /** True when the deadline passed with verifications still running. */
  readonly deadlineExceeded: boolean;
  /** Distinct images sent to `verifyImage`. */
  readonly verified: number;
  /** Set when the review itself was refused (HOOK_REVIEW_INVALID, HOOK_KIND_UNSUPPORTED): why it was denied. */
  readonly invalid?: { readonly code: string; readonly message: string };
  readonly elapsedMs: number;
}

/** Default webhook timeout (Kubernetes' default for admissionregistration.k8s.io/v1). */
export const DEFAULT_TIMEOUT_SECONDS = 10;
/** Share of the webhook timeout used as the deadline, leaving room for the network and the API server. */
export const DEADLINE_SHARE = 0.8;
const MAX_MESSAGE = 4096;
const MAX_WARNING = 256;
const MAX_WARNINGS = 20;
const MAX_FAILURES_SHOWN = 3;

/** The deadline in ms for the given options. */
export function admissionDeadlineMs(opts: Pick<AdmissionOptions, 'deadlineMs' | 'timeoutSeconds'>): number {
  if (opts.deadlineMs !== undefined) return opts.deadlineMs;
  return Math.floor((opts.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000 * DEADLINE_SHARE);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '…';
}

function where(o: { path: string; container?: string | undefined }): string {
  return `${o.path}${o.container !== undefined ? ` (container ${JSON.stringify(o.container)})` : ''}`;
}

function describeFailures(f: readonly { code: string; message: string }[]): { code: string; message: string } {
  if (f.length === 0) return { code: 'HOOK_NOT_VERIFIED', message: 'the verifier reported the image as not verified' };
  const [first, ...rest] = f as [{ code: string; message: string }, ...{ code: string; message: string }[]];
  const shown = [first.message, ...rest.slice(0, MAX_FAILURES_SHOWN - 1).map((x) => `${x.code}: ${x.message}`)];
  if (f.length > MAX_FAILURES_SHOWN) shown.push(`(+${f.length - MAX_FAILURES_SHOWN} more)`);
  return { code: first.code, message: shown.join('; ') };
}

function respond(uid: string, fields: Omit<AdmissionReviewResponse['response'], 'uid'>): AdmissionReviewResponse {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...fields } };
}

type Plan =
  | { occ: ImageOccurrence; kind: 'final'; verdict: ImageVerdict }
  | { occ: ImageOccurrence; kind: 'verify'; key: string; rule: string; mode: RuleMode; ref: ImageReference; options: ImageRuleOptions };

/**
 * Answers one AdmissionReview for the validating (`validate`) or mutating (`mutate`) webhook.
 *
 * - The review is read strictly (hook/review.ts): one that cannot be interpreted, or a kind
 *   with no known pod spec that the policy does not skip, is denied (HOOK_REVIEW_INVALID,
 *   HOOK_KIND_UNSUPPORTED), echoing the uid when there is one; never allowed, never an HTTP error.
 * - Operations other than CREATE and UPDATE, and subresources other than
 *   `ephemeralcontainers`, are allowed untouched (they cannot change images).
 * - Every image of the Pod or pod template is matched against the policy; `skip` rules,
 *   unmatched images, `denyTags` and invalid references are decided without I/O.
 * - Each distinct image left is verified once, concurrently, under the deadline.
 * - `enforce` failures deny with a message naming each image, where it is and the failed
 *   check; `warn` failures allow with a warning; on `mutate`, verified images written
 *   without a digest are pinned by a JSONPatch (`test` then `replace` per image).
 *
 * @example const { review } = await reviewAdmission(body, 'validate', { policy, verifyImage })
 */
export async function reviewAdmission(body: unknown, action: AdmissionAction, opts: AdmissionOptions): Promise<AdmissionOutcome> {
  assertArg(action === 'validate' || action === 'mutate', 'action', "'validate' or 'mutate'", action);
  assertArg(typeof opts?.verifyImage === 'function', 'verifyImage', 'a function', opts?.verifyImage);
  const clock = opts.clock ?? systemClock;
  const started = clock.now().getTime();
  const elapsed = (): number => Math.max(0, clock.now().getTime() - started);
  const policy = typeof opts.policy === 'function' ? opts.policy() : opts.policy;
  const audit = { 'policy-revision': policy.revision };

  // A review that cannot be interpreted is denied, never allowed and never an HTTP error: the
  // API server turns an HTTP error into its failurePolicy, which may be Ignore (= allow).
  let req: AdmissionRequest;
  let scope: ReturnType<typeof reviewScope>;
  try {
    req = parseAdmissionReview(body);
    scope = reviewScope(req, policy.skipKinds ?? []);
  } catch (e) {
    if (!isOcitrustError(e, 'HOOK_REVIEW_INVALID') && !isOcitrustError(e, 'HOOK_KIND_UNSUPPORTED')) throw e;
    const invalid = { code: e.code, message: e.message };
    const message = clip(`ocitrust denied the request: ${e.code}: ${e.message}`, MAX_MESSAGE);
    return {
      review: respond(reviewUid(body), {
        allowed: false,
        status: e.code === 'HOOK_REVIEW_INVALID' ? { code: 400, reason: 'BadRequest', message } : { code: 403, reason: 'Forbidden', message },
        auditAnnotations: audit,
      }),
      verdicts: [],
      deadlineExceeded: false,
      verified: 0,
      elapsedMs: elapsed(),
      invalid,
    };
  }

  const untouched = (): AdmissionOutcome => ({
    review: respond(req.uid, { allowed: true, auditAnnotations: audit }),
    verdicts: [],
    deadlineExceeded: false,
    verified: 0,
    elapsedMs: elapsed(),
  });
  if (scope.kind === 'untouched') return untouched();

  const object = req.object as Readonly<Record<string, unknown>>;
  const meta = isObj(object['metadata']) ? object['metadata'] : {};
  const namespace = req.namespace ?? (typeof meta['namespace'] === 'string' ? meta['namespace'] : undefined);
  const objName = req.name ?? (typeof meta['name'] === 'string' ? meta['name'] : typeof meta['generateName'] === 'string' ? `${meta['generateName']}*` : '');
  const subject = `${req.kind.kind} ${namespace ? `${namespace}/` : ''}${objName}`;
  const occurrences = imagesAt(object, scope.specPath);
  if (occurrences.length === 0) return untouched();

  const deadlineMs = admissionDeadlineMs(opts);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), Math.max(0, deadlineMs));
  });
  try {
    return await decide();
  } finally {
    clearTimeout(timer);
  }

  async function decide(): Promise<AdmissionOutcome> {
    // Namespace labels, only when some rule selects by label: the one I/O that rule choice needs.
    let labels: Readonly<Record<string, string>> | undefined;
    let labelsProblem: string | undefined;
    if (policy.usesNamespaceLabels && namespace !== undefined) {
      if (!opts.namespaceLabels) labelsProblem = 'the policy selects namespaces by label, but the webhook has no source of namespace labels';
      else {
        const got = await Promise.race([
          Promise.resolve()
            .then(() => (opts.namespaceLabels as NamespaceLabelsFn)(namespace))
            .then(
              (v) => ({ ok: true as const, v }),
              (e: unknown) => ({ ok: false as const, e }),
            ),
          deadline,
        ]);
        if (got === 'deadline') labelsProblem = `the labels of namespace ${namespace} were not available within ${deadlineMs} ms`;
        else if (!got.ok) labelsProblem = `the labels of namespace ${namespace} could not be read: ${toOcitrustError(got.e).message}`;
        else labels = got.v ?? {};
      }
    }

    const plans: Plan[] = occurrences.map((occ): Plan => {
      const final = (v: Omit<ImageVerdict, 'path' | 'image' | 'container' | 'reference'>): Plan => ({
        occ,
        kind: 'final',
        verdict: {
          path: occ.path,
          image: occ.image,
          ...(occ.container !== undefined ? { container: occ.container } : {}),
          ...(occ.reference !== undefined ? { reference: occ.reference } : {}),
          ...v,
        },
      });
      if (occ.error || occ.repository === undefined) {
        return final({ decision: 'denied', code: occ.error?.code ?? 'REFERENCE_INVALID', message: occ.error?.message ?? 'not a valid image reference' });
      }
      if (labelsProblem !== undefined) return final({ decision: 'denied', code: 'HOOK_NAMESPACE_LABELS_UNAVAILABLE', message: labelsProblem });
      // The gate's planning (lib/usecases/policy-verify.ts): skip, unmatched and denied tags,
      // with the same messages on every face.
      const ref = parseReference(occ.image);
      const plan = planUnderPolicy(policy, ref, { ...(namespace !== undefined ? { namespace } : {}), ...(labels ? { labels: { ...labels } } : {}) });
      switch (plan.kind) {
        case 'allow-unmatched':
          return final({ decision: 'allowed', message: 'no rule matches; the policy allows unmatched images' });
        case 'skip':
          return final({ decision: 'skipped', rule: plan.rule });
        case 'deny': {
          const f = plan.result.failures[0]!;
          return final({ decision: plan.mode === 'warn' ? 'warned' : 'denied', ...(plan.rule !== undefined ? { rule: plan.rule } : {}), code: f.code, message: f.message });
        }
        case 'verify':
          return { occ, kind: 'verify', key: `${occ.reference}\u0000${plan.rule}`, rule: plan.rule, mode: plan.mode, ref, options: plan.options };
      }
    });

    // One verification per distinct image (and rule), all at once.
    const results = new Map<string, VerifyResultLike>();
    const running = new Map<string, Promise<void>>();
    for (const p of plans) {
      if (p.kind !== 'verify' || running.has(p.key)) continue;
      const key = p.key;
      running.set(
        key,
        Promise.resolve()
          .then(() => opts.verifyImage(p.ref, p.options))
          .then(
            (r) => {
              results.set(key, checkResult(r, p.ref));
            },
            (e: unknown) => {
              const err = toOcitrustError(e);
              results.set(key, { verified: false, failures: [{ code: err.code, message: err.message }] });
            },
          ),
      );
    }
    let deadlineExceeded = false;
    if (running.size > 0) {
      const outcome = await Promise.race([Promise.all(running.values()).then(() => 'done' as const), deadline]);
      deadlineExceeded = outcome === 'deadline' && results.size < running.size;
    }

    const verdicts: ImageVerdict[] = [];
    const patch: PatchOperation[] = [];
    for (const p of plans) {
      if (p.kind === 'final') {
        verdicts.push(p.verdict);
        continue;
      }
      const base = {
        path: p.occ.path,
        image: p.occ.image,
        ...(p.occ.container !== undefined ? { container: p.occ.container } : {}),
        ...(p.occ.reference !== undefined ? { reference: p.occ.reference } : {}),
        rule: p.rule,
      };
      const r = results.get(p.key);
      const notVerified = p.mode === 'warn' ? ('warned' as const) : ('denied' as const);
      if (!r) {
        verdicts.push({
          ...base,
          decision: notVerified,
          code: 'HOOK_DEADLINE_EXCEEDED',
          message:
            `verification did not finish within the ${deadlineMs} ms admission deadline (below the webhook timeout), ` +
            'so the image counts as unverified (fail closed); verification continues in the background, retry shortly',
        });
        continue;
      }
      if (!r.verified) {
        verdicts.push({ ...base, decision: notVerified, ...describeFailures(r.failures) });
        continue;
      }
      const digest = r.digest as string;
      let pinned: string | undefined;
      const editable = req.subResource === undefined || p.occ.imageSegments.includes('ephemeralContainers');
      if (action === 'mutate' && p.occ.digest === undefined && editable) {
        pinned = pinnedReference(p.occ.image, digest);
        const path = jsonPointer(p.occ.imageSegments);
        patch.push({ op: 'test', path, value: p.occ.image }, { op: 'replace', path, value: pinned });
      }
      verdicts.push({ ...base, decision: 'allowed', digest, ...(pinned !== undefined ? { pinned } : {}) });
    }

    const denied = verdicts.filter((v) => v.decision === 'denied');
    const warned = verdicts.filter((v) => v.decision === 'warned');
    const line = (v: ImageVerdict): string => `image ${JSON.stringify(v.image)} at ${where(v)}: ${v.code}: ${v.message}`;
    const warnings = warned.slice(0, MAX_WARNINGS).map((v) => clip(`ocitrust: rule ${JSON.stringify(v.rule)} is in warn mode, allowed unverified ${line(v)}`, MAX_WARNING));
    if (warned.length > MAX_WARNINGS) warnings.push(`ocitrust: ${warned.length - MAX_WARNINGS} more unverified images allowed in warn mode`);

    let review: AdmissionReviewResponse;
    if (denied.length > 0) {
      const message = clip(`ocitrust denied ${subject}: ${denied.map(line).join('; ')}`, MAX_MESSAGE);
      review = respond(req.uid, {
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message },
        ...(warnings.length ? { warnings } : {}),
        auditAnnotations: audit,
      });
    } else {
      review = respond(req.uid, {
        allowed: true,
        ...(patch.length ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}),
        ...(warnings.length ? { warnings } : {}),
        auditAnnotations: audit,
      });
    }
    return { review, verdicts, deadlineExceeded, verified: running.size, elapsedMs: elapsed() };
  }
}

/** A verifier answer is only trusted as "verified" when it names a digest consistent with the reference. */
function checkResult(r: VerifyResultLike, ref: ImageReference): VerifyResultLike {
  if (typeof r !== 'object' || r === null || typeof r.verified !== 'boolean' || !Array.isArray(r.failures)) {
    return { verified: false, failures: [{ code: 'INTERNAL', message: 'the verifier returned no result' }] };
  }
  if (!r.verified) return r;
  if (!isDigest(r.digest)) return { verified: false, failures: [{ code: 'HOOK_NOT_VERIFIED', message: 'the verifier reported success without a digest' }] };
  if (ref.digest !== undefined && r.digest !== ref.digest) {
    return {
      verified: false,
      failures: [{ code: 'REFERENCE_DIGEST_MISMATCH', message: `verified digest ${r.digest} is not the digest ${ref.digest} the image pins` }],
    };
  }
  return r;
}
