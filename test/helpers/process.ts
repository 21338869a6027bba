// One way for tests to run a program and collect what it wrote.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** A finished process: its exit code and everything it wrote. */
export interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `cmd args` with stdin closed and collects stdout and stderr until it exits; rejects only
 * when it cannot start. `started` sees the child first (to close its stdout, say).
 */
export function collectProcess(cmd: string, args: readonly string[], opts: SpawnOptions & { started?: (p: ChildProcess) => void } = {}): Promise<ProcessRun> {
  const { started, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
    started?.(p);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
