/**
 * The five faces of "decide one image under a policy" (issue 13), each asked through its
 * external interface only, and each answer normalized to {@link Outcome}:
 *
 * - `library`: the public library API (lib/index.ts): createGate and gate.check, trust from a home (openCollection);
 * - `verify`: the shipped `trust verify -o json --policy FILE IMAGE` (dist bundle, child process);
 * - `manifests`: the shipped `trust verify-manifests -o json --policy FILE pod.yaml`;
 * - `admission`: POST of an AdmissionReview to the validating webhook (HTTPS);
 * - `proxy`: a manifest GET through the verifying proxy (200 or 403).
 *
 * Faces that cannot express a distinction collapse it ({@link collapse}): a 200 from the proxy
 * is "allow" whether the rule verified, warned or skipped; an admitted Pod is "allow" whether
 * verified or skipped. A refusal whose code the error catalogue classifies as exit 3 is
 * "could not decide" (`undecided`) on the faces that only say "refused".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOGUE, OcitrustHome, canonicalBytes, createGate, openCollection, parseReference, type Policy, type RegistryClient } from '../../lib/index.js';
import { podReview } from './admission-review.js';
import { CliSession, type TrustRun } from './cli.js';

/** A face's decision: the four policy decisions, and "could not decide" (fail closed). */
export type Decision = 'allow' | 'deny' | 'warn' | 'skip' | 'undecided';

/** The faces, in table order. */
export const FACES = ['library', 'verify', 'manifests', 'admission', 'proxy'] as const;
export type Face = (typeof FACES)[number];

/** One face's answer, normalized. `codes` in the face's order; the first is the main one. */
export interface Outcome {
  readonly decision: Decision;
  readonly codes: readonly string[];
  /** What the face said, for messages. */
  readonly raw: string;
}

/** What a face can tell apart: the expected canonical decision as that face can show it. */
export function collapse(face: Face, d: Decision): Decision {
  if (face === 'proxy' && (d === 'warn' || d === 'skip')) return 'allow';
  if (face === 'admission' && d === 'skip') return 'allow';
  return d;
}

/** Whether a face reports failure codes for a decision (the proxy says nothing on a 200). */
export function reportsCodes(face: Face, d: Decision): boolean {
  if (d === 'allow' || d === 'skip') return false;
  if (face === 'proxy' && d === 'warn') return false;
  return true;
}

function refusal(code: string | undefined): Decision {
  const spec = code !== undefined && Object.prototype.hasOwnProperty.call(CATALOGUE, code) ? (CATALOGUE as Record<string, { exit: number }>)[code] : undefined;
  return spec && spec.exit !== 1 ? 'undecided' : 'deny';
}

/**
 * The library face: the public gate (createGate, gate.check) with trust from a home, as a
 * library user on a workstation has it (first use persisted, as the CLI; `trustMaxAgeSeconds`).
 */
export async function libraryFace(o: { policy: Policy; image: string; home: OcitrustHome; registry: RegistryClient }): Promise<Outcome> {
  const gate = createGate({
    registry: o.registry,
    policy: o.policy,
    cache: false,
    trust: (rule) => ({
      refresh: async () =>
        (
          await openCollection({
            home: o.home,
            collection: rule.collection,
            server: rule.server!,
            ...(rule.root?.metadata ? { root: canonicalBytes(rule.root.metadata) } : {}),
            ...(rule.trustMaxAgeSeconds !== undefined ? { maxCacheAgeSeconds: rule.trustMaxAgeSeconds } : {}),
          })
        ).refresh,
    }),
  });
  const a = await gate.check(o.image);
  const codes = a.result.failures.map((f) => f.code);
  const raw = `${a.decision}/${a.outcome} ${JSON.stringify(a.result.failures.map((f) => `${f.code}: ${f.message}`))}`;
  if (a.decision === 'deny' && a.outcome === 'inconclusive') return { decision: 'undecided', codes, raw };
  return { decision: a.decision, codes, raw };
}

interface CliResult {
  readonly verified: boolean;
  readonly failures: readonly { code: string; message: string }[];
  readonly policy?: { mode?: string };
}

