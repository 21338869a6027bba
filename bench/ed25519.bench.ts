// Ed25519 verify throughput (issue 2 benchmark): noble strict alone, verifyEd25519 with the
// node:crypto fast path, and raw node:crypto verify as the ceiling, side by side in one run.
//   node --import tsx bench/ed25519.bench.ts [--rounds 5] [--ms 1000]
// Other benchmarks add rows by importing ed25519Cases() and running them with their own cases
// through runBench (see bench/harness.ts), so all rows share one run and one baseline.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { verifyEd25519, verifyEd25519Noble, signEd25519, publicKeyOf, setNativeFastPath } from '../lib/crypto/ed25519.js';
import { runBench, markdownTable, environmentLine, optionsFromArgv, type BenchCase } from './harness.js';

/** Name of the ceiling row; ratios in the table are relative to it. */
export const NATIVE_BASELINE = 'node:crypto verify (ceiling)';

/** Signed messages over a few keys, like a verifier checking statements from several signers. */
export function ed25519Workload(keys = 4, perKey = 8, messageBytes = 600): { pk: Uint8Array; msg: Uint8Array; sig: Uint8Array }[] {
  const out = [];
  for (let k = 0; k < keys; k++) {
    const seed = new Uint8Array(32).fill(k + 1);
    const pk = publicKeyOf(seed);
    for (let m = 0; m < perKey; m++) {
      const msg = new Uint8Array(messageBytes).map((_, i) => (i * 31 + k * 7 + m) & 0xff);
      out.push({ pk, msg, sig: signEd25519(msg, seed) });
    }
  }
  return out;
}

/** The Ed25519 rows. Each case cycles through the workload; every call verifies one signature. */
export function ed25519Cases(): BenchCase[] {
  const work = ed25519Workload();
  const spki = Buffer.from('302a300506032b6570032100', 'hex');
  const keyObjects = new Map(work.map((w) => [w.pk, createPublicKey({ key: Buffer.concat([spki, w.pk]), format: 'der', type: 'spki' })]));
  const bad = work.map((w) => {
    const sig = new Uint8Array(w.sig);
    sig[5]! ^= 1;
    return { ...w, sig };
  });
  // Every case must give the right answer before it is timed.
  for (const w of work) {
    if (!verifyEd25519Noble(w.sig, w.msg, w.pk) || !verifyEd25519(w.sig, w.msg, w.pk) || !nodeVerify(null, w.msg, keyObjects.get(w.pk)!, w.sig)) {
      throw new Error('benchmark workload does not verify');
    }
  }
  let i = 0;
  const next = <T>(xs: T[]): T => xs[i++ % xs.length]!;
  let previous = true;
  const fastOn = { setup: () => void (previous = setNativeFastPath(true)), teardown: () => void setNativeFastPath(previous) };
  return [
    { name: 'noble strict (zip215: false) alone', fn: () => { const w = next(work); return verifyEd25519Noble(w.sig, w.msg, w.pk); } },
    { name: 'verifyEd25519, fast path on', ...fastOn, fn: () => { const w = next(work); return verifyEd25519(w.sig, w.msg, w.pk); } },
    { name: 'verifyEd25519, fast path on, invalid signatures (native no → noble)', ...fastOn, fn: () => { const w = next(bad); return verifyEd25519(w.sig, w.msg, w.pk); } },
    { name: NATIVE_BASELINE, fn: () => { const w = next(work); return nodeVerify(null, w.msg, keyObjects.get(w.pk)!, w.sig); } },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts = optionsFromArgv();
  const results = runBench(ed25519Cases(), { ...opts, log: (l) => console.error(l) });
  console.log(`### Ed25519 verify (600-byte messages, 4 keys; median of ${opts.rounds} rounds of ${opts.roundMs} ms)\n`);
  console.log(environmentLine() + '\n');
  console.log(markdownTable(results, NATIVE_BASELINE));
}
