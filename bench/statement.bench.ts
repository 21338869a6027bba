// Statement verification throughput (issue 2 benchmark): one full `verifyImage` of a signed
// ocitrust statement (envelope parse, base64, PAE, strict Ed25519, statement parse, every
// DESIGN §5 check), with and without the native fast path, against raw node:crypto Ed25519
// verify of the same PAE bytes as the ceiling — side by side in one run. Goal: ≥ 80 % of native.
//   node --import tsx bench/statement.bench.ts [--rounds 5] [--ms 1000]
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { SeedSigner } from '../lib/keys/signer.js';
import { digestOf } from '../lib/crypto/hash.js';
import { fixedClock } from '../lib/clock.js';
import { buildSignatureStatement } from '../lib/statements/statement.js';
import { signStatement } from '../lib/statements/sign.js';
import { pae, parseEnvelope, serializeEnvelope } from '../lib/statements/dsse.js';
import { setNativeFastPath, verifyEd25519Noble } from '../lib/crypto/ed25519.js';
import { verifyImage } from '../lib/verify/verifier.js';
import type { TrustedTargets } from '../lib/verify/trust.js';
import { runBench, markdownTable, environmentLine, optionsFromArgv, type BenchCase } from './harness.js';

const NATIVE = 'node:crypto verify of the PAE bytes (ceiling)';
const repository = 'registry.example.com/team/app';
const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] }));
const digest = digestOf(manifest);
const clock = fixedClock('2026-06-01T00:00:00Z');

const signers = [1, 2, 3, 4].map((k) => new SeedSigner(new Uint8Array(32).fill(k)));
// Frozen the way trustViewFromTargets (lib/metadata/trust-view.ts) hands it to the verifier,
// which lets verifyImage index the delegated roles once per trusted view.
const trust: TrustedTargets = Object.freeze({
  collection: repository,
  version: 3,
  expires: new Date('2027-01-01T00:00:00Z'),
  keys: new Map(signers.map((s) => [s.keyid, s.publicKey])),
  roles: Object.freeze(
    signers.map((s, i) => Object.freeze({ name: `signer${i}`, keyids: Object.freeze([s.keyid]), threshold: 1, paths: Object.freeze([`${repository}*`]), terminating: false })),
  ),
  revocations: Object.freeze([]),
});

const envelopes = await Promise.all(
  signers.map(async (s, i) => {
    const st = buildSignatureStatement({ repository, digest, tag: 'v1.2.3', mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifest.length, role: `signer${i}`, signedAt: new Date('2026-05-01T00:00:00Z') });
    const bytes = serializeEnvelope(await signStatement(st, [s]));
    return { bytes, digest: digestOf(bytes) };
  }),
);
const spki = Buffer.from('302a300506032b6570032100', 'hex');
const native = envelopes.map((e, i) => {
  const env = parseEnvelope(e.bytes);
  const sig = env.signatures[0]!.sig;
  return { msg: pae(env.payloadType, env.payload), sig, key: createPublicKey({ key: Buffer.concat([spki, signers[i]!.publicKey.publicKey]), format: 'der', type: 'spki' }), pk: signers[i]!.publicKey.publicKey };
});
const input = (i: number) => ({ reference: { repository, tag: 'v1.2.3' }, digest, subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifest.length }, envelopes: [envelopes[i % envelopes.length]!], trust, clock });

// Every case must give the right answer before it is timed.
for (let i = 0; i < envelopes.length; i++) {
  const r = verifyImage(input(i));
  if (!r.verified) throw new Error(`workload does not verify: ${JSON.stringify(r.failures)}`);
  const n = native[i]!;
  if (!nodeVerify(null, n.msg, n.key, n.sig) || !verifyEd25519Noble(n.sig, n.msg, n.pk)) throw new Error('native workload does not verify');
}

let i = 0;
let prev = true;
const cases: BenchCase[] = [
  { name: 'verifyImage, one statement, fast path on', setup: () => void (prev = setNativeFastPath(true)), teardown: () => void setNativeFastPath(prev), fn: () => verifyImage(input(i++)).verified },
  { name: 'verifyImage, one statement, noble strict only', setup: () => void (prev = setNativeFastPath(false)), teardown: () => void setNativeFastPath(prev), fn: () => verifyImage(input(i++)).verified },
  { name: NATIVE, fn: () => { const n = native[i++ % native.length]!; return nodeVerify(null, n.msg, n.key, n.sig); } },
];

const opts = optionsFromArgv();
const results = runBench(cases, { ...opts, log: (l) => console.error(l) });
console.log(`### Statement verification (${envelopes[0]!.bytes.length}-byte envelopes, 4 signers; median of ${opts.rounds} rounds of ${opts.roundMs} ms)\n`);
console.log(environmentLine() + '\n');
console.log(markdownTable(results, NATIVE));