function fromCli(run: TrustRun, result: CliResult | undefined): Outcome {
  const raw = `exit ${run.code} ${run.stdout.trim().slice(0, 600)} ${run.stderr.trim().slice(0, 300)}`;
  if (!result) return { decision: 'undecided', codes: ['CLI_NO_RESULT'], raw };
  const codes = result.failures.map((f) => f.code);
  const mode = result.policy?.mode;
  if (mode === 'skip') return { decision: 'skip', codes, raw };
  if (mode === 'unmatched-allow') return { decision: 'allow', codes, raw };
  if (run.code === 0) return { decision: result.verified ? 'allow' : mode === 'warn' ? 'warn' : 'undecided', codes, raw };
  if (run.code === 1) return { decision: 'deny', codes, raw };
  return { decision: 'undecided', codes, raw };
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `trust verify -o json --policy FILE IMAGE`, the shipped bundle. */
export async function verifyFace(s: CliSession, policyFile: string, image: string): Promise<Outcome> {
  const run = await s.run(['verify', '-o', 'json', '--policy', policyFile, image], { dist: true, timeoutMs: 90_000 });
  return fromCli(run, parseJson(run.stdout)?.results?.[0]);
}

/** `trust verify-manifests -o json --policy FILE pod.yaml` with a Pod running IMAGE. */
export async function manifestsFace(s: CliSession, policyFile: string, image: string, dir: string, name: string): Promise<Outcome> {
  const file = join(dir, `pod-${name}.yaml`);
  writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: prod}\nspec:\n  containers:\n    - name: app\n      image: "${image}"\n`);
  const run = await s.run(['verify-manifests', '-o', 'json', '--policy', policyFile, file], { dist: true, timeoutMs: 90_000 });
  return fromCli(run, parseJson(run.stdout)?.results?.[0]);
}

/** The validating webhook (`validate` posts a review to it): one Pod with the image, in namespace `prod`. */
export async function admissionFace(validate: (review: unknown) => Promise<{ status: number; text: string }>, image: string): Promise<Outcome> {
  const res = await validate(podReview({ namespace: 'prod', images: [image] }));
  const text = res.text;
  const body = parseJson(text);
  const r = body?.response;
  const raw = `${res.status} ${text.slice(0, 800)}`;
  if (res.status !== 200 || !r) return { decision: 'undecided', codes: [`HTTP_${res.status}`], raw };
  const codeIn = (m: string): string[] => [...m.matchAll(/: ([A-Z][A-Z0-9_]+): /g)].map((x) => x[1]!).slice(0, 1);
  if (r.allowed) {
    const warnings: string[] = r.warnings ?? [];
    if (warnings.length) return { decision: 'warn', codes: codeIn(warnings[0]!), raw };
    return { decision: 'allow', codes: [], raw };
  }
  const codes = codeIn(String(r.status?.message ?? ''));
  return { decision: refusal(codes[0]), codes, raw };
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A manifest GET through the verifying proxy at `proxyUrl` for `image` (`host/path:tag` or `@digest`). */
export async function proxyFace(proxyUrl: string, image: string): Promise<Outcome> {
  const ref = parseReference(image);
  const path = ref.repository.slice(ref.repository.indexOf('/') + 1);
  const res = await fetch(`${proxyUrl}/v2/${path}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`, { headers: { accept: ACCEPT } });
  const text = await res.text();
  const raw = `${res.status} ${text.slice(0, 800)}`;
  if (res.status === 200) return { decision: 'allow', codes: [], raw };
  const err = parseJson(text)?.errors?.[0];
  const outer: string | undefined = err?.code;
  const inner: string | undefined = err?.detail?.code;
  if (res.status === 403) {
    if (inner === 'PROXY_VERIFY_UNAVAILABLE' || inner === undefined) {
      // "could not verify (CODE: …)": the code of what failed is in the message.
      const m = /could not verify \(([A-Z][A-Z0-9_]+):/.exec(String(err?.message ?? ''));
      const code = m?.[1] ?? inner ?? outer ?? 'HTTP_403';
      return { decision: 'undecided', codes: [code], raw };
    }
    return { decision: refusal(inner), codes: [inner], raw };
  }
  // Other answers (502 for an upstream that cannot be asked, the upstream's own 404) could not decide.
  return { decision: 'undecided', codes: [typeof inner === 'string' ? inner : (outer ?? `HTTP_${res.status}`)], raw };
}
