/**
 * Verifying one image under a `notaryV1` rule (the scheme in scheme.ts imports this on first
 * use): the pinned root, the Notary client workflow, and the judgement of the tag.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { CATALOGUE } from '../errors/catalog.js';
import { failure, type VerifiedSignature, type VerifyFailure } from '../verify/result.js';
import type { SchemeInput, SchemeVerification } from '../schemes/types.js';
import { httpNotarySource, type NotarySource } from './source.js';
import { loadNotaryRepo, parseNotaryPin, type TrustedNotaryRepo } from './client.js';
import { fileStateStore, memoryStateStore, type NotaryState } from './state.js';
import type { NotaryV1Config } from './scheme.js';

/** Largest pinned root or CA file read. */
const MAX_FILE_BYTES = 256 * 1024;
/** State of services: one map per process (a service starts from its pinned root). */
const MEMORY_STATE = new Map<string, NotaryState>();

async function readBounded(path: string, what: string): Promise<Uint8Array> {
  let b: Buffer;
  try {
    b = await readFile(path);
  } catch (e) {
    throw new OcitrustError('NOTARY_ROOT_FILE_INVALID', `${what} ${path} could not be read: ${(e as Error).message}`, { cause: e });
  }
  if (b.length > MAX_FILE_BYTES) throw new OcitrustError('NOTARY_ROOT_FILE_INVALID', `${what} ${path}: expected at most ${MAX_FILE_BYTES} bytes, got ${b.length}`);
  return new Uint8Array(b);
}

/** Options of {@link verifyNotaryTag} beyond the rule's configuration. */
export interface NotaryCheckContext {
  readonly gun: string;
  readonly tag: string | undefined;
  readonly digest: string;
  readonly size: number;
  /** SHA-256 hex of the manifest bytes. */
  readonly sha256: string;
}

/**
 * Judges one tag against a verified repository: the tag must be a target of every required
 * delegation, within its paths, with the manifest's SHA-256 and size.
 */
export function judgeTag(repo: TrustedNotaryRepo, required: readonly string[], c: NotaryCheckContext): { signatures: VerifiedSignature[]; failures: VerifyFailure[] } {
  const signatures: VerifiedSignature[] = [];
  const failures: VerifyFailure[] = [];
  if (c.tag === undefined) {
    failures.push(failure('NOTARY_TARGET_MISSING', `Notary v1 signs tags: expected a tag for ${c.gun}@${c.digest}, got a digest alone`));
    return { signatures, failures };
  }
  for (const name of required) {
    const doc = name === 'targets' ? repo.targets : repo.delegations.get(name)!;
    const signers = name === 'targets' ? repo.targetsSigners : repo.delegations.get(name)!.signers;
    const delegation = repo.targets.signed.delegations.find((d) => d.name === name);
    if (delegation && !delegation.paths.some((p) => c.tag!.startsWith(p))) {
      failures.push(failure('NOTARY_TARGET_MISSING', `${name} of ${c.gun} may not sign ${c.tag} (paths ${JSON.stringify(delegation.paths).slice(0, 100)})`));
      continue;
    }
    const t = doc.signed.targets.get(c.tag);
    if (!t) {
      failures.push(failure('NOTARY_TARGET_MISSING', `${c.gun}:${c.tag} is not signed in ${name}`));
      continue;
    }
    if (t.hashes.sha256 !== c.sha256 || t.length !== c.size) {
      failures.push(failure('NOTARY_TARGET_MISMATCH', `${c.gun}:${c.tag} in ${name}: expected the registry's manifest sha256:${c.sha256} (${c.size} bytes), got sha256:${t.hashes.sha256} (${t.length} bytes)`));
      continue;
    }
    for (const keyid of signers) signatures.push({ role: name, keyid, signedAt: '', format: 'notary-v1' });
  }
  return { signatures, failures };
}

/**
 * Verifies one image under a `notaryV1` block; could-not-decide errors (exit 2/3) are thrown,
 * verdicts are failures.
 */
export async function verifyNotaryV1(config: NotaryV1Config, input: SchemeInput, source?: NotarySource): Promise<SchemeVerification> {
  const gun = config.gun ?? input.reference.repository;
  // Notary data is only ever read fresh (its timestamp expires in days): offline, nothing to decide by.
  if (input.env.offline) throw new OcitrustError('TUF_CACHE_STALE', `Notary v1 trust data of ${gun} is not kept for offline use: verify it online`);
  try {
    const pin = parseNotaryPin(await readBounded(config.root, 'pinned Notary root'), `pinned Notary root ${config.root}`);
    const ca = config.ca !== undefined ? await readBounded(config.ca, 'Notary server CA') : undefined;
    const manifest = await input.registry.getManifest(input.reference, input.digest);
    const sha256 = createHash('sha256').update(manifest.bytes).digest('hex');
    const stateKey = createHash('sha256').update(`${config.server}\n${gun}\n${pin.fingerprint}`).digest('hex');
    const store = input.env.home !== undefined ? fileStateStore(join(input.env.home, 'notary')) : memoryStateStore(MEMORY_STATE);
    const repo = await loadNotaryRepo({
      source: source ?? httpNotarySource(config.server, gun, ca ? { ca } : {}),
      gun,
      pin,
      clock: input.clock,
      delegations: config.requiredDelegations,
      state: { store, key: stateKey },
    });
    const { signatures, failures } = judgeTag(repo, config.requiredDelegations, { gun, tag: input.reference.tag, digest: input.digest, size: manifest.bytes.length, sha256 });
    return { verified: failures.length === 0 && signatures.length > 0, signatures, failures, cacheKey: `notary:${createHash('sha256').update(repo.timestamp.bytes).digest('hex')}` };
  } catch (e) {
    if (isOcitrustError(e) && CATALOGUE[e.code].exit === 1) return { verified: false, signatures: [], failures: [failure(e.code, e.message)] };
    throw e;
  }
}
