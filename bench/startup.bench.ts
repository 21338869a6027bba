// CLI start-up (issue 8 item 5, issue 20): wall time of whole processes, side by side in one run.
//
// 1. Commands that do (almost) nothing: a bare `node empty.js` (the floor of any Node CLI on this
//    machine), `notary version` (a Go binary), and `trust --version`, `--help`, `verify --help`,
//    `sign --help` — as the shipped bin (package.json "bin": the esbuild bundle of
//    scripts/build-cli.mjs), from the start-up snapshot (scripts/build-snapshot.mjs, run as
//    `node --snapshot-blob trust.blob -- …`) and as the single executable (scripts/build-exe.mjs).
// 2. The commands users time (issue 20): a warm `trust verify` (trust data cached; a trust server
//    with its embedded registry on loopback), a cold one (empty home), `trust sign`, and a warm
//    verify from a home with 1,000 pinned collections; against `node empty.js` and Notary's
//    `notary lookup` (warm and cold, notary-server + notary-signer on loopback) at N tags.
//
//   npm run build && node --import tsx bench/startup.bench.ts [--runs 15] [--sizes 1,100,1000,10000]
//   BENCH_BEFORE=path/to/trust.js BENCH_BEFORE_LABEL='commit abc1234' adds an older build of the
//   bin as a "before" column (e.g. `node scripts/build-cli.mjs --outdir dist/before` run in a
//   checkout of that commit).
//
// The bench builds the snapshot and the executable itself, into a temporary folder (the
// executable needs postject: node_modules/.bin or npx; without it that column says why).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notaryMissing, populate, manifestFor, startNotary, type NotaryClient, type NotaryService } from './notary/harness.js';
import {
  DIST_MAIN,
  PROJECT_ROOT,
  buildStaleness,
  cliMissing,
  initCollection,
  loadHomeSigner,
  pushTaggedImages,
  signInProcess,
  startOcitrust,
  TrustCli,
  type OcitrustService,
} from './helpers/ocitrust.js';
import { cpuTimeOk, emptyJs, timeOk } from './helpers/process.js';
import { stopWarmVerifiers } from '../test/helpers/cli.js';
import { fmtRatio, fmtSummary, listOption, markdownTable, median, numberOption, pairedRatios, summarize } from './helpers/stats.js';
import { environmentLine } from './harness.js';
import { createHash } from 'node:crypto';

const RUNS = numberOption('runs', 'BENCH_RUNS', 15);
const SIZES = listOption('sizes', 'BENCH_SIZES', [1, 100, 1000, 10_000]);
/** Other collections pinned in the "big home" case. */
const HOME_COLLECTIONS = 1000;
/** The unbundled entry point tsc writes (what `trust` ran before the bundle). */
const TSC_MAIN = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const log = (s: string): void => void process.stderr.write(`startup: ${s}\n`);

/** One build of `trust`: how to start it. */
interface Build {
  readonly name: string;
  readonly cmd: string;
  readonly pre: readonly string[];
  /** Added to the environment of its processes. */
  readonly env?: Readonly<Record<string, string>>;
  /** Why it cannot run here. */
  readonly missing?: string;
}

