import type { CodeTable } from '../spec.js';

/**
 * Error codes of the hook area: the policy file (POLICY_FILE_*, shared by `trust
 * verify-manifests`, the admission webhooks and the registry plugin), Kubernetes manifests
 * and AdmissionReview handling. docs/errors.md is generated from this table.
 */
export const hookCodes = {
  POLICY_FILE_SYNTAX: {
    meaning: 'The policy file is not well-formed JSON or YAML (or holds several YAML documents, duplicate keys or too many aliases).',
    action: 'Fix the syntax at the line and column the message gives.',
    exit: 2,
    http: 400,
  },
  POLICY_FILE_INVALID: {
    meaning: 'The policy file is well-formed but not a valid policy: unknown keys, wrong types, bad image patterns, unknown modes, ambiguous duplicate patterns or unusable root files.',
    action: 'Fix every problem listed; each names its location as a JSON pointer (and line/column) into the file. See docs/policy.md.',
    exit: 2,
    http: 400,
  },
  POLICY_FILE_UNREADABLE: {
    meaning: 'The policy file or a root file it names could not be read (missing, not a regular file, no permission).',
    action: 'Check the path given on the command line or in the policy; relative root paths are resolved against the policy file\'s folder.',
    exit: 2,
    http: 500,
  },
  POLICY_FILE_NO_MATCH: {
    meaning: 'No rule of the policy file matches the image, and the policy denies unmatched images (`unmatched: deny`, the default).',
    action: 'Add a rule whose images pattern covers the repository, or set `unmatched: allow` if unverified images are acceptable.',
    exit: 1,
    http: 403,
  },
  POLICY_FILE_TAG_DENIED: {
    meaning: 'The image is referenced by a tag that its rule lists in `denyTags` (an image written without tag or digest means `latest`).',
    action: 'Deploy by an explicit version tag or by digest.',
    exit: 1,
    http: 403,
  },
  HOOK_YAML_INVALID: {
    meaning: 'Kubernetes YAML could not be read: a syntax error, a duplicate key, too many aliases, or an unknown tag.',
    action: 'Fix the document at the line and column given; `kubectl apply --dry-run=client` reports the same kind of problem.',
    exit: 2,
    http: 400,
  },
  HOOK_REVIEW_INVALID: {
    meaning: 'The admission request could not be interpreted, so it was denied: not an AdmissionReview admission.k8s.io/v1, no request uid, an operation other than CREATE/UPDATE/DELETE/CONNECT, a request.kind that is not a GroupVersionKind or that the object contradicts, no object on CREATE/UPDATE, or a pod spec whose containers or images have the wrong shape.',
    action: 'Point only Kubernetes admission webhooks (admissionReviewVersions: ["v1"]) at /admission/validate and /admission/mutate.',
    exit: 2,
    http: 400,
  },
  HOOK_KIND_UNSUPPORTED: {
    meaning: 'An admission request for a kind the webhook does not know (not a Pod or a built-in workload, and no pod template at spec.template.spec) was denied: the webhook cannot tell where such an object keeps its images.',
    action: "If the kind runs no containers, list it in the policy's `skipKinds`; otherwise leave it out of the webhook configuration's rules, or wrap its pods in a built-in workload kind.",
    exit: 1,
    http: 403,
  },
  HOOK_MANIFEST_INVALID: {
    meaning: 'A Kubernetes workload in the manifests has a malformed pod spec: a container list that is not a list, a container that is not an object, or an image that is missing or not a string.',
    action: 'Fix the object at the path given; `kubectl apply --dry-run=server` refuses it too.',
    exit: 2,
    http: 400,
  },
  HOOK_DEADLINE_EXCEEDED: {
    meaning: 'Verification did not finish before the admission deadline, which lies below the webhook timeout; the request was denied on purpose (fail closed). Verification goes on in the background and fills the cache.',
    action: 'Retry the deployment (controllers retry by themselves); if it recurs, check registry and trust-server latency or raise timeoutSeconds in the webhook configuration and in the server options.',
    exit: 3,
    http: 504,
  },
  HOOK_NAMESPACE_LABELS_UNAVAILABLE: {
    meaning: 'The policy selects rules by namespace labels, but the labels of the request\'s namespace could not be obtained.',
    action: 'Give the webhook server read access to namespaces (see deploy/), or select rules by namespace names instead.',
    exit: 3,
    http: 503,
  },
  HOOK_NOT_VERIFIED: {
    meaning: 'The verifier reported an image as not verified without naming a failed check.',
    action: 'Run `trust verify <image>` for the details.',
    exit: 1,
    http: 403,
  },
} as const satisfies CodeTable;
