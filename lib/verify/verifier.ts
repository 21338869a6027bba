import { OcitrustError, assertArg, toOcitrustError, type ErrorCode } from '../errors/index.js';
import { digestOf, isDigest, parseDigest } from '../crypto/hash.js';
import { KEY_FINGERPRINT_RE, keyFingerprint } from '../crypto/key-fingerprint.js';
import { formatTime, isValidDate, readClock, type Clock } from '../clock.js';
import { pathMatches, targetPathOf } from '../metadata/paths.js';
import { roleNameKey } from '../metadata/role.js';
import { envelopeLimits, parseEnvelope, verifyEnvelope, type Envelope, type EnvelopeLimits } from '../statements/dsse.js';
import { INTOTO_PAYLOAD_TYPE, parseStatement, type Statement } from '../statements/statement.js';
import { PublicKey } from '../keys/key.js';
import type { Revocation, TrustedRole, TrustedTargets } from './trust.js';
import { paeDigestOf } from './signature-id.js';
import type { PreparedEnvelopes } from './prepared.js';
import { expectedSubjectName, normalizePolicy, type VerifyPolicy, type VerifyPolicyOptions } from './policy.js';
import { failure, type VerifiedSignature, type VerifyFailure, type VerifyResult } from './result.js';

/** The image being verified, as the caller resolved it. */
export interface VerifyReference {
  /** Normalized repository name as pulled, e.g. `registry.example.com/team/app`. */
  readonly repository: string;
  readonly tag?: string;
  /** The digest the reference pinned, if it pinned one. */
  readonly digest?: string;
}

/** One signature envelope as fetched from the registry (untrusted). */
export interface EnvelopeInput {
  readonly bytes: Uint8Array;
  /** The digest it was fetched under; recomputed here, never trusted. */
  readonly digest: string;
}

/** Everything {@link verifyImage} needs; it performs no I/O. */
export interface VerifyInput {
  readonly reference: VerifyReference;
  /** The resolved manifest digest, recomputed by the caller from the manifest bytes. */
  readonly digest: string;
  /** Descriptor facts of the resolved manifest. */
  readonly subject: { readonly mediaType: string; readonly size: number };
  readonly envelopes: readonly EnvelopeInput[];
  /** Trusted targets view from a successful TUF refresh (lib/tuf). */
  readonly trust: TrustedTargets;
  /** Raw options or an already normalized policy. */
  readonly policy?: VerifyPolicyOptions | VerifyPolicy;
  readonly clock: Clock;
  /** Envelope bounds (defaults from lib/config). */
  readonly limits?: Partial<EnvelopeLimits>;
  /**
   * What earlier runs learnt from the same envelopes (digest, parse, DSSE verification,
   * statement): used only when made for `trust.keys`, so each envelope is verified once.
   */
  readonly prepared?: PreparedEnvelopes;
}

/**
 * Verifies one image against trusted targets metadata and a policy (DESIGN §5 steps 4, 5
 * and 7). Pure and synchronous: no I/O, the time comes from `clock`. Everything untrusted
 * (envelopes, statements) can only add failures; it never throws out of here. Every failure
 * is reported, not only the first; `verified` is true only when the policy's role
 * requirements are met by signatures that passed every check.
 *
 * @throws INVALID_ARGUMENT when the caller passes ill-typed input (a programming error, not
 *   untrusted data), POLICY_INVALID when the policy options are invalid.
 */
export function verifyImage(input: VerifyInput): VerifyResult {
  checkInput(input);
  const policy = input.policy === undefined ? (defaultPolicy ??= normalizePolicy({})) : normalizePolicy(input.policy);
  // Read once, here: every time check of the run compares against this one valid instant.
  const now = readClock(input.clock, 'input.clock');
  return new ImageVerification(input, policy, now).run();
}

/** The normalized default policy (it is frozen, and so are its defaults), made once. */
let defaultPolicy: VerifyPolicy | undefined;

/**
 * Combines an index result with its children's results under a multi-architecture mode
 * (DESIGN §5 step 6). `index`: the index signature suffices. `all-children`: every child
 * must verify too (with `expectedChildDigests`, a child without a result fails as
 * CHILD_MISSING). `platform`: the child(ren) for the platform being deployed — the caller
 * passes exactly those — must verify too. Child results are always attached for reporting.
 *
 * @throws INVALID_ARGUMENT on an unknown mode or ill-typed results.
 */
