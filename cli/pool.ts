/**
 * Runs `f` over `items` with at most `limit` in flight, keeping the order of results (bulk
 * `sign`, `verify`, `verify-manifests`). `f` should not throw; a throw rejects the whole run.
 */
export async function pool<T, R>(items: readonly T[], limit: number, f: (t: T, index: number) => Promise<R>, onDone?: () => void): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!, i);
      onDone?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Default number of images in flight for bulk commands. */
export const DEFAULT_CONCURRENCY = 8;
