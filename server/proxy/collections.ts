/**
 * Which of the trust server's collections covers a repository, for pull enforcement without a
 * policy file: the repository's own collection, or the longest prefix collection.
 */
import type { Clock } from '../../lib/clock.js';
import type { LocalTrustStore as GateTrustStore } from '../../lib/gate/index.js';
import type { ImageRuleOptions } from '../../lib/policy/types.js';
import { isCollectionName } from '../names.js';

/** The part of the trust server's TrustService that enforcement reads: the gate's store, plus "is there such a collection". */
export interface LocalTrustStore extends GateTrustStore {
  /** Versions of a collection, or null when there is no such collection. */
  info(name: string): Promise<{ readonly versions: { readonly root: number; readonly targets: number } } | null>;
}

/** Prefixes of a repository name at segment boundaries, longest first (`a/b/c`, `a/b`, `a`). */
export function collectionCandidates(repository: string): string[] {
  const segs = repository.split('/');
  const out: string[] = [];
  for (let n = segs.length; n >= 1; n--) out.push(segs.slice(0, n).join('/'));
  return out.filter(isCollectionName);
}

/** Finds the covering collection, reusing "is there such a collection" answers for `ttlMs`. */
export class CollectionFinder {
  readonly #known = new Map<string, { exists: boolean; at: number }>();
  readonly #store: Pick<LocalTrustStore, 'info'>;
  readonly #clock: Clock;
  readonly #ttl: number;

  constructor(store: Pick<LocalTrustStore, 'info'>, clock: Clock, ttlMs: number) {
    this.#store = store;
    this.#clock = clock;
    this.#ttl = ttlMs;
  }

  async #exists(name: string): Promise<boolean> {
    const now = this.#clock.now().getTime();
    const hit = this.#known.get(name);
    if (hit && now - hit.at < this.#ttl) return hit.exists;
    const exists = (await this.#store.info(name)) !== null;
    if (this.#known.size > 10_000) this.#known.clear();
    this.#known.set(name, { exists, at: now });
    return exists;
  }

  /** The covering collection's name, or undefined. @throws what the store throws */
  async find(repository: string): Promise<string | undefined> {
    for (const c of collectionCandidates(repository)) if (await this.#exists(c)) return c;
    return undefined;
  }

  /** The rule enforcing the covering collection (the gate's `defaultRule`), or undefined: pass. */
  async rule(repository: string): Promise<ImageRuleOptions | undefined> {
    const collection = await this.find(repository);
    return collection === undefined ? undefined : { rule: `collection ${collection}`, policyRevision: 'collections', collection, verify: {} };
  }

  /** Collection `name` changed: ask again. */
  forget(name: string): void {
    this.#known.delete(name);
  }
}