export function verifyIndex(
  indexResult: VerifyResult,
  childResults: readonly VerifyResult[],
  mode: VerifyPolicy['multiArch'],
  expectedChildDigests?: readonly string[],
): VerifyResult {
  assertArg(typeof indexResult === 'object' && indexResult !== null, 'indexResult', 'VerifyResult', indexResult);
  assertArg(Array.isArray(childResults), 'childResults', 'array of VerifyResult', childResults);
  assertArg(mode === 'index' || mode === 'all-children' || mode === 'platform', 'mode', "'index' | 'all-children' | 'platform'", mode);
  const failures: VerifyFailure[] = [...indexResult.failures];
  let verified = indexResult.verified;
  if (mode !== 'index') {
    if (childResults.length === 0) {
      failures.push(failure('CHILD_MISSING', `multiArch ${mode}: no child manifest result was given for index ${indexResult.digest}`));
      verified = false;
    }
    for (const c of childResults as readonly VerifyResult[]) {
      if (!c.verified) {
        const codes = [...new Set(c.failures.map((f) => f.code))].join(', ');
        failures.push(failure('CHILD_NOT_VERIFIED', `child manifest ${c.digest} did not verify (${codes || 'no reason given'})`));
        verified = false;
      }
    }
    if (expectedChildDigests) {
      const have = new Set(childResults.map((c) => c.digest));
      for (const d of expectedChildDigests) {
        if (!have.has(d)) {
          failures.push(failure('CHILD_MISSING', `child manifest ${d} of the index was not verified`));
          verified = false;
        }
      }
    }
  }
  return Object.freeze({ ...indexResult, verified, failures: Object.freeze(failures), children: Object.freeze([...childResults]) });
}

/** A (role, key) pair that passed every per-envelope check and counts toward the role. */
interface Counted {
  readonly role: string;
  /** The keyid under which the role lists the key (the first, were it listed twice). */
  readonly keyid: string;
  /** The key material ({@link PublicKey.fingerprint}): what thresholds count. */
  readonly fingerprint: string;
  readonly signedAt: Date | undefined;
  /** `signedAt` as the statement spelled it, which is formatTime(signedAt) (parseTime round-trips). */
  readonly signedAtText: string;
}

/**
 * One run of the checks. Each step is a private method that owns its error codes, in the
 * order of DESIGN §5 (sigstore-js `Verifier` layout); failures accumulate in #failures.
 */
class ImageVerification {
  readonly #in: VerifyInput;
  readonly #policy: VerifyPolicy;
  readonly #now: Date;
  readonly #subjectName: string;
  readonly #targetPath: string;
  readonly #digest: { algorithm: string; hex: string };
  readonly #failures: VerifyFailure[] = [];
  readonly #rolesByName: ReadonlyMap<string, TrustedRole>;
  /** Roles whose delegation may vouch for this target path (TUF preorder, stopping at terminating). */
  readonly #eligible: ReadonlySet<string>;
  /** Per role: fingerprint of each listed key → the keyid the role lists it under. */
  readonly #roleKeys = new Map<string, ReadonlyMap<string, string>>();
  #ignored = 0;
  /** The caller's prepared envelopes, when they were made for these trusted keys. */
  readonly #prepared: PreparedEnvelopes | undefined;

  constructor(input: VerifyInput, policy: VerifyPolicy, now: Date) {
    this.#in = input;
    this.#prepared = input.prepared !== undefined && input.prepared.keys === input.trust.keys ? input.prepared : undefined;
    this.#policy = policy;
    this.#now = now;
    // Statements and delegation paths name the original repository; a mirror's name is
    // mapped back only through a remap the policy explicitly allows.
    this.#subjectName = expectedSubjectName(policy, input.reference.repository);
    this.#targetPath = targetPathOf(this.#subjectName, { tag: input.reference.tag, digest: input.digest });
    this.#digest = parseDigest(input.digest);
    const roles = roleIndex(input.trust.roles);
    this.#rolesByName = roles.byName;
    this.#eligible = roles.eligible(this.#targetPath);
  }

