/**
 * The warm verifier (issue 20), opt-in with `OCITRUST_VERIFY_DAEMON=on`: a `trust` process that
 * stays up between `trust verify` (and `trust sign`) calls so that each call pays the start of
 * a small client plus the command with warm code, instead of loading and compiling the CLI
 * again. The clients are cli/verify-daemon-client.ts and the native front
 * (native/trust-front.c); docs/executable.md says when to use it.
 *
 * It runs exactly what the command runs in a process of its own, with nothing kept between
 * requests but compiled code, the HTTP connection pool and pure memo tables (parsed public
 * keys; an unlocked key file is remembered by the command's own key store, not across requests,
 * so every `trust sign` decrypts its key again):
 *   - one daemon per environment: it starts with the client's environment, and a request whose
 *     environment differs in any variable is refused (the client then verifies by itself), so
 *     no setting — trust server, token, home, CA bundle, proxy, time zone — can differ;
 *   - one request at a time, in the client's working folder (`process.chdir`), with the
 *     client's terminal facts (isTTY) — the state a fresh process would have; a command that
 *     wants standard input (a passphrase prompt) is refused, so that the client's own process
 *     runs it with the client's terminal; a request that
 *     finds it busy is refused at once and verified by its own process, so parallel calls
 *     stay parallel and a hung request holds up nobody;
 *   - every check runs on every request: trust data is refreshed from the trust server, the
 *     registry is read, the home's files are read and written as by the CLI.
 * The socket lives in the private cache folder (this user's alone, 0700, checked), as the code
 * cache does; anyone who can reach it could already change this user's keys and pinned roots.
 * It exits after `OCITRUST_VERIFY_DAEMON_IDLE_SECONDS` (default 300) without a request.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { OcitrustError } from '../lib/errors/index.js';
import { isPrivateFolder, OTHERS_ANY } from './cache-dir.js';
import type { CliIO } from './io.js';
import { run } from './run.js';

/** A request: one line of JSON from cli/verify-daemon-client.ts. */
interface DaemonRequest {
  readonly v: 1;
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly stdoutTTY: boolean;
  readonly stderrTTY: boolean;
}

/** The answer: the exit code and the output, in order (1 stdout, 2 stderr). */
interface DaemonAnswer {
  readonly exit?: number;
  readonly out?: [1 | 2, string][];
  readonly refused?: string;
}

const MAX_REQUEST = 1024 * 1024;
/** The commands it runs (cli/verify-daemon-client.ts daemonEligible says which calls go to it). */
const DAEMON_COMMANDS: ReadonlySet<string> = new Set(['verify', 'sign']);
const DEFAULT_IDLE_SECONDS = 300;

function sameEnv(a: Record<string, string>, b: NodeJS.ProcessEnv): boolean {
  const ak = Object.keys(a);
  const bk = Object.keys(b).filter((k) => b[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => b[k] === a[k]);
}

function parseRequest(line: string): DaemonRequest | undefined {
  try {
    const r = JSON.parse(line) as DaemonRequest;
    const ok =
      r.v === 1 &&
      Array.isArray(r.argv) &&
      r.argv.every((a) => typeof a === 'string') &&
      DAEMON_COMMANDS.has(r.argv[0] ?? '') &&
      typeof r.env === 'object' &&
      r.env !== null &&
      Object.values(r.env).every((v) => typeof v === 'string') &&
      typeof r.cwd === 'string' &&
      typeof r.stdoutTTY === 'boolean' &&
      typeof r.stderrTTY === 'boolean';
    return ok ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one request as a fresh `trust` process would. */
async function answer(req: DaemonRequest): Promise<DaemonAnswer> {
  if (!sameEnv(req.env, process.env)) return { refused: 'environment differs' };
  try {
    process.chdir(req.cwd);
  } catch {
    return { refused: 'working folder' };
  }
  const out: [1 | 2, string][] = [];
  // Standard input is the client's: a command that wants it (a passphrase prompt on the
  // client's terminal) is refused, and the client runs it in its own process, where it can.
  let wantedStdin = false;
  const io: CliIO = {
    stdout: { write: (s: string) => out.push([1, s]), isTTY: req.stdoutTTY },
    stderr: { write: (s: string) => out.push([2, s]), isTTY: req.stderrTTY },
    get stdin(): NodeJS.ReadStream {
      wantedStdin = true;
      throw new OcitrustError('CLI_USAGE', 'the verify daemon has no standard input');
    },
    env: process.env,
    cwd: req.cwd,
  };
  const exit = await run(req.argv, io);
  return wantedStdin ? { refused: 'needs standard input' } : { exit, out };
}

/** True when something (a live daemon) accepts a connection on the Unix socket `path`. */
export function alive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Serves `trust verify` requests on the Unix socket `path` until idle. Started by the client
 * (detached, with the client's environment plus OCITRUST_VERIFY_DAEMON_SOCKET, removed here).
 */
export async function serveVerifyDaemon(path: string): Promise<void> {
  delete process.env.OCITRUST_VERIFY_DAEMON_SOCKET;
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!isPrivateFolder(dir, OTHERS_ANY)) return;
  if (existsSync(path)) {
    if (await alive(path)) return;
    unlinkSync(path);
  }
  const idleMs = (Number(process.env.OCITRUST_VERIFY_DAEMON_IDLE_SECONDS) > 0 ? Number(process.env.OCITRUST_VERIFY_DAEMON_IDLE_SECONDS) : DEFAULT_IDLE_SECONDS) * 1000;
  let busy = false;
  let idle: NodeJS.Timeout | undefined;
  const server = createServer((sock: Socket) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) return sock.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.pause();
      const req = parseRequest(buf.slice(0, nl));
      // One request at a time (each changes the working folder); a client that finds the
      // daemon busy verifies by itself rather than wait (parallel `trust verify` stay parallel).
      if (!req || busy) return void sock.end(`${JSON.stringify({ refused: req ? 'busy' : 'bad request' })}\n`);
      busy = true;
      clearTimeout(idle);
      void answer(req)
        .catch((): DaemonAnswer => ({ refused: 'failed' }))
        .then((a) => {
          busy = false;
          if (!sock.destroyed) sock.end(`${JSON.stringify(a)}\n`);
          idle = setTimeout(stop, idleMs);
        });
    });
  });
  function stop(): void {
    server.close();
    try {
      unlinkSync(path);
      unlinkSync(`${path}.pid`);
    } catch {
      // already gone
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  writeFileSync(`${path}.pid`, `${process.pid}\n`, { mode: 0o600 });
  idle = setTimeout(stop, idleMs);
}
