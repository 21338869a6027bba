import { OcitrustError, isOcitrustError } from '../../lib/errors/index.js';
import type { Limits } from '../../lib/config.js';
import { Metadata } from '../../lib/metadata/metadata.js';
import type { Root } from '../../lib/metadata/root.js';
import type { Targets } from '../../lib/metadata/targets.js';

/** What the collection holds when a publish is checked. */
export interface PublishBase {
  /** Current root, null for a collection with nothing published. */
  readonly root: Metadata<Root> | null;
  /** Current targets, null for a collection with nothing published. */
  readonly targets: Metadata<Targets> | null;
}

/** What a publish will write once checked. */
export interface PublishPlan {
  /** New root, or null when root is unchanged. */
  readonly root: Metadata<Root> | null;
  /** New targets, or null when targets is unchanged. */
  readonly targets: Metadata<Targets> | null;
  /** The root in force after the publish. */
  readonly effectiveRoot: Metadata<Root>;
}

/** The server's own keys for a collection (keyids). */
export interface ServerKeyids {
  readonly snapshot: string;
  readonly timestamp: string;
}

/**
 * Checks a publish request against the collection's current metadata, in order, each step with
 * its own code (no I/O; the caller commits the plan):
 *
 * 1. parse root/targets (strict models; delegations well formed, bounded by `limits`);
 * 2. root: version succession (+1), signed by a threshold of the current root and of itself (TUF 5.3.4),
 *    unexpired, and naming this server's snapshot and timestamp keys;
 * 3. targets: version succession (+1), signed by a threshold of the targets keys of the new root, unexpired;
 *    when only root changes, the current targets must still verify under it (a root that rotates the
 *    targets keys must come with targets signed by the new keys, or clients would fail).
 *
 * @throws OcitrustError PUBLISH_EMPTY, PUBLISH_NEEDS_ROOT, PUBLISH_VERSION_CONFLICT, PUBLISH_VERSION_GAP,
 *   PUBLISH_ROOT_UNTRUSTED, PUBLISH_ROOT_SELF_SIGNATURE, PUBLISH_TARGETS_UNTRUSTED, PUBLISH_EXPIRED,
 *   PUBLISH_SERVER_KEYS_MISSING, and the METADATA_* / KEY_* / CANONICAL_JSON_UNSUPPORTED codes of parsing
 */
export function checkPublish(
  input: { root?: unknown; targets?: unknown },
  base: PublishBase,
  serverKeys: ServerKeyids,
  now: Date,
  limits: Limits,
): PublishPlan {
  const root = input.root === undefined || input.root === null ? null : Metadata.fromJSON('root', input.root, limits);
  const targets = input.targets === undefined || input.targets === null ? null : Metadata.fromJSON('targets', input.targets, limits);
  if (!root && !targets) throw new OcitrustError('PUBLISH_EMPTY', 'the request carries neither root nor targets metadata');
  if (!base.root && (!root || !targets)) {
    throw new OcitrustError('PUBLISH_NEEDS_ROOT', 'nothing is published in this collection yet: send root version 1 and targets version 1 together');
  }

  if (root) checkRoot(root, base.root, serverKeys, now);
  const effectiveRoot = root ?? base.root!;

  if (targets) {
    succession('targets', targets.signed.version, base.targets?.signed.version ?? 0);
    verifyOrThrow(effectiveRoot, 'targets', targets, 'PUBLISH_TARGETS_UNTRUSTED', 'targets is not signed by a threshold of the targets keys of root');
    if (targets.signed.isExpired(now)) throw new OcitrustError('PUBLISH_EXPIRED', `targets version ${targets.signed.version} expired at ${targets.signed.expires}`);
  } else {
    verifyOrThrow(
      effectiveRoot,
      'targets',
      base.targets!,
      'PUBLISH_TARGETS_UNTRUSTED',
      `the new root no longer trusts targets version ${base.targets!.signed.version}; publish targets signed by the new targets keys together with it`,
    );
  }
  return { root, targets, effectiveRoot };
}

function checkRoot(root: Metadata<Root>, current: Metadata<Root> | null, serverKeys: ServerKeyids, now: Date): void {
  succession('root', root.signed.version, current?.signed.version ?? 0);
  // TUF 5.3.4: N+1 must be signed by a threshold of N's root keys and by a threshold of its own.
  if (current) {
    verifyOrThrow(current, 'root', root, 'PUBLISH_ROOT_UNTRUSTED', `root version ${root.signed.version} is not signed by a threshold of the root keys of version ${current.signed.version}`);
  }
  verifyOrThrow(root, 'root', root, 'PUBLISH_ROOT_SELF_SIGNATURE', `root version ${root.signed.version} is not signed by a threshold of its own root keys`);
  if (root.signed.isExpired(now)) throw new OcitrustError('PUBLISH_EXPIRED', `root version ${root.signed.version} expired at ${root.signed.expires}`);
  for (const role of ['snapshot', 'timestamp'] as const) {
    const r = root.signed.role(role);
    // The server signs alone with one key, so the role must accept that one signature.
    if (!r.keyids.includes(serverKeys[role]) || r.threshold !== 1) {
      throw new OcitrustError(
        'PUBLISH_SERVER_KEYS_MISSING',
        `root must delegate ${role} to this server's ${role} key ${serverKeys[role].slice(0, 16)}… with threshold 1 (GET /v1/collections/<name>/keys)`,
      );
    }
  }
}

function succession(role: 'root' | 'targets', version: number, current: number): void {
  if (version <= current) {
    throw new OcitrustError('PUBLISH_VERSION_CONFLICT', `${role} version ${version} is not newer than the current version ${current}`, {
      details: { role, version, current },
    });
  }
  if (version !== current + 1) {
    throw new OcitrustError('PUBLISH_VERSION_GAP', `${role} version must be ${current + 1} (current ${current}), got ${version}`, {
      details: { role, version, current },
    });
  }
}

function verifyOrThrow(
  delegator: Metadata<Root>,
  role: 'root' | 'targets',
  delegate: Metadata,
  code: 'PUBLISH_ROOT_UNTRUSTED' | 'PUBLISH_ROOT_SELF_SIGNATURE' | 'PUBLISH_TARGETS_UNTRUSTED',
  message: string,
): void {
  try {
    delegator.verifyDelegate(role, delegate);
  } catch (e) {
    if (isOcitrustError(e, 'TUF_THRESHOLD_NOT_MET')) throw new OcitrustError(code, `${message} (${e.message})`, { cause: e });
    throw e;
  }
}