  run(): VerifyResult {
    if (!this.checkTrustFresh()) return this.result(false, []);
    this.checkRoleKeys();
    this.checkReferenceDigest();
    const counted = this.checkEnvelopes();
    const met = this.countThresholds(counted);
    const ok = this.checkRequiredRoles(met, counted.length > 0);
    return this.result(ok && this.#failures.every((f) => !BLOCKING.has(f.code)), counted);
  }

  // Precondition (TUF freeze, 5.4.4-style): an expired targets view vouches for nothing.
  // Every time check is written as "not before the limit" so that NaN can only mean expired.
  private checkTrustFresh(): boolean {
    if (!(this.#now.getTime() < this.#in.trust.expires.getTime())) {
      this.fail('TRUST_EXPIRED', `targets metadata of ${this.#in.trust.collection} (version ${this.#in.trust.version}) expired at ${formatTime(this.#in.trust.expires)}`);
      return false;
    }
    return true;
  }

  /**
   * Precondition: each role's keys, as key material. Thresholds count keys, not keyids: a keyid
   * hashes the key object as spelled, so one key can be listed under two keyids (go-tuf
   * GHSA-4f8r-qqr9-fq8j). lib/metadata refuses such metadata, so views from lib/tuf never hold
   * it; a view built otherwise is flagged here and the key counts once. The failure does not
   * veto other roles: counting once is already the right answer, the flag is for whoever
   * wrote the trust data.
   */
  private checkRoleKeys(): void {
    const keys = this.#in.trust.keys;
    for (const role of this.#in.trust.roles) {
      const byFingerprint = new Map<string, string>();
      for (const id of role.keyids) {
        const k = keys.get(id);
        if (!k) continue;
        const first = byFingerprint.get(k.fingerprint);
        if (first === undefined) byFingerprint.set(k.fingerprint, id);
        else if (first !== id) {
          this.fail('METADATA_DUPLICATE_KEY', `role ${q(role.name)} lists one key under keyids ${first.slice(0, 16)}… and ${id.slice(0, 16)}…; it counts once`);
        }
      }
      this.#roleKeys.set(role.name, byFingerprint);
    }
  }

  // A reference that pins a digest must resolve to exactly that digest.
  private checkReferenceDigest(): void {
    const pinned = this.#in.reference.digest;
    if (pinned !== undefined && pinned !== this.#in.digest) {
      this.fail('REFERENCE_DIGEST_MISMATCH', `reference pins ${pinned} but resolved to ${this.#in.digest}`);
    }
  }

  // Step 4: every envelope, bounded by maxSignatures; each yields the (role, key) pairs that count.
  private checkEnvelopes(): Counted[] {
    const all = this.#in.envelopes;
    const max = this.#policy.maxSignatures;
    if (all.length > max) {
      this.fail('SIGNATURE_LIMIT_EXCEEDED', `${all.length} signature envelopes found, only the first ${max} were examined`);
    }
    const counted: Counted[] = [];
    const n = Math.min(all.length, max);
    for (let i = 0; i < n; i++) {
      const label = `envelope ${i + 1}`;
      try {
        for (const c of this.checkEnvelope(all[i]!, label)) counted.push(c);
      } catch (err) {
        // Untrusted input only ever costs this one envelope; unexpected errors fail closed.
        const oe = toOcitrustError(err);
        this.fail(oe.code, `${label}: ${oe.message}`);
      }
    }
    return counted;
  }

  private checkEnvelope(e: EnvelopeInput, label: string): Counted[] {
    const envelopeDigest = this.checkEnvelopeDigest(e, label);
    if (envelopeDigest === null) return [];
    const memo = this.#prepared;
    const env = memo ? memo.envelope(e.bytes, this.#in.limits) : parseEnvelope(e.bytes, this.#in.limits);
    if (env.payloadType !== INTOTO_PAYLOAD_TYPE) {
      throw new OcitrustError('PAYLOAD_TYPE_UNSUPPORTED', `payloadType ${q(env.payloadType)}, expected ${INTOTO_PAYLOAD_TYPE}`);
    }
    // DSSE: verify before parsing; the payload bytes parsed below are exactly those verified.
    const keys = this.authenticate(env, label, e.bytes);
    if (keys.length === 0) return [];
    const st = memo ? memo.statement(e.bytes, env) : parseStatement(env.payload, { maxBytes: env.payload.length });
    if (st.predicateType !== this.#policy.predicateType) {
      this.#ignored++;
      return [];
    }
    const before = this.#failures.length;
    this.checkStatement(st, label);
    const statementOk = this.#failures.length === before;
    // Role checks run either way so that every failure of the envelope is reported; what
    // they would count is dropped when the statement itself failed.
    const counted = this.checkRoles(st, keys, { envelopeDigest, envelope: env }, label);
    return statementOk ? counted : [];
  }

  // The envelope digest is what legacy `envelope` revocations scope to, so it is computed
  // here from the bytes (and checked against the digest it was fetched under).
  private checkEnvelopeDigest(e: EnvelopeInput, label: string): string | null {
    const actual = this.#prepared ? this.#prepared.digest(e.bytes) : digestOf(e.bytes, 'sha256');
    if (e.digest === actual) return actual;
    if (isDigest(e.digest)) {
      const alg = parseDigest(e.digest).algorithm;
      const mine = alg === 'sha256' ? actual : digestOf(e.bytes, alg);
      if (mine === e.digest) return actual;
    }
    this.fail('ENVELOPE_DIGEST_MISMATCH', `${label}: bytes hash to ${actual}, fetched as ${q(String(e.digest))}`);
    return null;
  }

  // Step 4a: DSSE signatures against every delegated key; the keyid is only a hint.
  private authenticate(env: Envelope, label: string, bytes: Uint8Array): PublicKey[] {
    const keys = this.#prepared ? this.#prepared.authenticated(bytes, env) : verifyEnvelope(env, this.#in.trust.keys);
    if (keys.length > 0) return keys;
    const hints = env.signatures.map((s) => s.keyid);
    // Which code to report is decided by the hint, for the reader's benefit only: nothing
    // verified either way, so nothing counts.
    if (hints.some((h) => this.#in.trust.keys.has(h))) {
      this.fail('SIG_INVALID', `${label}: no signature verifies with a delegated key (payload or signature altered?)`);
    } else {
      this.fail('SIG_KEY_NOT_DELEGATED', `${label}: signed by a key the targets metadata does not delegate (keyid hint ${q(hints[0] ?? '')})`);
    }
    return [];
  }

  // Step 4b: what the statement says must be about this image, now.
  private checkStatement(st: Statement, label: string): void {
    const subjectName = this.#subjectName;
    const { algorithm, hex } = this.#digest;
    let named = false;
    let digestMatches = false;
    for (const s of st.subject) {
      if (s.name !== subjectName) continue;
      named = true;
      if (s.digest[algorithm] === hex) digestMatches = true;
    }
    if (!named) {
      const names = st.subject.map((s) => q(s.name ?? '')).join(', ');
      this.fail('STATEMENT_SUBJECT_MISMATCH', `${label}: statement is for ${names}, not ${q(subjectName)}`);
    } else if (!digestMatches) {
      this.fail('STATEMENT_DIGEST_MISMATCH', `${label}: statement digest differs from the resolved ${this.#in.digest}`);
    }
    const tag = this.#in.reference.tag;
    if (this.#policy.bindTag && tag !== undefined) {
      const signedTag = st.kind === 'signature' ? st.signature.tag : st.predicate.tag;
      if (signedTag !== tag) {
        this.fail('STATEMENT_TAG_MISMATCH', `${label}: policy binds tags; statement vouches for ${signedTag === undefined ? 'no tag' : `tag ${q(String(signedTag))}`}, not ${q(tag)}`);
      }
    }
    if (st.kind !== 'signature') return;
    const p = st.signature;
    if (p.mediaType !== this.#in.subject.mediaType || p.size !== this.#in.subject.size) {
      this.fail('STATEMENT_DESCRIPTOR_MISMATCH', `${label}: statement records ${q(p.mediaType)} (${p.size} bytes), manifest is ${q(this.#in.subject.mediaType)} (${this.#in.subject.size} bytes)`);
    }
    if (p.expires !== undefined && !(this.#now.getTime() < p.expires.getTime())) {
      this.fail('STATEMENT_EXPIRED', `${label}: statement expired at ${formatTime(p.expires)}`);
    }
    if (!(p.signedAt.getTime() <= this.#now.getTime() + this.#policy.clockSkewSeconds * 1000)) {
      this.fail('STATEMENT_FUTURE', `${label}: signedAt ${formatTime(p.signedAt)} is in the future (now ${formatTime(this.#now)}, skew ${this.#policy.clockSkewSeconds}s)`);
    }
  }

  /**
   * Step 4c: which roles the verifying keys count for.
   *
   * A signature counts only toward the role its statement names, and only if the key that
   * verified is in that role's keyids. The role is part of what was signed, so the signer
   * chose the rules (paths, role-scoped revocations) under which the signature is judged;
   * counting it for every role that happens to list the key would let one signature be
   * re-interpreted under another role's rules, e.g. escape a role-scoped revocation, or let
   * a key that is shared between roles fill a threshold it was never meant to. Attestations
   * of foreign predicate types carry no role unless their predicate has a string `role`;
   * those count for each role that delegates the key, each judged under its own rules.
   */
  private checkRoles(st: Statement, keys: readonly PublicKey[], signed: SignedEnvelope, label: string): Counted[] {
    const named = st.kind === 'signature' ? st.signature.role : typeof st.predicate.role === 'string' ? st.predicate.role : undefined;
    const signedAt = st.kind === 'signature' ? st.signature.signedAt : undefined;
    // parseStatement accepted this text as a time, so it is already formatTime(signedAt).
    const signedAtText = signedAt !== undefined ? (st.predicate.signedAt as string) : '';
    let roles: TrustedRole[];
    if (named !== undefined) {
      const role = this.#rolesByName.get(named);
      if (!role) {
        this.fail('SIG_ROLE_UNKNOWN', `${label}: statement names role ${q(named)}, which the targets metadata does not delegate`);
        return [];
      }
      roles = [role];
    } else {
      roles = this.#in.trust.roles.filter((r) => keys.some((k) => this.#roleKeys.get(r.name)?.has(k.fingerprint)));
      if (roles.length === 0) {
        this.fail('SIG_KEY_NOT_IN_ROLE', `${label}: the verifying key is delegated to no role`);
        return [];
      }
    }
    const out: Counted[] = [];
    for (const role of roles) {
      const listed = this.#roleKeys.get(role.name) ?? new Map<string, string>();
      const members = keys.filter((k) => listed.has(k.fingerprint));
      if (members.length === 0) {
        this.fail('SIG_KEY_NOT_IN_ROLE', `${label}: key ${keys.map((k) => k.keyid.slice(0, 16)).join(', ')} is not delegated to role ${q(role.name)}`);
        continue;
      }
      if (!this.#eligible.has(role.name)) {
        const why = role.paths.some((p) => pathMatches(p, this.#targetPath)) ? 'an earlier terminating delegation claims it' : `paths ${q(role.paths.join(' '))} do not match it`;
        this.fail('SIG_PATH_NOT_COVERED', `${label}: role ${q(role.name)} does not cover ${q(this.#targetPath)}: ${why}`);
        continue;
      }
      // Revocation is judged per verifying key: revoking one signature of a multi-signed
      // envelope leaves the other keys' signatures counting.
      // An entry that covers every key (by digest or role) is reported once, not per key.
      const reported = new Set<string>();
      for (const k of members) {
        const revoked = this.revocationFor(role.name, k, signed);
        if (revoked === undefined) out.push({ role: role.name, keyid: listed.get(k.fingerprint)!, fingerprint: k.fingerprint, signedAt, signedAtText });
        else if (!reported.has(revoked)) {
          reported.add(revoked);
          this.fail('SIG_REVOKED', `${label}: ${revoked}`);
        }
      }
    }
    return out;
  }

  /**
   * Step 4d (DESIGN §6): the signature of `key` in this envelope is revoked by an entry for the
   * subject digest whose every set field matches: `role` (case-insensitively, as role names
   * are unique regardless of case), `signature` (the fingerprint of the key material that
   * verified, never a keyid hint, and the digest of the PAE it signed) and the legacy
   * `envelope` (bytes digest; honoured because it can only revoke more).
   */
  private revocationFor(role: string, key: PublicKey, signed: SignedEnvelope): string | undefined {
    for (const r of this.#in.trust.revocations) {
      if (r.digest !== this.#in.digest) continue;
      if (r.role !== undefined && roleNameKey(r.role) !== roleNameKey(role)) continue;
      if (r.envelope !== undefined && r.envelope !== signed.envelopeDigest) continue;
      if (r.signature !== undefined && !(r.signature.key === keyFingerprint(key) && r.signature.pae === paeDigest(signed, r.signature.pae))) continue;
      return `revoked (${revocationScope(r)}${r.revokedAt ? `, ${r.revokedAt}` : ''}): ${q(r.reason)}`;
    }
    return undefined;
  }

  // Step 5: thresholds over distinct key material per role: a key that signs twice, or that
  // is listed under two keyids, counts once (DESIGN §5 step 5).
  private countThresholds(counted: readonly Counted[]): Set<string> {
    const byRole = new Map<string, Set<string>>();
    for (const c of counted) {
      let s = byRole.get(c.role);
      if (!s) byRole.set(c.role, (s = new Set()));
      s.add(c.fingerprint);
    }
    const met = new Set<string>();
    for (const [name, keys] of byRole) {
      const role = this.#rolesByName.get(name)!;
      // A threshold below 1 would be met by no signature at all; one that is no number compares
      // false. checkInput refuses both; here they are never met either way.
      const threshold = role.threshold;
      if (Number.isSafeInteger(threshold) && threshold >= 1 && keys.size >= threshold) met.add(name);
      else this.fail('THRESHOLD_NOT_MET', `role ${q(name)}: ${keys.size} of ${String(threshold)} distinct keys signed`);
    }
    return met;
  }

  // Step 5 (policy): all of / any of, default any one delegated role.
  private checkRequiredRoles(met: ReadonlySet<string>, anyCounted: boolean): boolean {
    const { allOf, anyOf } = this.#policy.requiredRoles;
    if (!anyCounted) {
      // `trust revoke` may also delete the signature from the registry: with nothing left to
      // judge, the revocation recorded in the trust data is still the reason, not "no
      // signatures". Only ever added to a failing verdict.
      const recorded = this.#in.trust.revocations.filter((r) => r.digest === this.#in.digest);
      if (recorded.length > 0 && !this.#failures.some((f) => f.code === 'SIG_REVOKED')) {
        const what = recorded.map((r) => `${revocationScope(r)}${r.revokedAt ? `, ${r.revokedAt}` : ''}: ${q(r.reason)}`).join('; ');
        this.fail('SIG_REVOKED', `the trust data revokes signatures of ${this.#in.digest} (${what}); no signature counts`);
      }
      const seen = this.#in.envelopes.length;
      const ignored = this.#ignored > 0 ? `, ${this.#ignored} of another predicate type ignored` : '';
      this.fail('NO_SIGNATURES', seen === 0 ? 'no signature envelopes were found for the image' : `none of ${seen} signature envelopes counted${ignored}`);
    }
    let ok = true;
    for (const r of allOf) {
      if (!met.has(r)) {
        ok = false;
        const why = this.#rolesByName.has(r) ? 'its threshold is not met' : 'it is not delegated by the targets metadata';
        this.fail('REQUIRED_ROLE_MISSING', `policy requires role ${q(r)}; ${why}`);
      }
    }
    if (anyOf.length > 0 && !anyOf.some((r) => met.has(r))) {
      ok = false;
      this.fail('REQUIRED_ROLE_MISSING', `policy requires any of roles ${anyOf.map(q).join(', ')}; none met its threshold`);
    }
    if (allOf.length === 0 && anyOf.length === 0 && met.size === 0) ok = false;
    return ok;
  }

  // Step 7: the result, with each counted (role, key) once.
  private result(verified: boolean, counted: readonly Counted[]): VerifyResult {
    const sigs = new Map<string, Counted>();
    for (const c of counted) {
      const k = `${c.role}\u0000${c.fingerprint}`;
      const prev = sigs.get(k);
      if (!prev || (c.signedAt && (!prev.signedAt || c.signedAt > prev.signedAt))) sigs.set(k, c);
    }
    const signatures: VerifiedSignature[] = [];
    for (const s of sigs.values()) signatures.push(Object.freeze({ role: s.role, keyid: s.keyid, signedAt: s.signedAtText }));
    const { repository, tag, digest } = this.#in.reference;
    return Object.freeze({
      verified,
      reference: `${repository}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`,
      digest: this.#in.digest,
      signatures: Object.freeze(signatures),
      failures: Object.freeze([...this.#failures]),
    });
  }

  private fail(code: ErrorCode, message: string): void {
    this.#failures.push(failure(code, message));
  }
}

/** An authenticated envelope, with what revocations may name it by. */
interface SignedEnvelope {
  readonly envelope: Envelope;
  /** SHA-256 of the envelope bytes (legacy `envelope` revocations only). */
  readonly envelopeDigest: string;
  /** PAE digests by algorithm, computed when a revocation first asks. */
  paeDigests?: Map<string, string>;
}

/** The digest of the envelope's PAE in the algorithm of `like` (a valid digest string). */
function paeDigest(signed: SignedEnvelope, like: string): string {
  const alg = parseDigest(like).algorithm;
  const memo = (signed.paeDigests ??= new Map());
  let d = memo.get(alg);
  if (d === undefined) memo.set(alg, (d = paeDigestOf(signed.envelope, alg)));
  return d;
}

/** How a failure message names what a revocation covers. */
function revocationScope(r: Revocation): string {
  const parts: string[] = [];
  if (r.signature !== undefined) parts.push(`signature by key ${r.signature.key.slice(0, 16)}… over PAE ${r.signature.pae}`);
  if (r.envelope !== undefined) parts.push(`envelope ${r.envelope}`);
  if (r.role !== undefined) parts.push(`role ${q(r.role)}`);
  return parts.length === 0 ? r.digest : `${parts.join(', ')} for ${r.digest}`;
}

/** Failures that veto the verdict whatever signatures counted. */
const BLOCKING: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['TRUST_EXPIRED', 'REFERENCE_DIGEST_MISMATCH']);

/** Lookups over one delegated-role list that every verification against it needs. */
interface RoleIndex {
  readonly byName: ReadonlyMap<string, TrustedRole>;
  /** {@link eligibleRoles} of a target path. */
  eligible(target: string): ReadonlySet<string>;
}

const ELIGIBLE_CACHE_MAX = 256;
/** Indexes of frozen role lists (see {@link roleIndex}); entries die with their list. */
const roleIndexes = new WeakMap<readonly TrustedRole[], RoleIndex>();

/**
 * The role index of `roles`. A trusted view from lib/metadata (trustViewFromTargets) freezes
 * the list, every role and every role's paths, so nothing the index is derived from can change
 * any more: such a list is indexed once and its eligible sets are remembered per target path
 * (bounded). A list that is not frozen all the way down is indexed afresh on every call.
 */
function roleIndex(roles: readonly TrustedRole[]): RoleIndex {
  const cached = roleIndexes.get(roles);
  if (cached !== undefined) return cached;
  const byName = new Map(roles.map((r) => [r.name, r]));
  if (!(Object.isFrozen(roles) && roles.every((r) => Object.isFrozen(r) && Object.isFrozen(r.paths)))) {
    return { byName, eligible: (target) => eligibleRoles(roles, target) };
  }
  const byTarget = new Map<string, ReadonlySet<string>>();
  const index: RoleIndex = {
    byName,
    eligible(target) {
      let set = byTarget.get(target);
      if (set === undefined) {
        if (byTarget.size >= ELIGIBLE_CACHE_MAX) byTarget.clear();
        byTarget.set(target, (set = eligibleRoles(roles, target)));
      }
      return set;
    },
  };
  roleIndexes.set(roles, index);
  return index;
}

/**
 * Roles whose delegation may vouch for `target`, in metadata order, stopping after the first
 * matching terminating role (TUF client workflow 5.6.7.2.x: a terminating delegation that
 * matches ends the search, so later roles cannot vouch for paths it claims).
 */
function eligibleRoles(roles: readonly TrustedRole[], target: string): Set<string> {
  const out = new Set<string>();
  for (const r of roles) {
    if (!r.paths.some((p) => pathMatches(p, target))) continue;
    out.add(r.name);
    if (r.terminating) break;
  }
  return out;
}

/**
 * Checks the caller's input at the door (issue 12 item 4): nothing missing, ill-typed, NaN or an
 * Invalid Date may reach a check, where a comparison with it would be false and so could read
 * as "not expired", "no revocation applies" or "bounded". Every such input is INVALID_ARGUMENT
 * naming the field; the trusted view is checked as deeply as the checks read it.
 */
function checkInput(input: VerifyInput): void {
  assertArg(typeof input === 'object' && input !== null, 'input', 'object', input);
  const { reference, digest, subject, envelopes, trust, clock, limits } = input;
  assertArg(typeof reference === 'object' && reference !== null, 'input.reference', 'object {repository, tag?, digest?}', reference);
  assertArg(typeof reference.repository === 'string' && reference.repository.length > 0, 'input.reference.repository', 'non-empty string', reference.repository);
  assertArg(reference.tag === undefined || (typeof reference.tag === 'string' && reference.tag.length > 0), 'input.reference.tag', 'non-empty string', reference.tag);
  assertArg(reference.digest === undefined || isDigest(reference.digest), 'input.reference.digest', 'a digest sha256:<hex>', reference.digest);
  assertArg(isDigest(digest), 'input.digest', 'a digest sha256:<hex>', digest);
  assertArg(typeof subject === 'object' && subject !== null, 'input.subject', '{mediaType: string, size: integer}', subject);
  assertArg(typeof subject.mediaType === 'string' && subject.mediaType.length > 0, 'input.subject.mediaType', 'non-empty string', subject.mediaType);
  assertArg(Number.isSafeInteger(subject.size) && subject.size >= 0, 'input.subject.size', 'integer ≥ 0', subject.size);
  assertArg(Array.isArray(envelopes), 'input.envelopes', 'array of {bytes: Uint8Array, digest: string}', envelopes);
  envelopes.forEach((e, i) => assertArg(isEnvelopeInput(e), `input.envelopes[${i}]`, '{bytes: Uint8Array, digest: string}', e));
  checkTrust(trust);
  assertArg(typeof clock === 'object' && clock !== null && typeof clock.now === 'function', 'input.clock', 'Clock {now(): Date}', clock);
  envelopeLimits(limits, 'input.limits');
}

function checkTrust(trust: TrustedTargets): void {
  const T = 'input.trust';
  assertArg(typeof trust === 'object' && trust !== null, T, 'TrustedTargets', trust);
  assertArg(typeof trust.collection === 'string' && trust.collection.length > 0, `${T}.collection`, 'non-empty string', trust.collection);
  assertArg(Number.isSafeInteger(trust.version) && trust.version >= 1, `${T}.version`, 'integer ≥ 1', trust.version);
  assertArg(isValidDate(trust.expires), `${T}.expires`, 'a valid Date', trust.expires);
  assertArg(trust.keys instanceof Map, `${T}.keys`, 'Map<keyid, PublicKey>', trust.keys);
  for (const [id, k] of trust.keys) {
    assertArg(typeof id === 'string' && k instanceof PublicKey, `${T}.keys`, 'Map<keyid, PublicKey>', k);
  }
  assertArg(Array.isArray(trust.roles), `${T}.roles`, 'array of TrustedRole', trust.roles);
  trust.roles.forEach((r, i) => {
    const at = `${T}.roles[${i}]`;
    assertArg(typeof r === 'object' && r !== null, at, 'TrustedRole {name, keyids, threshold, paths, terminating}', r);
    assertArg(typeof r.name === 'string' && r.name.length > 0, `${at}.name`, 'non-empty string', r.name);
    assertArg(Array.isArray(r.keyids) && r.keyids.every((k: unknown) => typeof k === 'string'), `${at}.keyids`, 'array of keyid strings', r.keyids);
    // A threshold that is no positive integer must not be read as "met by anyone".
    assertArg(Number.isSafeInteger(r.threshold) && r.threshold >= 1, `${at}.threshold`, 'integer ≥ 1', r.threshold);
    assertArg(Array.isArray(r.paths) && r.paths.every((p: unknown) => typeof p === 'string'), `${at}.paths`, 'array of path patterns', r.paths);
    assertArg(typeof r.terminating === 'boolean', `${at}.terminating`, 'boolean', r.terminating);
  });
  assertArg(Array.isArray(trust.revocations), `${T}.revocations`, 'array of Revocation', trust.revocations);
  trust.revocations.forEach((r, i) => {
    const at = `${T}.revocations[${i}]`;
    assertArg(typeof r === 'object' && r !== null, at, 'Revocation {digest, role?, signature?, envelope?, reason}', r);
    // A revocation whose digest is missing or garbled would match nothing: refuse it rather
    // than let a revoked signature count.
    assertArg(isDigest(r.digest), `${at}.digest`, 'a digest sha256:<hex>', r.digest);
    assertArg(r.role === undefined || (typeof r.role === 'string' && r.role.length > 0), `${at}.role`, 'non-empty string', r.role);
    assertArg(r.envelope === undefined || (typeof r.envelope === 'string' && r.envelope.length > 0), `${at}.envelope`, 'non-empty string', r.envelope);
    // A garbled signature identity would match nothing (or throw mid-verdict): refuse it.
    assertArg(
      r.signature === undefined || (typeof r.signature === 'object' && r.signature !== null && typeof r.signature.key === 'string' && KEY_FINGERPRINT_RE.test(r.signature.key) && isDigest(r.signature.pae)),
      `${at}.signature`,
      '{key: <64 hex fingerprint>, pae: sha256:<hex>}',
      r.signature,
    );
    assertArg(typeof r.reason === 'string', `${at}.reason`, 'string', r.reason);
  });
}

function isEnvelopeInput(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as EnvelopeInput).bytes instanceof Uint8Array && typeof (e as EnvelopeInput).digest === 'string';
}

/** Quotes untrusted text for a message, bounded. */
function q(s: string): string {
  return JSON.stringify(s.length > 128 ? `${s.slice(0, 128)}…` : s);
}
