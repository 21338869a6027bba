/**
 * The client side of the warm verifier (cli/verify-daemon.ts), run by cli/main.ts before it loads
 * the CLI: with `OCITRUST_VERIFY_DAEMON=on`, `trust verify …` (without --offline) asks the
 * daemon of this exact environment to run it and prints its answer. When there is no daemon
 * yet it starts one in the background and returns undefined, so this call verifies in-process
 * as usual; when anything goes wrong (no answer, a refusal, a daemon that died mid-request) it
 * returns undefined as well. Nothing is printed until the daemon's whole answer arrived, so a
 * fallback never repeats output.
 */
import type childProcess from 'node:child_process';
import { lstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import type net from 'node:net';
import { dirname, join } from 'node:path';
import { codeCacheDir, isPrivateFolder, OTHERS_ANY } from './cache-dir.js';
import { quietOnClosedPipe } from './closed-pipe.js';

// node:net and node:child_process are loaded on use: every `trust` entry point imports this
// module, and only a call that goes to the warm verifier needs them (≈3 ms each to load).
const load = createRequire(import.meta.url);

/**
 * True when this command line may go to the daemon: `OCITRUST_VERIFY_DAEMON=on`, `trust verify`
 * or `trust sign`, POSIX, no --offline (it guards this process's sockets; the daemon's are not
 * this process's) and no `-` (standard input is this process's).
 */
export function daemonEligible(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (env.OCITRUST_VERIFY_DAEMON !== 'on' || env.OCITRUST_VERIFY_DAEMON_SOCKET !== undefined) return false;
  if (typeof process.getuid !== 'function' || (argv[0] !== 'verify' && argv[0] !== 'sign')) return false;
  return !argv.some((a) => a === '--offline' || a === '-');
}

/**
 * FNV-1a, 2 × 32 bits, over UTF-8 bytes: names the socket of one environment (the daemon
 * compares it exactly). The native front (native/trust-front.c) computes the same name.
 */
function envName(buildId: string, env: NodeJS.ProcessEnv): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  const text = Buffer.from([buildId, process.execPath, process.version, ...Object.keys(env).sort().map((k) => `${k}=${env[k]}`)].join('\0'));
  for (let i = 0; i < text.length; i++) {
    const c = text.readUInt8(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193 + 2);
  }
  return `${(h1 >>> 0).toString(16).padStart(8, '0')}${(h2 >>> 0).toString(16).padStart(8, '0')}`;
}

/** The socket of this environment's daemon, or undefined when there is no private place for it. */
export function daemonSocket(buildId: string, env: NodeJS.ProcessEnv): string | undefined {
  const dir = codeCacheDir(env);
  if (!dir) return undefined;
  const path = join(dir, `verify-${envName(buildId, env)}.sock`);
  // Unix socket paths are limited to 107 bytes.
  return Buffer.byteLength(path) <= 100 ? path : undefined;
}

/** True when nothing (not even a link) is at `p`. */
function absent(p: string): boolean {
  try {
    lstatSync(p);
    return false;
  } catch {
    return true;
  }
}

/** Starts a daemon for this environment in the background (it exits when idle). */
function startDaemon(start: readonly string[], path: string): void {
  try {
    const { spawn } = load('node:child_process') as typeof childProcess;
    const child = spawn(process.execPath, [...start], { env: { ...process.env, OCITRUST_VERIFY_DAEMON_SOCKET: path }, detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no daemon: every call verifies in-process
  }
}

interface Answer {
  exit?: unknown;
  out?: unknown;
}

/**
 * Runs `argv` on the daemon. Resolves to the exit code once its output is written, or to
 * undefined when this process should verify by itself.
 * @param start the arguments that start this same `trust` (after the node binary): the bin's
 *   script, the snapshot's `--snapshot-blob B --`, nothing for the single executable
 * @param buildId names this build, so another build gets its own daemon
 */
export function verifyViaDaemon(start: readonly string[], buildId: string, argv: readonly string[]): Promise<number | undefined> {
  const path = daemonSocket(buildId, process.env);
  if (!path) return Promise.resolve(undefined);
  const dir = dirname(path);
  if (!isPrivateFolder(dir, OTHERS_ANY)) {
    // The daemon creates its folder private; a folder that exists and is not private is never used.
    if (absent(dir)) startDaemon(start, path);
    return Promise.resolve(undefined);
  }
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    // The working folder is gone: let the in-process run report it as it always has.
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const sock = (load('node:net') as typeof net).connect(path);
    let data = '';
    let settled = false;
    const done = (v: number | undefined): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(v);
    };
    sock.setEncoding('utf8');
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') startDaemon(start, path);
      done(undefined);
    });
    sock.on('connect', () => {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
      sock.write(`${JSON.stringify({ v: 1, argv, env, cwd, stdoutTTY: process.stdout.isTTY === true, stderrTTY: process.stderr.isTTY === true })}\n`);
    });
    sock.on('data', (chunk: string) => {
      data += chunk;
    });
    sock.on('close', () => {
      let a: Answer;
      try {
        a = JSON.parse(data) as Answer;
      } catch {
        return done(undefined);
      }
      // An exit code a process can have (the native front checks the same).
      const exit = a.exit;
      if (typeof exit !== 'number' || !Number.isInteger(exit) || exit < 0 || exit > 255 || !Array.isArray(a.out)) return done(undefined);
      for (const item of a.out as unknown[]) {
        if (!Array.isArray(item) || (item[0] !== 1 && item[0] !== 2) || typeof item[1] !== 'string') return done(undefined);
      }
      // A reader that went away (`trust verify … | head -1`) ends the call quietly with the
      // verifier's exit code, as the native front does, not with Node's stack trace for EPIPE.
      process.exitCode = exit;
      const streams = { 1: quietOnClosedPipe(process.stdout), 2: quietOnClosedPipe(process.stderr) };
      for (const [fd, text] of a.out as [1 | 2, string][]) streams[fd].write(text);
      if (process.env.OCITRUST_DEBUG === '1') process.stderr.write(`trust: debug: answered by the verify daemon at ${path}\n`);
      done(exit);
    });
  });
}

/** How a `trust` entry point runs a command line (cli/main.ts, cli/snapshot.ts). */
export interface EntryPoint {
  /** The arguments that start this same build again, and its name (see {@link verifyViaDaemon}). */
  self(): { start: string[]; buildId: string };
  /** Serves as the warm verifier on `socket`. */
  serve(socket: string): void;
  /** Runs the command line in this process. */
  inProcess(): void;
}

/**
 * Runs `argv` the way every `trust` build does: as the warm verifier when a client started this
 * process for that (OCITRUST_VERIFY_DAEMON_SOCKET), through the warm verifier when the command
 * line may go to it ({@link daemonEligible}), else in-process — also when the warm verifier
 * gives no answer.
 */
export function runEntryPoint(argv: readonly string[], entry: EntryPoint): void {
  const socket = process.env.OCITRUST_VERIFY_DAEMON_SOCKET;
  if (socket) return entry.serve(socket);
  if (!daemonEligible(argv, process.env)) return entry.inProcess();
  const { start, buildId } = entry.self();
  void verifyViaDaemon(start, buildId, argv).then((code) => {
    if (code === undefined) entry.inProcess();
    else process.exitCode = code;
  });
}
