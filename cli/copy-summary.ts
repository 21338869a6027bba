/**
 * How `trust copy`, `trust save` and `trust load` describe the signatures they carried: one
 * count, split by format, and a warning per foreign referrer left behind (issue 17).
 */
import type { CopyImageResult } from '../lib/usecases/copy.js';
import type { Output } from './output.js';

// Literal types rather than imports of lib/cosign and lib/notation: this is wording only.
const FORMATS: Readonly<Record<string, string>> = {
  'application/vnd.ocitrust.signature.v1+json': 'ocitrust',
  'application/vnd.dev.sigstore.bundle.v0.3+json': 'sigstore bundle',
  'application/vnd.cncf.notary.signature': 'notation',
};

/** `3 signature(s) [ocitrust 1, notation 1, cosign tag 1]` (the bracket only when not all are ocitrust's). */
export function signatureSummary(r: Pick<CopyImageResult, 'signatures'>): string {
  const counts = new Map<string, number>();
  for (const s of r.signatures) {
    const kind = s.mode === 'tag' ? `cosign ${s.tag?.endsWith('.att') ? 'attestation' : 'signature'} tag` : (FORMATS[s.artifactType ?? ''] ?? s.artifactType ?? 'untyped artifact');
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const plain = counts.size === 0 || (counts.size === 1 && counts.has('ocitrust'));
  return `${r.signatures.length} signature(s)${plain ? '' : ` [${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}]`}`;
}

/** Warns once per referrer that could not be read as a manifest and so did not travel. */
export function warnSkipped(out: Output, r: Pick<CopyImageResult, 'skipped' | 'source'>): void {
  for (const s of r.skipped) out.warn(`${r.source}: referrer ${s.digest} of ${s.subject} not copied (${s.code}: ${s.reason})`);
}
