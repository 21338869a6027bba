/**
 * What `trust verify` and `trust verify-manifests` share: one image through the gate
 * (lib/gate), its answer as the documented JSON entry and exit code, and its text lines.
 */
import { OcitrustError } from '../lib/errors/index.js';
import { formatReference, normalizeRepository, parseReference, type ImageReference } from '../lib/reference.js';
import type { ImageRuleOptions, Policy } from '../lib/policy/types.js';
import type { VerifyPolicyOptions } from '../lib/verify/policy.js';
import { formatPlatform, type parsePlatform, type ReferenceVerification } from '../lib/usecases/verify.js';
import { planUnderPolicy, ruleRootBytes } from '../lib/usecases/policy-verify.js';
import type { CollectionTrust } from '../lib/usecases/trust.js';
import { createGate, exitOfCode, mainFailure, type GateAnswer } from '../lib/gate/index.js';
import type { CliContext } from './context.js';
import { allowOfflineRegistry } from './offline-state.js';
import type { Style } from './output.js';

/** One entry of `verify -o json` (`{"results":[…]}`). */
export interface VerifyJson {
  reference: string;
  digest: string;
  verified: boolean;
  signatures: SignatureJson[];
  failures: { code: string; message: string }[];
  children?: (VerifyJson & { platform?: string })[];
  /** With --policy: the rule's mode when it is not enforce (`warn`, `skip`), or `unmatched`. */
  policy?: { rule?: string; mode: 'enforce' | 'warn' | 'skip' | 'unmatched-allow' | 'deny' };
}

/**
 * One signature that counted. `format` is `ocitrust` for our own, else the scheme's (`cosign`,
 * `sigstore-bundle`, `notation`, `notary-v1`); `identity` names a certificate signer.
 */
export interface SignatureJson {
  role: string;
  keyid: string;
  signedAt: string;
  format: string;
  identity?: { subject?: string; issuer?: string };
}

/** A signature for the text output: `role (key, time)`, or `format subject (issuer, time)` for certificates. */
export function describeSignature(x: SignatureJson): string {
  const when = x.signedAt || 'no time';
  if (x.format === 'ocitrust') return `${x.role} (${x.keyid.slice(0, 12)}, ${when})`;
  if (x.identity?.subject !== undefined) return `${x.format} ${x.identity.subject}${x.identity.issuer ? ` from ${x.identity.issuer}` : ''} (${when})`;
  return `${x.format} key ${x.keyid.slice(0, 12)} (${when})`;
}

/** What one image came to: its JSON entry and how it bears on the exit code. */
export interface ImageOutcome {
  readonly json: VerifyJson;
  /** 0 verified (or not enforced), 1 failed, 2 input error, 3 could not decide. */
  readonly exit: 0 | 1 | 2 | 3;
}

/** The verifier's result in the documented JSON shape. */
export function toJson(r: ReferenceVerification): VerifyJson {
  return {
    reference: r.reference,
    digest: r.digest,
    verified: r.verified,
    signatures: r.signatures.map((s) => ({ role: s.role, keyid: s.keyid, signedAt: s.signedAt, format: s.format ?? 'ocitrust', ...(s.identity ? { identity: { ...s.identity } } : {}) })),
    failures: r.failures.map((f) => ({ code: f.code, message: f.message })),
    ...(r.children ? { children: r.children.map((c) => ({ ...toJson(c), ...(c.platform ? { platform: formatPlatform(c.platform) } : {}) })) } : {}),
  };
}

/** The failure that explains a verdict best: a specific one before the NO_SIGNATURES summary. */
export const mainReason = mainFailure;

/** Options of {@link verifyOne}. */
export interface VerifyOneOptions {
  readonly policyFile?: Policy;
  readonly flags?: VerifyPolicyOptions;
  readonly root?: Uint8Array;
  readonly platform?: ReturnType<typeof parsePlatform>;
  /** Verify a mirror (or copy) as the original repository: its collection, its statements. */
  readonly mirrorOf?: string;
  /** The trust collection (default: the image's repository). */
  readonly collection?: string;
  /** `--offline`: verify against the persisted trust data without contacting the trust server. */
  readonly offline?: boolean;
  /**
   * `--notary-server URL --root FILE`: verify Docker Content Trust (Notary v1) signatures
   * instead of ocitrust's (a `notaryV1` rule block, validated by its scheme).
   */
  readonly notaryV1?: Readonly<Record<string, unknown>>;
}