/** Builds the snapshot and the executable into `dir`; the bin, and BENCH_BEFORE when given. */
function builds(dir: string): Build[] {
  const out: Build[] = [];
  const before = process.env.BENCH_BEFORE;
  if (before) out.push({ name: `before (${process.env.BENCH_BEFORE_LABEL ?? before})`, cmd: process.execPath, pre: [before], ...(existsSync(before) ? {} : { missing: `${before} is missing` }) });
  const cliWhy = cliMissing();
  // The bin keeps its code cache (cli/code-cache.ts) outside the homes, so that a cold verify
  // (an empty home: first contact with the collection) is not also a first run of the program.
  out.push({ name: 'bin', cmd: process.execPath, pre: [DIST_MAIN], env: { XDG_CACHE_HOME: join(dir, 'xdg-bin') }, ...(cliWhy ? { missing: cliWhy } : {}) });
  out.push({ name: 'bin, no code cache', cmd: process.execPath, pre: [DIST_MAIN], env: { OCITRUST_CODE_CACHE: 'off' }, ...(cliWhy ? { missing: cliWhy } : {}) });
  out.push({ name: 'bin, warm verifier', cmd: process.execPath, pre: [DIST_MAIN], env: { XDG_CACHE_HOME: join(dir, 'xdg-daemon'), OCITRUST_VERIFY_DAEMON: 'on', OCITRUST_VERIFY_DAEMON_IDLE_SECONDS: '900' }, ...(cliWhy ? { missing: cliWhy } : {}) });
  const snap = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-snapshot.mjs'), '--outdir', join(dir, 'snapshot')], { encoding: 'utf8' });
  out.push({
    name: 'snapshot',
    cmd: process.execPath,
    pre: ['--snapshot-blob', join(dir, 'snapshot', 'trust.blob'), '--'],
    ...(snap.status === 0 ? {} : { missing: `build-snapshot failed: ${snap.stderr.trim().split('\n').pop()}` }),
  });
  const exe = join(dir, 'exe', 'trust');
  const built = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-exe.mjs'), '--out', exe], { encoding: 'utf8' });
  out.push({ name: 'executable', cmd: exe, pre: [], ...(built.status === 0 ? {} : { missing: `build-exe failed: ${built.stderr.trim().split('\n').pop()}` }) });
  // The native front (native/trust-front.c) of the bin, with the warm verifier.
  const front = join(dir, 'front', 'trust');
  const fronted = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build-front.mjs'), '--out', front], { encoding: 'utf8' });
  out.push({
    name: 'native front, warm verifier',
    cmd: front,
    pre: [],
    env: { XDG_CACHE_HOME: join(dir, 'xdg-front'), OCITRUST_VERIFY_DAEMON: 'on', OCITRUST_VERIFY_DAEMON_IDLE_SECONDS: '900' },
    ...(fronted.status === 0 ? {} : { missing: `build-front failed: ${fronted.stderr.trim().split('\n').pop()}` }),
  });
  return out;
}

const label = (b: Build): string =>
  b.name === 'bin' ? '`trust`' : b.name.startsWith('bin, ') ? `\`trust\` (${b.name.slice(5)})` : ['snapshot', 'executable'].includes(b.name) || b.name.startsWith('native front') ? `\`trust\` (${b.name})` : `\`trust\` ${b.name}`;

/** Stops the warm verifiers the daemon and front builds started. */
function stopDaemons(dir: string): void {
  for (const xdg of ['xdg-daemon', 'xdg-front']) stopWarmVerifiers(join(dir, xdg));
}

// ---------------------------------------------------------------- 1. no network

interface Case {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly missing?: string;
  /** Checks the output, so a failing command is never timed as a fast one. */
  readonly expect?: RegExp;
}

