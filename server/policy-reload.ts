/**
 * Hot reload of a policy file for a long-running server (the admission webhooks): the file is
 * polled (`stat`, which follows a Kubernetes ConfigMap's symlink swap, unlike `fs.watch`),
 * re-read when its size, mtime or inode differs from what it was just before the last read, and swapped in only when it
 * loads and passes the server's own checks. A broken edit keeps the last good policy and is
 * logged; it never turns into an outage or an open door. Verdict caches key on the policy's
 * revision, so a new policy is never judged with the old one's verdicts.
 */
import { stat } from 'node:fs/promises';
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
  let again = false;
  const readOnce = async (): Promise<boolean> => {
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
    }
  };
  const reload = (): Promise<boolean> => {
    // One read at a time. A change seen while a read runs may have come after that read
    // started (the poll only fires again on a *further* change), so it asks for one more
    // read: dropping it could leave a loosened policy in force after a tightening edit.
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let changed = false;
      try {
        do {
          again = false;
          if (await readOnce()) changed = true;
        } while (again);
        return changed;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  // Our own poll rather than fs.watchFile: watchFile takes its baseline asynchronously, so an
  // edit made between the caller's initial load and that baseline was never seen. Here the
  // stat is taken just before each read and compared on every tick; the first tick always
  // reads (a no-op when the revision is the same).
  let seen: string | undefined;
  let stopped = false;
  const tick = async (): Promise<void> => {
    const st = await stat(path).catch(() => undefined);
    const id = st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'missing';
    if (stopped || id === seen) return;
    seen = id;
    await reload();
  };
  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void tick().finally(() => (ticking = false));
  }, o.intervalMs ?? 2000);
  // A watched file must not keep a stopping server alive.
  timer.unref();
  return {
    get: () => current,
    reload,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
