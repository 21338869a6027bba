/**
 * Crash points for the crash-safety tests of the embedded registry: when the environment
 * variable OCITRUST_TEST_FAILPOINTS (comma-separated names) names a point, the process kills
 * itself with SIGKILL on reaching it, so a test can stop a real server between two steps of a
 * request (e.g. after an upload's bytes are written, before they are committed) and check what
 * a retry finds. Unset — always, outside tests — it costs one Set lookup of an empty set.
 */
const armed: ReadonlySet<string> = new Set(
  (process.env['OCITRUST_TEST_FAILPOINTS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);

/** Names of the crash points of blob uploads, in the order a finishing PUT reaches them. */
export const UPLOAD_FAILPOINTS = ['registry.upload.appended', 'registry.upload.verified', 'registry.upload.committed', 'registry.upload.linked'] as const;

/** Kills this process (SIGKILL, no clean-up) when `name` is armed. */
export function failpoint(name: (typeof UPLOAD_FAILPOINTS)[number]): void {
  if (armed.size > 0 && armed.has(name)) process.kill(process.pid, 'SIGKILL');
}