async function quiet(all: readonly Build[]): Promise<string[]> {
  const notaryWhy = notaryMissing();
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
  const cases: Case[] = [
    { name: '`node empty.js`', cmd: process.execPath, args: [emptyJs()] },
    { name: '`notary version`', cmd: 'notary', args: ['version'], expect: /notary/i, ...(notaryWhy ? { missing: notaryWhy } : {}) },
  ];
  for (const b of all.filter((x) => x.name !== 'bin, warm verifier')) {
    const m = { ...(b.missing ? { missing: b.missing } : {}), ...(b.env ? { env: b.env } : {}) };
    cases.push(
      { name: `${label(b)} \`--version\``, cmd: b.cmd, args: [...b.pre, '--version'], expect: /^\d+\.\d+\.\d+/, ...m },
      ...(b.name === 'bin' ? [{ name: `${label(b)} \`--help\``, cmd: b.cmd, args: [...b.pre, '--help'], expect: /Usage: trust/, ...m }] : []),
      { name: `${label(b)} \`verify --help\``, cmd: b.cmd, args: [...b.pre, 'verify', '--help'], expect: /Usage: trust verify/, ...m },
      { name: `${label(b)} \`sign --help\``, cmd: b.cmd, args: [...b.pre, 'sign', '--help'], expect: /Usage: trust sign/, ...m },
    );
  }
  cases.push({
    name: '`node dist/cli/main.js --version` (tsc output, not bundled)',
    cmd: process.execPath,
    args: [TSC_MAIN, '--version'],
    expect: /^\d+\.\d+\.\d+/,
    ...(existsSync(TSC_MAIN) ? {} : { missing: `${TSC_MAIN} is missing (run \`npm run build\`)` }),
  });
  const runnable = cases.filter((c) => !c.missing);
  const samples = new Map<string, number[]>(runnable.map((c) => [c.name, []]));
  // Warm the page cache once, then interleave the cases run by run.
  for (const c of runnable) await timeOk(c.cmd, c.args, { env: { ...env, ...c.env } });
  for (let r = 0; r < RUNS; r++) {
    for (const c of runnable) {
      const t = await timeOk(c.cmd, c.args, { env: { ...env, ...c.env } });
      if (c.expect && !c.expect.test(t.stdout)) throw new Error(`${c.name} printed ${JSON.stringify(t.stdout.slice(0, 200))}`);
      samples.get(c.name)!.push(t.ms);
    }
  }
  const floor = samples.get(cases[0]!.name)!;
  return [
    '### Commands without the network',
    '',
    markdownTable(
      ['command', `wall time, median (min–max) of ${RUNS}`, 'vs `node empty.js`'],
      cases.map((c) => {
        const xs = samples.get(c.name);
        if (!xs) return [c.name, `not measured: ${c.missing}`, 'n/a'];
        return [c.name, fmtSummary(summarize(xs)), fmtRatio(median(pairedRatios(xs, floor)))];
      }),
    ),
  ];
}

// ---------------------------------------------------------------- 2. with the network

/** A `trust` user of one build: its own home, the bench server. */
class BuildUser extends TrustCli {
  constructor(readonly build: Build, home: string, server: string, token: string) {
    super(home, server, token);
    Object.assign(this.env, build.env ?? {});
  }
  runBuild(args: readonly string[]) {
    return timeOk(this.build.cmd, [...this.build.pre, ...args], { env: this.env });
  }
}

/** Fills `home` with pins and trust cache files of `count` other collections (copies of the real ones, renamed). */
function growHome(home: string, count: number): void {
  for (const sub of ['roots', 'trust']) {
    const dir = join(home, sub);
    const [file] = readdirSync(dir);
    for (let i = 0; i < count; i++) cpSync(join(dir, file!), join(dir, file!.replace(/\.json$/, `%2Fother-${i}.json`)));
  }
}

