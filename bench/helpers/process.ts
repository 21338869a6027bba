// Timing whole processes, the way a user or a script runs a CLI: from spawn to exit, stdout and
// stderr collected, with process.hrtime. The floor of any Node CLI is `node empty.js`.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One timed process run. */
export interface TimedRun {
  /** Wall time from spawn until the process exited and its output closed, in ms. */
  readonly ms: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link timeProcess}. */
export interface TimeProcessOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Text written to stdin (stdin is closed either way). */
  readonly input?: string | Buffer;
  /** Kill the process after this many ms (default 10 minutes). */
  readonly timeoutMs?: number;
}

/**
 * Runs `cmd args…` and measures its wall time. Never rejects on a non-zero exit (check `code`);
 * rejects when the program cannot be started.
 */
export function timeProcess(cmd: string, args: readonly string[], opts: TimeProcessOptions = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const p = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      clearTimeout(timer);
      resolve({ ms, code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(opts.input ?? '');
  });
}

/**
 * Like {@link timeProcess} but rejects with the command, exit code and stderr when the process
 * does not exit 0: a benchmark must not time failures.
 */
export async function timeOk(cmd: string, args: readonly string[], opts: TimeProcessOptions = {}): Promise<TimedRun> {
  const r = await timeProcess(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

let emptyScript: string | undefined;

/** Path of an empty `.js` file (created once per process) for the bare-node floor. */
export function emptyJs(): string {
  if (!emptyScript) {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-bench-empty-'));
    emptyScript = join(dir, 'empty.js');
    writeFileSync(emptyScript, '');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return emptyScript;
}

/**
 * Times one `node empty.js`: the floor of any whole-process Node CLI on this machine. With only
 * PATH and HOME, as the CLI processes of the benchmarks run: an inherited NODE_EXTRA_CA_CERTS
 * (a CA bundle parsed at start-up) would make the floor slower than the commands it is for.
 */
export function timeBareNode(): Promise<TimedRun> {
  return timeOk(process.execPath, [emptyJs()], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
}

/**
 * TCP ports a local process listens on, read from /proc (Linux): its socket inodes matched
 * against the LISTEN entries of /proc/<pid>/net/tcp{,6}. Lets a server bind port 0 and be
 * found even when it does not log the port it got.
 */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // fds come and go while we read them
    }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // fields: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …; st 0A = LISTEN
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/** Waits until `pid` listens on a TCP port and returns it (polling /proc every 10 ms). */
export async function waitForListeningPort(pid: number, timeoutMs: number, exited: () => string | undefined): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gone = exited();
    if (gone !== undefined) throw new Error(gone);
    const ports = listeningPorts(pid);
    if (ports.length > 0) return ports[0]!;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not listen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Runs `cmd args…` under GNU time (`/usr/bin/time`, Debian package `time`) and returns its CPU
 * time (user + system, ms, 10 ms resolution) and its stdout. CPU time is what a loaded machine
 * disturbs least: waiting for a core does not count. (bash's `times` was tried first: with
 * SHLVL unset in the child environment it reported ~100 ms more for a bare `node empty.js`.)
 * Rejects unless the command exits 0.
 */
export async function cpuTimeOk(cmd: string, args: readonly string[], opts: TimeProcessOptions = {}): Promise<{ cpuMs: number; stdout: string }> {
  const r = await timeProcess('/usr/bin/time', ['-f', 'ocitrust-cpu %U %S', cmd, ...args], opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
  const m = /ocitrust-cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`/usr/bin/time printed ${JSON.stringify(r.stderr.slice(-200))}`);
  return { cpuMs: (Number(m[1]) + Number(m[2])) * 1000, stdout: r.stdout };
}