/**
 * Verifies one image for `trust verify` and `trust verify-manifests` through the gate
 * (lib/gate): planned under the policy file when there is one, else under the command line's
 * flags; trust from this home (first use pinned and persisted, `--offline`). The gate's answer
 * becomes the JSON entry and the exit code; errors are answers too, so one unreachable
 * registry does not hide the other images' verdicts.
 */
export async function verifyOne(ctx: CliContext, image: string | ImageReference, o: VerifyOneOptions): Promise<ImageOutcome> {
  const shown = typeof image === 'string' ? image : formatReference(image);
  // Trust openings of this image by their arguments: the one started early below is the one
  // the gate's refresh then awaits (not a second opening after a failed first).
  const opening = new Map<string, Promise<CollectionTrust>>();
  const openFor = (rule: ImageRuleOptions): Promise<CollectionTrust> => {
    let root: Uint8Array | undefined;
    try {
      root = rule.root ? ruleRootBytes(rule)! : o.root;
    } catch (e) {
      return Promise.reject(e);
    }
    const opts = {
      ...(root ? { root } : {}),
      ...(rule.server ? { server: rule.server } : {}),
      ...(o.offline ? { offline: true } : {}),
      ...(rule.trustMaxAgeSeconds !== undefined ? { maxCacheAgeSeconds: rule.trustMaxAgeSeconds } : {}),
    };
    const key = JSON.stringify([rule.collection, opts.server ?? null, root ? Buffer.from(root).toString('base64') : null, opts.maxCacheAgeSeconds ?? null]);
    let p = opening.get(key);
    if (!p) opening.set(key, (p = ctx.openTrust(rule.collection, opts)));
    return p;
  };
  let ref: ImageReference | undefined;
  let rule: ImageRuleOptions | undefined;
  let invalid: OcitrustError | undefined;
  try {
    // Parsed once: the gate and the command line's rule get the same reference.
    ref = typeof image === 'string' ? parseReference(image) : image;
    rule = o.policyFile ? undefined : commandLineRule(ref, o);
  } catch (e) {
    if (!(e instanceof OcitrustError)) throw e;
    invalid = e;
  }
  // The trust data starts refreshing now, while the registry client is set up and the gate
  // reads the registry: neither needs the other (wall time max(trust, registry), not the sum).
  // Only for a rule whose verification opens it first thing anyway (ocitrust's own signatures,
  // no other scheme: lib/usecases/verify.ts); its failure is still reported where the gate
  // reports it, so the early promise is only observed here.
  const planned = ref && !invalid ? (rule ?? plannedRule(o.policyFile!, ref)) : undefined;
  if (planned && planned.ocitrust !== false && Object.keys(planned.schemes ?? {}).length === 0) openFor(planned).catch(() => undefined);
  const registry = await ctx.registry();
  const gate = createGate({
    registry,
    cache: false,
    // Schemes (Notary v1) persist their rollback state in this home, like ocitrust's trust state;
    // `--offline` also binds them (no Notation CRL fetched: only cached ones count).
    schemeEnv: { home: ctx.home.dir, ...(o.offline ? { offline: true } : {}) },
    // The CLI's user owns the registry: repair a fallback index that lost entries (DESIGN §4).
    repairIndex: true,
    ...(o.policyFile ? { policy: o.policyFile } : {}),
    trust: (r) => ({ refresh: async () => (await openFor(r)).refresh }),
  });
  try {
    if (invalid) throw invalid;
    // `--offline`: this image's registry is the one place the command may reach (cli/offline-guard.ts).
    allowOfflineRegistry(ref!.registry, registry);
  } catch (e) {
    if (!(e instanceof OcitrustError)) throw e;
    return { json: { reference: shown, digest: '', verified: false, signatures: [], failures: [{ code: e.code, message: e.message }] }, exit: exitOfCode(e.code) };
  }
  const a = await gate.check(ref!, { ...(o.platform ? { platform: o.platform } : {}), ...(rule ? { rule } : {}) });
  return toOutcome(a, shown, !!o.policyFile);
}

/** The rule the gate will verify `ref` under with a policy file, when it will verify it (pure planning). */
function plannedRule(policy: Policy, ref: ImageReference): ImageRuleOptions | undefined {
  try {
    const plan = planUnderPolicy(policy, ref);
    return plan.kind === 'verify' ? plan.options : undefined;
  } catch {
    return undefined;
  }
}