async function network(all: readonly Build[], oc: OcitrustService, notary: NotaryService | undefined, notaryWhy: string | undefined, work: string): Promise<string[]> {
  const runnable = all.filter((b) => !b.missing);
  const bin = runnable.find((b) => b.name === 'bin');
  if (!bin) return ['### Commands with the network', '', `Not measured: ${all.find((b) => b.name === 'bin')!.missing}.`];
  const owner = oc.cli('owner');
  const repos = new Map<number, string>();
  const expected = new Map<number, string>();
  for (const n of SIZES) {
    const repo = `${oc.host}/bench/startup-n${n}`;
    await initCollection(owner, repo);
    const tags = Array.from({ length: n }, (_, i) => `tag-${i}`);
    const signTags = n === SIZES[0] ? runnable.flatMap((b) => Array.from({ length: RUNS + 1 }, (_, r) => [`sign-${b.name.replace(/\W+/g, '-')}-${r}`, `sign-${b.name.replace(/\W+/g, '-')}-cpu-${r}`]).flat()) : [];
    const pushed = await pushTaggedImages(oc.registry, repo, [...tags, ...signTags]);
    const t0 = Date.now();
    await signInProcess(oc.registry, repo, tags, await loadHomeSigner(owner, 'alice'), 'alice');
    log(`N=${n}: ${n} ocitrust signatures in ${Date.now() - t0} ms`);
    repos.set(n, repo);
    expected.set(n, pushed.get('tag-0')!.digest);
  }
  const users = new Map<string, BuildUser>();
  let k = 0;
  const user = (b: Build, what: string): BuildUser => {
    const key = `${b.name}/${what}`;
    if (!users.has(key)) users.set(key, new BuildUser(b, join(oc.dir, `home-${++k}`), oc.url, oc.token));
    return users.get(key)!;
  };
  const verify = async (u: BuildUser, n: number): Promise<number> => {
    const r = await u.runBuild(['verify', '-o', 'json', `${repos.get(n)!}:tag-0`]);
    const doc = JSON.parse(r.stdout) as { results: { verified: boolean; digest: string }[] };
    if (!doc.results[0]?.verified || doc.results[0].digest !== expected.get(n)) throw new Error(`${u.build.name}: trust verify did not verify: ${r.stdout}`);
    return r.ms;
  };
  // Warm homes (and the big home: 1,000 other collections pinned and cached).
  for (const b of runnable) {
    for (const n of SIZES) await verify(user(b, `warm-${n}`), n);
    const big = user(b, 'big');
    await verify(big, SIZES[0]!);
    growHome(big.home, HOME_COLLECTIONS);
    await verify(big, SIZES[0]!);
  }
  // A warm verifier starts in the background after its first call; give them time to listen.
  if (runnable.some((b) => b.env?.OCITRUST_VERIFY_DAEMON === 'on')) await new Promise((r) => setTimeout(r, 3000));
  // The owner's home signs with every build (the key decrypted by each process: scrypt).
  for (const b of runnable) users.set(`${b.name}/sign`, new BuildUser(b, owner.home, oc.url, oc.token));

  // Notary: one repository per N, a warm trust dir each, and a cold one.
  const nside = new Map<number, { gun: string; warm: NotaryClient; cold: NotaryClient; expected: string }>();
  if (notary) {
    for (const n of SIZES) {
      const gun = `registry.example.com/bench/startup-n${n}`;
      await populate(notary, gun, n);
      const m = manifestFor('tag-0');
      const side = { gun, warm: notary.client(`warm-${n}`), cold: notary.client(`cold-${n}`), expected: `tag-0 sha256:${createHash('sha256').update(m).digest('hex')} ${m.length}` };
      const first = await side.warm.lookup(gun, 'tag-0');
      if (first.stdout.trim() !== side.expected) throw new Error(`notary lookup printed ${first.stdout.trim()}`);
      nside.set(n, side);
    }
  }

  // The floor runs with the environment the `trust` processes get (PATH, HOME): not this
  // process's, whose NODE_EXTRA_CA_CERTS alone (a CA bundle parsed at start-up) made a bare
  // node slower than a warm `trust verify` on this machine.
  const floorEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const S = new Map<string, number[]>();
  const add = (key: string, ms: number): void => void (S.get(key) ?? S.set(key, []).get(key)!).push(ms);
  const decrypt: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    add('node', (await timeOk(process.execPath, [emptyJs()], { env: floorEnv })).ms);
    for (const n of SIZES) {
      const ns = nside.get(n);
      if (ns) {
        const w = await ns.warm.lookup(ns.gun, 'tag-0');
        if (w.stdout.trim() !== ns.expected) throw new Error(`notary lookup printed ${w.stdout.trim()}`);
        add(`notary-warm-${n}`, w.ms);
        ns.cold.forget();
        const c = await ns.cold.lookup(ns.gun, 'tag-0');
        if (c.stdout.trim() !== ns.expected) throw new Error(`notary lookup printed ${c.stdout.trim()}`);
        add(`notary-cold-${n}`, c.ms);
      }
      for (const b of runnable) add(`${b.name}/warm-${n}`, await verify(user(b, `warm-${n}`), n));
    }
    for (const b of runnable) {
      add(`${b.name}/big`, await verify(user(b, 'big'), SIZES[0]!));
      const cold = user(b, 'cold');
      cold.forget();
      add(`${b.name}/cold`, await verify(cold, SIZES[0]!));
      add(`${b.name}/sign`, (await users.get(`${b.name}/sign`)!.runBuild(['sign', `${repos.get(SIZES[0]!)!}:sign-${b.name.replace(/\W+/g, '-')}-${r}`])).ms);
    }
    // What the sign processes spend decrypting the key (scrypt), measured on its own.
    const t = process.hrtime.bigint();
    await loadHomeSigner(owner, 'alice');
    decrypt.push(Number(process.hrtime.bigint() - t) / 1e6);
  }

  // CPU time (user + system) of the same commands, interleaved likewise: on a machine shared
  // with other work, waiting for a core inflates wall times (and their spread) but not this.
  const C = new Map<string, number[]>();
  const addC = (key: string, ms: number): void => void (C.get(key) ?? C.set(key, []).get(key)!).push(ms);
  const n0c = SIZES[0]!;
  for (let r = 0; r < RUNS; r++) {
    addC('node', (await cpuTimeOk(process.execPath, [emptyJs()], { env: floorEnv })).cpuMs);
    for (const b of runnable) {
      const u = user(b, `warm-${n0c}`);
      const v = await cpuTimeOk(b.cmd, [...b.pre, 'verify', '-o', 'json', `${repos.get(n0c)!}:tag-0`], { env: u.env });
      if (!(JSON.parse(v.stdout) as { results: { verified: boolean }[] }).results[0]?.verified) throw new Error(`${b.name}: trust verify did not verify`);
      addC(`${b.name}/warm`, v.cpuMs);
      addC(`${b.name}/sign`, (await cpuTimeOk(b.cmd, [...b.pre, 'sign', `${repos.get(n0c)!}:sign-${b.name.replace(/\W+/g, '-')}-cpu-${r}`], { env: users.get(`${b.name}/sign`)!.env })).cpuMs);
    }
  }
  const cpuFloor = C.get('node')!;
  // GNU time counts in 10 ms steps: a process that stays below one step (the native front) reads 0.
  const belowResolution = (key: string): boolean => C.get(key)!.every((v) => v === 0);
  const cpuCell = (key: string): string => (!C.has(key) ? 'n/a' : belowResolution(key) ? '< 10 ms (below GNU time’s resolution)' : fmtSummary(summarize(C.get(key)!)));
  const cpuRatio = (key: string): string => (!C.has(key) ? 'n/a' : belowResolution(key) ? '< 1×' : fmtRatio(median(pairedRatios(C.get(key)!, cpuFloor))));

  const floor = S.get('node')!;
  const cell = (key: string): string => (S.has(key) ? fmtSummary(summarize(S.get(key)!)) : 'n/a');
  const ratio = (key: string, minus?: number[]): string => {
    const xs = S.get(key);
    if (!xs) return 'n/a';
    return fmtRatio(median(pairedRatios(minus ? xs.map((x, i) => x - minus[i]!) : xs, floor)));
  };
  const lines: string[] = ['### Commands with the network', ''];
  const n0 = SIZES[0]!;
  lines.push(
    `Floor: \`node empty.js\` ${cell('node')}. Key decryption (scrypt, as \`trust sign\` does it, in-process): ${fmtSummary(summarize(decrypt))}.`,
    '',
    markdownTable(
      ['build', 'warm `trust verify`', 'vs node', 'cold `trust verify`', 'vs node', `warm verify, home with ${HOME_COLLECTIONS.toLocaleString('en-US')} more collections`, 'vs node', '`trust sign`', 'vs node', '`trust sign` − key decryption, vs node'],
      all.map((b) =>
        b.missing
          ? [label(b), `not measured: ${b.missing}`, '', '', '', '', '', '', '', '']
          : [
              label(b),
              cell(`${b.name}/warm-${n0}`),
              ratio(`${b.name}/warm-${n0}`),
              cell(`${b.name}/cold`),
              ratio(`${b.name}/cold`),
              cell(`${b.name}/big`),
              ratio(`${b.name}/big`),
              cell(`${b.name}/sign`),
              ratio(`${b.name}/sign`),
              ratio(`${b.name}/sign`, decrypt),
            ],
      ),
    ),
    '',
    `CPU time (user + system, GNU time, 10 ms resolution) of the same commands, ${RUNS} interleaved runs; \`node empty.js\` ${cpuCell('node')}:`,
    '',
    markdownTable(
      ['build', 'warm `trust verify`, CPU', 'vs node', '`trust sign`, CPU', 'vs node'],
      runnable.map((b) => [label(b), cpuCell(`${b.name}/warm`), cpuRatio(`${b.name}/warm`), cpuCell(`${b.name}/sign`), cpuRatio(`${b.name}/sign`)]),
    ),
    '',
    'With the number of tags in the repository (warm; ratios against `node empty.js` of the same run):',
    '',
    markdownTable(
      ['tags', 'Notary `lookup` warm', 'Notary `lookup` cold', ...runnable.map((b) => `${label(b)} \`verify\` warm`), ...runnable.map((b) => `${label(b)} vs node`), ...(notary ? runnable.map((b) => `${label(b)} vs Notary warm`) : [])],
      SIZES.map((n) => [
        n.toLocaleString('en-US'),
        notary ? cell(`notary-warm-${n}`) : `not measured: ${notaryWhy}`,
        notary ? cell(`notary-cold-${n}`) : 'n/a',
        ...runnable.map((b) => cell(`${b.name}/warm-${n}`)),
        ...runnable.map((b) => ratio(`${b.name}/warm-${n}`)),
        ...(notary ? runnable.map((b) => fmtRatio(median(pairedRatios(S.get(`${b.name}/warm-${n}`)!, S.get(`notary-warm-${n}`)!)))) : []),
      ]),
    ),
  );
  return lines;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ocitrust-bench-startup-'));
  let oc: OcitrustService | undefined;
  let notary: NotaryService | undefined;
  try {
    mkdirSync(join(work, 'exe'), { recursive: true });
    log('building the snapshot and the executable');
    const all = builds(work);
    for (const b of all) if (b.missing) log(`${b.name}: ${b.missing}`);
    const lines = [
      `Reproduce: \`npm run build && node --import tsx bench/startup.bench.ts --runs ${RUNS} --sizes ${SIZES.join(',')}\`${process.env.BENCH_BEFORE ? ` with BENCH_BEFORE (${process.env.BENCH_BEFORE_LABEL ?? 'an older bin'})` : ''} (${environmentLine()}).`,
      '',
    ];
    const stale = buildStaleness();
    if (stale) lines.push(`**Warning:** ${stale}.`, '');
    lines.push(...(await quiet(all)), '');
    const notaryWhy = notaryMissing();
    if (!cliMissing()) {
      oc = await startOcitrust();
      if (!notaryWhy) notary = await startNotary();
      lines.push(...(await network(all, oc, notary, notaryWhy, work)), '');
    }
    lines.push(
      `\`trust\` is the shipped bin, \`${DIST_MAIN.slice(PROJECT_ROOT.length)}\` (scripts/build-cli.mjs): a small entry that runs the CLI, one CommonJS bundle, from a per-command V8 code cache (cli/code-cache.ts); "no code cache" is the same with \`OCITRUST_CODE_CACHE=off\`; "warm verifier" the same with \`OCITRUST_VERIFY_DAEMON=on\` (cli/verify-daemon.ts: \`trust verify\` and \`trust sign\` answered by a background process of the same environment; the CPU table counts only the calling process, not the verifier's work); "native front, warm verifier" is the C front of \`npm run build:front\` (native/trust-front.c) in front of that bin, with the warm verifier on: it relays an eligible call to the verifier without starting Node, and runs the Node bin for anything else (\`--version\`, \`--help\` above). ` +
        '"snapshot" is `node --snapshot-blob trust.blob -- …` with the blob of `npm run build:snapshot` (every command loaded and initialised in the V8 heap it starts from); "executable" is the single file of `npm run build:exe` (the same snapshot inside a copy of node). ' +
        'Each run starts every command once, in turn; ratios are medians of the per-run ratios. Warm: the home already holds the pinned root and the trust data (a verify still asks the trust server for timestamp.json, then reads the manifest and the referrers from the registry); cold: an empty home (trust on first use). ' +
        'Notary: notary-server + notary-signer on loopback (bench/notary/harness.ts), `notary lookup` with a warm trust dir (the repository unchanged since) and an empty one. An ocitrust signature is a referrer of its image, so nothing `trust verify` reads grows with the tags.',
    );
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    stopDaemons(work);
    await oc?.stop();
    await notary?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
