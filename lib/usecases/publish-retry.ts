/**
 * Re-read, re-apply, publish again: how administrative commands survive concurrent publishers
 * (issue 12, item 15). A publish that loses the race for the next version
 * (PUBLISH_VERSION_CONFLICT) is rebuilt on the version that won and sent again, after a short
 * random pause (full jitter, growing exponentially) so that many racing commands spread out
 * instead of colliding again in lock step.
 *
 * A change is only re-applied when what it was based on is still as it was: the caller names
 * that part (`watch`, e.g. the signer it edits), and when another publisher changed it in the
 * meantime the command stops with PUBLISH_CHANGE_CONFLICT instead of silently overwriting it.
 */
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { canonicalJson } from '../crypto/canonical.js';

/** Options of {@link retryOnVersionConflict}. */
export interface PublishRetryOptions {
  /** Most publish attempts in all (default {@link DEFAULT_PUBLISH_ATTEMPTS}). */
  readonly attempts?: number;
  /** First pause ceiling in ms (default 50); doubles per attempt up to `maxDelayMs`. */
  readonly baseDelayMs?: number;
  /** Largest pause ceiling in ms (default 2000). */
  readonly maxDelayMs?: number;
  /** Pause implementation (tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform random number in [0, 1) (tests). */
  readonly random?: () => number;
}

/**
 * Default publish attempts of an administrative command. A PUBLISH_VERSION_CONFLICT means
 * another publisher's change landed, so a command racing N others loses at most N times before
 * it is alone: the bound must exceed the number of concurrent administrators, not a guess at
 * bad luck. 10 was too few: 20 concurrent `trust signer add` on a loaded 2-core CI machine
 * exhausted it (one of them lost 10 times in a row). 32 covers 31 concurrent writers of one
 * collection; the pauses stay capped at 2 s each.
 */
export const DEFAULT_PUBLISH_ATTEMPTS = 32;

/** The pause before attempt `attempt` (2, 3, …): uniform in [0, min(max, base·2^(attempt-2))]. */
export function retryDelayMs(attempt: number, o: Pick<PublishRetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'> = {}): number {
  const ceiling = Math.min(o.maxDelayMs ?? 2000, (o.baseDelayMs ?? 50) * 2 ** Math.max(0, attempt - 2));
  return Math.floor((o.random ?? Math.random)() * ceiling);
}

/**
 * Runs `attempt(n)` (n = 1, 2, …) until it does not fail with PUBLISH_VERSION_CONFLICT, at most
 * `attempts` times, pausing with jitter in between. Every other error, PUBLISH_CHANGE_CONFLICT
 * included, ends the loop at once. Each attempt must re-read what it changes.
 *
 * @throws the last PUBLISH_VERSION_CONFLICT when every attempt lost, or the first other error
 */
export async function retryOnVersionConflict<T>(attempt: (n: number) => Promise<T>, o: PublishRetryOptions = {}): Promise<T> {
  const attempts = o.attempts ?? DEFAULT_PUBLISH_ATTEMPTS;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let n = 1; ; n++) {
    if (n > 1) await sleep(retryDelayMs(n, o));
    try {
      return await attempt(n);
    } catch (e) {
      if (!isOcitrustError(e, 'PUBLISH_VERSION_CONFLICT') || n >= attempts) throw e;
    }
  }
}

/**
 * Remembers the part of the state a change is based on (read on the first attempt) and what
 * the change makes of it, and on every later attempt refuses to go on when that part is now
 * neither: another publisher changed the same thing differently, and re-applying this change
 * would undo theirs. Finding it already as this change would leave it (the same change made
 * by someone else, or an earlier attempt of ours that did land) is not a conflict.
 *
 * @example const base = changeBase(`signer alice of ${c}`); base.check(aliceOf(t)); base.intend(aliceOf(change(t)))
 */
export function changeBase(what: string): { check(current: unknown): void; intend(result: unknown): void } {
  let base: string | undefined;
  let intended: string | undefined;
  return {
    check(current: unknown): void {
      const json = canonicalJson(current ?? null);
      if (base === undefined) {
        base = json;
        return;
      }
      if (json !== base && json !== intended) {
        throw new OcitrustError(
          'PUBLISH_CHANGE_CONFLICT',
          `${what} was changed by someone else while this command ran (expected ${clip(base)}, got ${clip(json)}); nothing was published — check the current state and run the command again`,
        );
      }
    },
    intend(result: unknown): void {
      intended ??= canonicalJson(result ?? null);
    },
  };
}

function clip(s: string): string {
  return s.length <= 300 ? s : `${s.slice(0, 299)}…`;
}
