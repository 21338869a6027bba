// One way for tests to run a program and collect what it wrote.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** A finished process: its exit code and everything it wrote. */
export interface ProcessRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link collectProcess}. */
export interface CollectOptions extends SpawnOptions {
  /** Written to the program's stdin, which is then closed (closed at once without it). */
  readonly input?: string;
  /** SIGKILL after this long (a hung program fails its test instead of hanging it). */
  readonly killAfterMs?: number;
  /** Sees the child first (to close its stdout, say). */
  readonly started?: (p: ChildProcess) => void;
}

/**
 * Runs `cmd args` and collects stdout and stderr until it exits; rejects only when it cannot
 * start.
 */
export function collectProcess(cmd: string, args: readonly string[], opts: CollectOptions = {}): Promise<ProcessRun> {
  const { started, input, killAfterMs, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...spawnOpts, ...(killAfterMs !== undefined ? { timeout: killAfterMs, killSignal: 'SIGKILL' } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
    started?.(p);
    p.stdin!.on('error', () => undefined); // a program that exits without reading its input
    p.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
