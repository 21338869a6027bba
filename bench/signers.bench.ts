// Signatures per second by where the key is (issue 19): a decrypted key file, a SoftHSM2 token
// (PKCS#11, in process) and the test signer plugin (one process per signature), side by side
// in one run, Ed25519 and ECDSA P-256. Every external signature is verified against its public
// key before it is returned (as in real use), so those rows include one verification each.
//   node --import tsx bench/signers.bench.ts [--rounds 5] [--ms 1000]
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localSigner, randomSecret, type Signer } from '../lib/keys/signer.js';
import { generatePkcs11Key } from '../lib/keys/pkcs11/keys.js';
import { closeAllModules } from '../lib/keys/pkcs11/token.js';
import { openExternalSigner } from '../lib/keys/external.js';
import { environmentLine, markdownTable, optionsFromArgv, type BenchResult } from './harness.js';
import { createSoftHsm } from '../test/helpers/softhsm.js';

const BASELINE = 'key file, Ed25519';
const opts = optionsFromArgv();
const rounds = opts.rounds ?? 5;
const roundMs = opts.roundMs ?? 1000;
// A DSSE PAE or small targets metadata is about this size.
const payload = new Uint8Array(1024).map((_, i) => (i * 7) & 0xff);

const hsm = createSoftHsm('bench');
process.env.SOFTHSM2_CONF = hsm.env.SOFTHSM2_CONF;
const keys = mkdtempSync(join(tmpdir(), 'ocitrust-bench-plugin-'));
writeFileSync(join(keys, 'ed.pem'), generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
writeFileSync(join(keys, 'ec.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
const root = fileURLToPath(new URL('..', import.meta.url));
const env = { PATH: `${join(root, 'test', 'fixtures', 'signer-plugin')}${delimiter}${process.env.PATH ?? ''}`, OCITRUST_TEST_PLUGIN_KEYS: keys };
const pin = async () => hsm.pin;

try {
  for (const [obj, alg] of [['ed', 'ed25519'], ['ec', 'ecdsa-p256']] as const) await generatePkcs11Key(hsm.uri(obj), alg, { pin });
  const cases: [string, Signer][] = [
    [BASELINE, localSigner('ed25519', randomSecret('ed25519'))],
    ['key file, ECDSA P-256', localSigner('ecdsa-p256', randomSecret('ecdsa-p256'))],
    ['SoftHSM2 (PKCS#11), Ed25519 (CKM_EDDSA)', await openExternalSigner(hsm.uri('ed'), { pin })],
    ['SoftHSM2 (PKCS#11), ECDSA P-256 (CKM_ECDSA)', await openExternalSigner(hsm.uri('ec'), { pin })],
    ['test plugin (a process per signature), Ed25519', await openExternalSigner('plugin:test:ok:ed', { env })],
    ['test plugin (a process per signature), ECDSA P-256', await openExternalSigner('plugin:test:ok:ec', { env })],
  ];
  for (const [name, s] of cases) if (!s.publicKey.verify(await s.sign(payload), payload)) throw new Error(`${name}: signature does not verify`);
  const timed = async (s: Signer, ms: number): Promise<number> => {
    let n = 0;
    const start = process.hrtime.bigint();
    const limit = start + BigInt(ms * 1e6);
    let now = start;
    while (now < limit) {
      await s.sign(payload);
      n++;
      now = process.hrtime.bigint();
    }
    return n / (Number(now - start) / 1e9);
  };
  for (const [, s] of cases) await timed(s, 200);
  const per = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, [, s]] of cases.entries()) per[i]!.push(await timed(s, roundMs));
    console.error(`round ${r + 1}/${rounds} done`);
  }
  const med = (xs: number[]) => {
    const a = [...xs].sort((x, y) => x - y);
    return a.length % 2 ? a[a.length >> 1]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
  };
  const results: BenchResult[] = cases.map(([name], i) => ({ name, median: med(per[i]!), rounds: per[i]! }));
  console.log(`### Signatures per second by key location (1 KiB payload; median of ${rounds} rounds of ${roundMs} ms, interleaved)\n`);
  console.log(environmentLine() + `; SoftHSM 2.6 (Debian libsofthsm2), one token in a temp folder, one session, logged in once.\n`);
  console.log(markdownTable(results, BASELINE));
  console.log(
    '\nops/s counts signatures. File keys sign in process (Ed25519 with @noble/ed25519 in JavaScript, which is why it trails ECDSA; ECDSA with node:crypto, low-S DER). SoftHSM rows go through pkcs11js ' +
      '(synchronous C_SignInit + C_Sign; ECDSA hashes SHA-256 in process and re-encodes r||s as DER) and verify each signature ' +
      'before returning it. Plugin rows start `ocitrust-signer-test` (a Node script) for every signature, so they measure ' +
      'process start-up; a KMS plugin adds its network round trip on top. Signing is rarely the cost of a `trust` command ' +
      '(one signature per manifest or metadata file).',
  );
} finally {
  closeAllModules();
  hsm.cleanup();
  rmSync(keys, { recursive: true, force: true });
}
