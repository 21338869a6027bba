/**
 * Hot reload of a policy file for a long-running server (the admission webhooks): the file is
 * polled (`fs.watchFile`, which follows a Kubernetes ConfigMap's symlink swap, unlike
 * `fs.watch`), re-read when its size, mtime or inode changes, and swapped in only when it
 * loads and passes the server's own checks. A broken edit keeps the last good policy and is
 * logged; it never turns into an outage or an open door. Verdict caches key on the policy's
 * revision, so a new policy is never judged with the old one's verdicts.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { loadPolicyFile } from '../lib/policy/load.js';
import type { Policy } from '../lib/policy/types.js';

/** Options of {@link watchPolicyFile}. */
export interface PolicyWatchOptions {
  /** Polling interval (ms, default 2000). */
  readonly intervalMs?: number;
  /** Extra checks a new policy must pass (the server's start-up checks); throw to refuse it. */
  readonly check?: (p: Policy) => void;
  /** Told about every reload: the new revision, or the error that kept the old policy. */
  readonly onReload?: (r: { ok: true; revision: string } | { ok: false; error: unknown }) => void;
}

/** A policy that follows its file. */
export interface WatchedPolicy {
  /** The policy in force (the last one that loaded and passed the checks). */
  get(): Policy;
  /** Re-reads the file now; true when a new policy is in force. */
  reload(): Promise<boolean>;
  /** Stops polling. */
  stop(): void;
}

/**
 * Follows `path`, starting from `initial` (already loaded and checked by the caller).
 * @example const w = watchPolicyFile('/etc/ocitrust/policy.yaml', await loadPolicyFile(path)); w.get();
 */
export function watchPolicyFile(path: string, initial: Policy, o: PolicyWatchOptions = {}): WatchedPolicy {
  let current = initial;
  let running: Promise<boolean> | undefined;
  const reload = (): Promise<boolean> => {
    // One read at a time; a change seen meanwhile is picked up by the next poll.
    running ??= (async () => {
      try {
        const next = await loadPolicyFile(path);
        if (next.revision === current.revision) return false;
        o.check?.(next);
        current = next;
        o.onReload?.({ ok: true, revision: next.revision });
        return true;
      } catch (error) {
        o.onReload?.({ ok: false, error });
        return false;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const listener = (now: Stats, before: Stats): void => {
    if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) void reload();
  };
  // persistent: false — a watched file must not keep a stopping server alive.
  watchFile(path, { interval: o.intervalMs ?? 2000, persistent: false }, listener);
  return {
    get: () => current,
    reload,
    stop: () => unwatchFile(path, listener),
  };
}
