/**
 * Signature schemes other than ocitrust's own (Notary v1, cosign / Sigstore, Notation) plug
 * into the policy and the gate through one shape: a {@link SignatureScheme}. A rule names a
 * scheme by its policy key (`notaryV1:`, `cosign:`, `notation:`); the policy validates the
 * block with the scheme, the gate verifies the image with it beside (or instead of) ocitrust's
 * own signatures and combines the requirements (`require:`). Every face (CLI, admission,
 * proxy) gets the scheme through the gate, so a scheme is written once.
 */
import type { Clock } from '../clock.js';
import type { ImageReference } from '../reference.js';
import type { RegistryClient } from '../oci/client.js';
import type { VerifiedSignature, VerifyFailure } from '../verify/result.js';

/** Where a scheme reports the mistakes in its policy block (JSON pointer + message). */
export interface SchemeProblems {
  add(ptr: string, message: string): void;
}

/** What the process that verifies offers a scheme beyond the image. */
export interface SchemeEnv {
  /**
   * The CLI user's trust home, where a scheme with its own TUF data (Notary v1) persists its
   * rollback state; undefined in services (state kept in memory, a pinned root required).
   */
  readonly home?: string;
  /** `--offline`: the scheme must not touch the network beyond what the caller allows. */
  readonly offline?: boolean;
  /** A token or other per-process settings a scheme may need (free-form, scheme-owned keys). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** One image for a scheme to verify: the reference pinned to its manifest digest. */
export interface SchemeInput {
  /** The reference as deployed, pinned to `digest` (the tag kept when it was written). */
  readonly reference: ImageReference;
  /** The manifest digest (`sha256:<hex>`) the decision is about. */
  readonly digest: string;
  /** The gate's registry client (manifests memoized). */
  readonly registry: RegistryClient;
  readonly clock: Clock;
  readonly env: SchemeEnv;
}

/**
 * A scheme's verdict. `failures` carry catalogue codes; a scheme throws an OcitrustError
 * only when it could not decide (its code must classify as inconclusive), never for a
 * signature that does not verify.
 */
export interface SchemeVerification {
  readonly verified: boolean;
  /** The signatures that counted, each with `format` set to the scheme's format. */
  readonly signatures: readonly VerifiedSignature[];
  readonly failures: readonly VerifyFailure[];
  /**
   * The version of the trust material the verdict depends on beyond the policy (for example a
   * Notary timestamp version). The gate caches a verdict only when every scheme of the rule
   * gives one (`'static'` when the verdict depends on the policy's files alone).
   */
  readonly cacheKey?: string;
}

/**
 * A signature scheme. `C` is the validated configuration of a rule's block: plain JSON data
 * (it is hashed into the policy revision), with file paths as written or made absolute by
 * {@link SignatureScheme.resolvePaths}.
 *
 * Every face loads every scheme object (lib/schemes/index.ts), so the object and its module
 * stay small: `verify` imports the scheme's verifier and its libraries on first use (see
 * lib/cosign/scheme.ts), and `validate`, `resolvePaths` and `files` need none of them
 * (test/integration/verify-load-path.test.ts).
 */
export interface SignatureScheme<C = unknown> {
  /** The rule key that selects it (`notaryV1`, `cosign`, `notation`). */
  readonly key: string;
  /** The `format` reported for its signatures (`notary-v1`, `cosign`, `sigstore-bundle`, `notation`). */
  readonly format: string;
  /** Validates a rule's block; reports every mistake and returns undefined when there is one. */
  validate(raw: unknown, ptr: string, problems: SchemeProblems): C | undefined;
  /** The same configuration with every file path passed through `resolve` (policy-file-relative → absolute). */
  resolvePaths(config: C, resolve: (path: string) => string): C;
  /** The files (absolute after resolvePaths) whose bytes the verdicts depend on; their digests join the policy revision. */
  files(config: C): readonly string[];
  /** Verifies one image under the configuration. */
  verify(config: C, input: SchemeInput): Promise<SchemeVerification>;
}
