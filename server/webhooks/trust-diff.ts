/**
 * The trust events a publish implies, derived inside the publish transaction by comparing the
 * current root/targets with the ones being committed: signers added and removed, keys rotated
 * (a role whose key set changed), revocations added, and the publish itself.
 */
import type { Metadata } from '../../lib/metadata/metadata.js';
import type { Root } from '../../lib/metadata/root.js';
import type { Targets } from '../../lib/metadata/targets.js';
import type { EventInput } from './events.js';

/** Who published, as the events name them (never a token secret). */
export interface Publisher {
  readonly actor: string;
  readonly tokenId: string | null;
}

const sorted = (a: Iterable<string>): string[] => [...a].sort();

function keyChange(role: string, before: readonly string[], after: readonly string[], extra: Record<string, unknown>): Record<string, unknown> | null {
  const b = new Set(before);
  const a = new Set(after);
  const added = sorted(after.filter((k) => !b.has(k)));
  const removed = sorted(before.filter((k) => !a.has(k)));
  if (added.length === 0 && removed.length === 0) return null;
  return { role, keyidsAdded: added, keyidsRemoved: removed, keyids: sorted(a), ...extra };
}

/**
 * The events of committing `next` over `current` in `collection` (without audit ids; the caller
 * adds them). Order: key and signer changes, revocations, then `targets.published`.
 */
export function publishEvents(
  collection: string,
  current: { root: Metadata<Root> | null; targets: Metadata<Targets> | null },
  next: { root?: Metadata<Root> | null | undefined; targets?: Metadata<Targets> | null | undefined },
  who: Publisher,
): Omit<EventInput, 'auditId'>[] {
  const out: Omit<EventInput, 'auditId'>[] = [];
  const by = { publishedBy: who.actor, tokenId: who.tokenId };
  if (next.root && current.root) {
    for (const [name, role] of next.root.signed.roles) {
      const old = current.root.signed.roles.get(name);
      const c = keyChange(name, old?.keyids ?? [], role.keyids, { threshold: role.threshold, rootVersion: next.root.signed.version, ...by });
      if (c) out.push({ name: 'key.rotated', collection, data: c });
    }
  }
  if (next.targets) {
    const before = new Map((current.targets?.signed.roles ?? []).map((r) => [r.name, r]));
    const after = new Map(next.targets.signed.roles.map((r) => [r.name, r]));
    for (const [name, r] of after) {
      const old = before.get(name);
      if (!old) {
        out.push({ name: 'signer.added', collection, data: { signer: name, keyids: sorted(r.keyids), threshold: r.threshold, paths: [...r.paths], targetsVersion: next.targets.signed.version, ...by } });
        continue;
      }
      const c = keyChange(name, old.keyids, r.keyids, { threshold: r.threshold, targetsVersion: next.targets.signed.version, ...by });
      if (c) out.push({ name: 'key.rotated', collection, data: c });
    }
    for (const [name, r] of before) {
      if (!after.has(name)) out.push({ name: 'signer.removed', collection, data: { signer: name, keyids: sorted(r.keyids), targetsVersion: next.targets.signed.version, ...by } });
    }
    const key = (v: { digest: string; role?: string | undefined; envelope?: string | undefined; reason: string }): string => JSON.stringify([v.digest, v.role ?? null, v.envelope ?? null, v.reason]);
    const had = new Set((current.targets?.signed.revocations ?? []).map(key));
    for (const rv of next.targets.signed.revocations ?? []) {
      if (had.has(key(rv))) continue;
      out.push({
        name: 'signature.revoked',
        collection,
        data: {
          digest: rv.digest,
          ...(rv.role !== undefined ? { role: rv.role } : {}),
          ...(rv.envelope !== undefined ? { envelope: rv.envelope } : {}),
          reason: rv.reason,
          ...(rv.revokedAt !== undefined ? { revokedAt: rv.revokedAt } : {}),
          targetsVersion: next.targets.signed.version,
          ...by,
        },
      });
    }
    out.push({
      name: 'targets.published',
      collection,
      data: { version: next.targets.signed.version, previousVersion: current.targets?.signed.version ?? 0, ...(next.root ? { rootVersion: next.root.signed.version } : {}), ...by },
    });
  }
  return out;
}
