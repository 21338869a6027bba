import type { ErrorCode } from '../errors/index.js';

/** One signature that counted: a distinct (role, keyid) that passed every check of step 4. */
export interface VerifiedSignature {
  readonly role: string;
  readonly keyid: string;
  /** The statement's `signedAt`, `YYYY-MM-DDTHH:MM:SSZ` (the latest when the key signed more than once). */
  readonly signedAt: string;
  /**
   * The signature's format when it is not ocitrust's own: `notary-v1`, `cosign`,
   * `sigstore-bundle`, `notation` (lib/schemes). Absent for ocitrust signatures.
   */
  readonly format?: string;
  /** Who signed, for formats that name a signer by certificate: `subject` and `issuer`. */
  readonly identity?: { readonly subject?: string; readonly issuer?: string };
}

/** One reason a signature did not count or the policy was not met. */
export interface VerifyFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * The verdict for one image (DESIGN §5 step 7). `failures` lists every failure that occurred,
 * also when `verified` is true: signatures that did not count are reported even when others
 * satisfied the policy, so that a forged or stale signature never goes unnoticed.
 */
export interface VerifyResult {
  readonly verified: boolean;
  /** The reference as verified: `<repository>[:<tag>][@<digest>]`. */
  readonly reference: string;
  /** The resolved manifest digest. */
  readonly digest: string;
  readonly signatures: readonly VerifiedSignature[];
  readonly failures: readonly VerifyFailure[];
  /** Multi-architecture: the result of each child manifest that was verified (step 6). */
  readonly children?: readonly VerifyResult[];
}

/** A failure entry (the message is trimmed of control characters from untrusted input). */
export function failure(code: ErrorCode, message: string): VerifyFailure {
  // eslint-disable-next-line no-control-regex
  return Object.freeze({ code, message: message.replace(/[\u0000-\u001f\u007f]/g, '?') });
}
