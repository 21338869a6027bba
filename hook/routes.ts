/**
 * The admission webhooks as a fastify plugin: `POST /admission/validate` and
 * `POST /admission/mutate` (AdmissionReview admission.k8s.io/v1). The trust server registers
 * it; it can also run on its own fastify instance.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { OcitrustError, assertArg } from '../lib/errors/index.js';
import type { Policy } from '../lib/policy/types.js';
import {
  admissionDeadlineMs,
  reviewAdmission,
  type AdmissionAction,
  type AdmissionOptions,
  type AdmissionOutcome,
} from './admission.js';

/** Options of {@link admissionRoutes}. */
export interface AdmissionRouteOptions extends AdmissionOptions {
  /**
   * Extra route config merged into both routes. Default `{ open: true }`: the Kubernetes API
   * server calls webhooks without a bearer token (it authenticates the webhook by TLS), so the
   * trust server's token check must not apply.
   */
  readonly routeConfig?: Readonly<Record<string, unknown>>;
  /** Called after each review (metrics, audit). Must not throw. */
  readonly onOutcome?: (outcome: AdmissionOutcome, action: AdmissionAction, review: unknown) => void;
  /** Largest AdmissionReview accepted (bytes). Default 8 MiB (object and oldObject of a large Pod). */
  readonly bodyLimit?: number;
}

// No structural schema on purpose: a schema error would answer HTTP 400, which the API server
// treats as a webhook failure and resolves by failurePolicy (Ignore = allow). Every body is
// read by hook/review.ts instead, and one it cannot interpret is denied in an AdmissionReview.
const reviewBody = {
  description: 'AdmissionReview admission.k8s.io/v1 with a request (validated by the webhook: a malformed review is denied, not rejected)',
} as const;

const reviewResponse = {
  type: 'object',
  required: ['apiVersion', 'kind', 'response'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    response: {
      type: 'object',
      required: ['uid', 'allowed'],
      properties: {
        uid: { type: 'string' },
        allowed: { type: 'boolean' },
        status: {
          type: 'object',
          properties: { code: { type: 'integer' }, reason: { type: 'string' }, message: { type: 'string' } },
        },
        patchType: { type: 'string' },
        patch: { type: 'string', description: 'base64 of an RFC 6902 JSON Patch' },
        warnings: { type: 'array', items: { type: 'string' } },
        auditAnnotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  },
} as const;

const errorBody = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

/**
 * Registers `POST /admission/validate` and `POST /admission/mutate`.
 *
 * Every JSON body answers 200 with an AdmissionReview response (allowed or denied), so that a
 * denial always carries its reason to `kubectl`: a malformed review is denied with
 * HOOK_REVIEW_INVALID (its uid echoed when it has one), never answered with an HTTP error the
 * API server could resolve as "allow" under `failurePolicy: Ignore`.
 *
 * @throws OcitrustError INVALID_ARGUMENT at registration when options are missing, or when the
 *   policy selects namespaces by label and no `namespaceLabels` source is given
 * @example await app.register(admissionRoutes, { policy, verifyImage, timeoutSeconds: 10 })
 */
export const admissionRoutes: FastifyPluginAsync<AdmissionRouteOptions> = async (app: FastifyInstance, opts: AdmissionRouteOptions) => {
  assertArg(opts && (typeof opts.policy === 'function' || typeof opts.policy === 'object'), 'policy', 'a Policy or a function returning one', opts?.policy);
  assertArg(typeof opts.verifyImage === 'function', 'verifyImage', 'a function', opts.verifyImage);
  const deadline = admissionDeadlineMs(opts);
  const timeout = opts.timeoutSeconds;
  assertArg(timeout === undefined || (Number.isInteger(timeout) && timeout >= 1 && timeout <= 30), 'timeoutSeconds', 'an integer from 1 to 30 (the Kubernetes range)', timeout);
  assertArg(Number.isFinite(deadline) && deadline > 0, 'deadlineMs', 'a positive number of milliseconds', deadline);
  if (timeout !== undefined) {
    assertArg(deadline < timeout * 1000, 'deadlineMs', `less than the webhook timeout (${timeout * 1000} ms)`, deadline);
  }
  const current = (): Policy => (typeof opts.policy === 'function' ? opts.policy() : opts.policy);
  assertArg(!current().usesNamespaceLabels || typeof opts.namespaceLabels === 'function', 'namespaceLabels', 'a function (the policy selects namespaces by label)', opts.namespaceLabels);

  const config = { open: true, ...(opts.routeConfig ?? {}) };
  const bodyLimit = opts.bodyLimit ?? 8 * 1024 * 1024;
  const admissionOpts: AdmissionOptions = {
    policy: opts.policy,
    verifyImage: opts.verifyImage,
    deadlineMs: deadline,
    ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}),
    ...(opts.namespaceLabels ? { namespaceLabels: opts.namespaceLabels } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  };

  for (const action of ['validate', 'mutate'] as const) {
    app.post(
      `/admission/${action}`,
      {
        bodyLimit,
        config,
        schema: {
          summary: action === 'validate' ? 'Validating admission webhook: deny unverified images' : 'Mutating admission webhook: pin verified images to digests',
          tags: ['admission'],
          body: reviewBody,
          response: { 200: reviewResponse, 400: errorBody },
        },
      },
      async (request, reply) => {
        let outcome: AdmissionOutcome;
        try {
          outcome = await reviewAdmission(request.body, action, admissionOpts);
        } catch (e) {
          throw e instanceof OcitrustError ? e : new OcitrustError('INTERNAL', 'admission review failed', { cause: e });
        }
        const r = outcome.review.response;
        request.log.info(
          {
            uid: r.uid,
            action,
            ...(outcome.invalid ? { code: outcome.invalid.code, reason: outcome.invalid.message } : {}),
            allowed: r.allowed,
            images: outcome.verdicts.map((v) => ({ image: v.image, decision: v.decision, ...(v.code ? { code: v.code } : {}) })),
            deadlineExceeded: outcome.deadlineExceeded,
            elapsedMs: outcome.elapsedMs,
          },
          'admission review',
        );
        try {
          opts.onOutcome?.(outcome, action, request.body);
        } catch (e) {
          request.log.warn({ err: e }, 'admission onOutcome hook failed');
        }
        return reply.code(200).send(outcome.review);
      },
    );
  }
};
