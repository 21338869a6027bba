import { assertArg } from '../errors/index.js';
import { compareSpecificity, matchPattern, type ImagePattern } from './pattern.js';
import type { IdentityRemap, NamespaceSelector, Policy, PolicyRule, Resolution, ResolveContext } from './types.js';

function globToRegex(glob: string): RegExp {
  return new RegExp('^' + glob.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

/** True when a glob (only `*` is special; it matches any run of characters) matches `s`. */
export function matchGlob(glob: string, s: string): boolean {
  return glob.includes('*') ? globToRegex(glob).test(s) : glob === s;
}

/**
 * True when the selector admits the namespace. Names and labels must both match when both
 * are given. Without a namespace (e.g. `trust verify` on a bare reference) no selector matches,
 * so namespace-restricted rules never apply by accident.
 */
export function namespaceMatches(sel: NamespaceSelector, ctx: ResolveContext): boolean {
  if (ctx.namespace === undefined) return false;
  const ns = ctx.namespace;
  if (sel.names && !sel.names.some((g) => matchGlob(g, ns))) return false;
  if (sel.labels) {
    const have = ctx.labels ?? {};
    for (const [k, v] of Object.entries(sel.labels)) if (have[k] !== v) return false;
  }
  return true;
}

/**
 * Applies identity remaps to a repository (the first whose `from` is the repository or a
 * prefix of it ending at a segment boundary): `from/rest` → `to/rest`; otherwise unchanged.
 * Same rule as lib/verify `expectedSubjectName`.
 */
export function remapRepository(repository: string, remap: IdentityRemap | readonly IdentityRemap[] | undefined): string {
  const list: readonly IdentityRemap[] = remap === undefined ? [] : Array.isArray(remap) ? remap : [remap as IdentityRemap];
  for (const r of list) {
    if (repository === r.from) return r.to;
    if (repository.startsWith(r.from + '/')) return r.to + repository.slice(r.from.length);
  }
  return repository;
}

interface Candidate {
  rule: PolicyRule;
  pattern: ImagePattern;
}

function better(a: Candidate, b: Candidate): boolean {
  const s = compareSpecificity(a.pattern, b.pattern);
  if (s !== 0) return s > 0;
  // Same pattern specificity: a rule restricted to namespaces is the more specific one.
  const an = a.rule.namespaces ? 1 : 0;
  const bn = b.rule.namespaces ? 1 : 0;
  if (an !== bn) return an > bn;
  return a.rule.index < b.rule.index;
}

/**
 * Chooses the rule for one image and computes its verifier options (rule settings over
 * `defaults`). Pure: no I/O, so callers (admission, CLI) evaluate skip and deny decisions
 * before touching the network.
 *
 * Which rule wins (docs/policy.md): among rules whose `namespaces` selector admits the
 * context (or that have none), the most specific matching pattern — exact name; the catch-all
 * `**` last; then longer literal prefix, fewer wildcards, fewer `**`, more literal characters;
 * then a rule with a namespace selector over one without; then the earlier rule in the file.
 *
 * @param repository normalized repository, `host[:port]/path` (no tag, no digest)
 * @throws OcitrustError INVALID_ARGUMENT when `repository` is not a string
 * @example resolvePolicy(policy, 'registry.example.com/team/app', { namespace: 'prod' })
 */
export function resolvePolicy(policy: Policy, repository: string, ctx: ResolveContext = {}): Resolution {
  assertArg(typeof policy === 'object' && policy !== null && Array.isArray(policy.rules), 'policy', 'a Policy (parsePolicy / loadPolicyFile)', policy);
  assertArg(typeof ctx === 'object' && ctx !== null, 'ctx', 'object {namespace?, labels?}', ctx);
  assertArg(typeof repository === 'string' && repository.length > 0, 'repository', 'a normalized repository name', repository);
  let best: Candidate | undefined;
  for (const rule of policy.rules) {
    if (rule.namespaces && !namespaceMatches(rule.namespaces, ctx)) continue;
    for (const pattern of rule.images) {
      if (!matchPattern(pattern, repository)) continue;
      const cand = { rule, pattern };
      if (!best || better(cand, best)) best = cand;
    }
  }
  if (!best) return { kind: 'unmatched', decision: policy.unmatched };

  const d = policy.defaults;
  const r = best.rule;
  const pick = <K extends keyof typeof d>(k: K): (typeof d)[K] => (r[k] !== undefined ? r[k] : d[k]);
  const identityRemap = pick('identityRemap');
  const root = pick('root');
  const server = pick('server');
  const requiredRoles = pick('requiredRoles');
  const clockSkewSeconds = pick('clockSkewSeconds');
  const maxSignatures = pick('maxSignatures');
  const trustMaxAgeSeconds = pick('trustMaxAgeSeconds');
  const verify = Object.freeze({
    bindTag: pick('bindTag') ?? false,
    multiArch: pick('multiArch') ?? 'index',
    ...(requiredRoles !== undefined ? { requiredRoles } : {}),
    ...(identityRemap !== undefined ? { identityRemap } : {}),
    ...(clockSkewSeconds !== undefined ? { clockSkewSeconds } : {}),
    ...(maxSignatures !== undefined ? { maxSignatures } : {}),
  });
  return {
    kind: 'rule',
    rule: r,
    pattern: best.pattern.text,
    mode: pick('mode') ?? 'enforce',
    denyTags: pick('denyTags') ?? [],
    options: Object.freeze({
      rule: r.name,
      policyRevision: policy.revision,
      collection: pick('collection') ?? remapRepository(repository, identityRemap),
      ...(root !== undefined ? { root } : {}),
      ...(server !== undefined ? { server } : {}),
      ...(trustMaxAgeSeconds !== undefined ? { trustMaxAgeSeconds } : {}),
      verify,
      ...(r.schemes !== undefined ? { schemes: r.schemes } : {}),
      ...(r.ocitrust !== undefined ? { ocitrust: r.ocitrust } : {}),
      ...(r.require !== undefined ? { require: r.require } : {}),
    }),
  };
}

/**
 * The tag an image is deployed by: the written tag, or `latest` when neither tag nor digest
 * is written (distribution reference rule); undefined for a digest-only reference.
 */
export function effectiveTag(ref: { tag?: string | undefined; digest?: string | undefined }): string | undefined {
  return ref.tag ?? (ref.digest ? undefined : 'latest');
}

/** The `denyTags` glob that refuses `tag`, if any. */
export function deniedTagGlob(denyTags: readonly string[], tag: string | undefined): string | undefined {
  if (tag === undefined) return undefined;
  return denyTags.find((g) => matchGlob(g, tag));
}
