import type { PublicKey } from '../keys/key.js';

/**
 * The verifier's view of trusted targets metadata: what `lib/tuf` hands to `lib/verify` after
 * a successful refresh (root chain, timestamp, snapshot and targets all checked). The verifier
 * never sees raw JSON. Built by `trustViewFromTargets` in lib/metadata.
 */
export interface TrustedTargets {
  /** Collection name, e.g. `registry.example.com/team/app`. */
  readonly collection: string;
  /** Version of the targets metadata this view was built from. */
  readonly version: number;
  /** Expiry of the targets metadata. */
  readonly expires: Date;
  /** Delegation keys by keyid (keyids recomputed from the key objects, never trusted as given). */
  readonly keys: ReadonlyMap<string, PublicKey>;
  /** Delegated signer roles, in metadata order. */
  readonly roles: readonly TrustedRole[];
  /** Revocations published in targets metadata (DESIGN §6). */
  readonly revocations: readonly Revocation[];
}

/** One delegated signer role (TUF delegation). */
export interface TrustedRole {
  readonly name: string;
  /** Keyids allowed to sign for this role; each must name a different key (see {@link PublicKey.fingerprint}). */
  readonly keyids: readonly string[];
  /** Distinct keys needed (an integer ≥ 1): key material is counted, not keyids. */
  readonly threshold: number;
  /** TUF path patterns matched against the target path (`<repo>:<tag>` or `<repo>@<digest>`). */
  readonly paths: readonly string[];
  readonly terminating: boolean;
}

/**
 * A revocation entry (targets `signed.revocations[]`). It revokes signatures over `digest`;
 * when `role` is set only that role's signatures; when `signature` is set only the signature
 * made by that key over that DSSE PAE; when the legacy `envelope` is set only the envelope
 * whose bytes hash to that digest. Every field that is set must match.
 */
export interface Revocation {
  /** Subject manifest digest, `sha256:<hex>`. */
  readonly digest: string;
  readonly role?: string;
  /** One signature, by the key that made it and the PAE it signed (DESIGN §6). */
  readonly signature?: RevokedSignature;
  /**
   * @deprecated Digest of one envelope blob, `sha256:<hex>`: honoured when present (it can
   * only revoke more), never written any more, because envelope bytes can be re-encoded
   * without touching the signature. Use `signature`.
   */
  readonly envelope?: string;
  readonly reason: string;
  /** `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly revokedAt?: string;
}

/** The identity of one signature that a registry cannot re-encode (DESIGN §6). */
export interface RevokedSignature {
  /** Fingerprint of the signing key's material (lib/crypto/key-fingerprint.ts), 64 lowercase hex — not a keyid. */
  readonly key: string;
  /** Digest of DSSE PAE(payloadType, payload), `sha256:<hex>` (or `sha512:`). */
  readonly pae: string;
}