/** The rule the command line's flags make (no policy file). @throws REFERENCE_INVALID for a bad --mirror-of */
function commandLineRule(ref: ImageReference, o: VerifyOneOptions): ImageRuleOptions {
  let collection = o.collection ?? ref.repository;
  let verify: VerifyPolicyOptions = o.flags ?? {};
  if (o.mirrorOf !== undefined) {
    // Statements name the original repository; the policy maps this one back to it explicitly.
    const original = normalizeRepository(o.mirrorOf);
    collection = o.collection ?? original;
    verify = { ...verify, identityRemap: { from: ref.repository, to: original } };
  }
  if (o.notaryV1) return { rule: '', policyRevision: '', collection, verify, schemes: { notaryV1: o.notaryV1 }, ocitrust: false };
  return { rule: '', policyRevision: '', collection, verify };
}

/** The gate's answer as a JSON entry and an exit code (1 verdict, 2/3 from the failure's catalogue code). */
function toOutcome(a: GateAnswer, shown: string, withPolicy: boolean): ImageOutcome {
  if (a.mode === 'skip' || a.mode === 'unmatched-allow') {
    return { json: { reference: shown, digest: a.digest, verified: false, signatures: [], failures: [], policy: a.mode === 'skip' ? { rule: a.rule ?? '', mode: 'skip' } : { mode: 'unmatched-allow' } }, exit: 0 };
  }
  const json = toJson(a.result);
  if (a.mode === 'deny') return { json: { ...json, policy: { mode: 'deny' } }, exit: 1 };
  if (a.error) json.reference = shown;
  if (withPolicy) json.policy = { ...(a.rule ? { rule: a.rule } : {}), mode: a.mode === 'warn' ? 'warn' : 'enforce' };
  // A warn rule reports whatever failed and does not enforce it, as the services do
  // (docs/policy.md "Modes"), even when nothing could be decided.
  if (a.decision === 'warn' || a.decision === 'allow') return { json, exit: 0 };
  // An error, not a verifier's result: its catalogue code gives the exit (1, 2 or 3).
  return { json, exit: a.error ? exitOfCode(a.error.code) : 1 };
}

/** The exit code of many outcomes: could not decide (3) over input errors (2) over failures (1). */
export function combinedExit(outcomes: readonly ImageOutcome[]): number {
  for (const c of [3, 2, 1] as const) if (outcomes.some((o) => o.exit === c)) return c;
  return 0;
}

/** Text lines for one outcome. */
export function describeOutcome(o: ImageOutcome, s: Style, verbose: boolean): string {
  const j = o.json;
  const lines: string[] = [];
  const name = j.digest && !j.reference.includes('@') ? `${j.reference}@${j.digest}` : j.reference;
  if (j.policy?.mode === 'skip' || j.policy?.mode === 'unmatched-allow') {
    lines.push(`${s.dim('-')} ${name}  ${s.dim(j.policy.mode === 'skip' ? `not verified: rule ${j.policy.rule ?? ''} skips it` : 'not verified: no rule matches and the policy allows it')}`);
    return lines.join('\n');
  }
  if (o.exit >= 2) {
    const f = j.failures[0];
    lines.push(`${s.red('✗')} ${name}  ${s.red('could not be verified')}: ${f ? `${f.message} [${f.code}]` : 'no reason given'}`);
    return lines.join('\n');
  }
  if (j.verified) {
    const who = j.signatures.map(describeSignature).join(', ');
    lines.push(`${s.green('✓')} ${name}  ${s.green('verified')}  ${who}`);
  } else {
    const why = mainReason(j.failures);
    const warn = j.policy?.mode === 'warn' ? s.yellow(' (warn mode: not enforced)') : '';
    lines.push(`${s.red('✗')} ${name}  ${s.red('NOT verified')}${warn}: ${why ? `${why.message} [${why.code}]` : 'no reason given'}`);
  }
  if (verbose) {
    const main = j.verified ? undefined : mainReason(j.failures);
    for (const f of j.failures) if (f !== main) lines.push(`    ${s.dim(`${f.code}: ${f.message}`)}`);
  }
  for (const c of j.children ?? []) {
    const label = c.platform ?? c.digest;
    if (c.verified) lines.push(`    ${s.green('✓')} ${label} ${c.digest}  signed by ${c.signatures.map((x) => (x.format === 'ocitrust' ? x.role : describeSignature(x))).join(', ')}`);
    else lines.push(`    ${s.red('✗')} ${label} ${c.digest}  ${mainReason(c.failures)?.code ?? 'not verified'}`);
  }
  return lines.join('\n');
}

