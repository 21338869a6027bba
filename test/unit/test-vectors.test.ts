// Runs every known-answer case of test-vectors/ (format: test-vectors/README.md) through the
// verifier, reading only the published files, and checks that the committed files are exactly
// what scripts/gen-test-vectors.ts generates.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildVectors, VECTORS_FORMAT } from '../../scripts/gen-test-vectors.js';
import { verifyImage } from '../../lib/verify/verifier.js';
import type { TrustedTargets } from '../../lib/verify/trust.js';
import { PublicKey } from '../../lib/keys/key.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { fixedClock, parseTime } from '../../lib/clock.js';
import { digestOf, fromHex, toHex } from '../../lib/crypto/hash.js';
import { decodeBase64 } from '../../lib/crypto/base64.js';
import { pae } from '../../lib/statements/dsse.js';

const dir = fileURLToPath(new URL('../../test-vectors/', import.meta.url));
const read = (rel: string) => new Uint8Array(readFileSync(join(dir, rel)));
const readJson = (rel: string) => JSON.parse(readFileSync(join(dir, rel), 'utf8'));

function loadTrust(rel: string): TrustedTargets {
  const t = readJson(rel);
  const keys = new Map<string, PublicKey>();
  for (const [keyid, obj] of Object.entries(t.keys)) {
    const k = PublicKey.fromJSON(obj);
    assert.equal(k.keyid, keyid, `${rel}: keyid must be recomputed from the key object`);
    keys.set(keyid, k);
  }
  return {
    collection: t.collection,
    version: t.version,
    expires: parseTime(t.expires)!,
    keys,
    roles: t.roles,
    revocations: t.revocations,
  };
}

function walk(d: string, out: string[] = []): string[] {
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(relative(dir, p));
  }
  return out;
}

describe('test-vectors/', () => {
  it('the committed files are exactly what the generator produces (regenerate: node --import tsx scripts/gen-test-vectors.ts)', async () => {
    const files = await buildVectors();
    const committed = walk(dir).filter((f) => f !== 'README.md').sort();
    assert.deepEqual(committed, [...files.keys()].sort());
    for (const [rel, bytes] of files) assert.deepEqual(read(rel), bytes, `${rel} differs from the generator output`);
  });

  it('keys.json: seeds give the listed public keys and keyids', () => {
    for (const [name, k] of Object.entries(readJson('keys.json')) as [string, { seed: string; public: unknown; keyid: string }][]) {
      const s = new SeedSigner(fromHex(k.seed)!);
      assert.deepEqual(s.publicKey.toJSON(), k.public, name);
      assert.equal(s.keyid, k.keyid, name);
    }
  });

  it('pae.json: PAE known answers, including the DSSE spec example', () => {
    const cases = readJson('pae.json') as { payloadType: string; payloadBase64: string; paeHex: string }[];
    assert.equal(cases[0]!.paeHex, toHex(new TextEncoder().encode('DSSEv1 29 http://example.com/HelloWorld 11 hello world')));
    for (const c of cases) assert.equal(toHex(pae(c.payloadType, decodeBase64(c.payloadBase64))), c.paeHex);
  });

  const doc = readJson('cases.json');
  it('cases.json has the expected format and unique names', () => {
    assert.equal(doc.format, VECTORS_FORMAT);
    assert.equal(new Set(doc.cases.map((c: { name: string }) => c.name)).size, doc.cases.length);
    assert.ok(doc.cases.length >= 40);
  });

  for (const c of doc.cases) {
    it(`case ${c.name}: ${c.expected.verified ? 'verified' : c.expected.failures.join(', ')}`, () => {
      const manifest = read(c.subject.file);
      assert.equal(digestOf(manifest), c.digest);
      assert.equal(manifest.length, c.subject.size);
      const r = verifyImage({
        reference: c.reference,
        digest: c.digest,
        subject: { mediaType: c.subject.mediaType, size: c.subject.size },
        envelopes: c.envelopes.map((e: { file: string; digest: string }) => ({ bytes: read(e.file), digest: e.digest })),
        trust: loadTrust(c.trust),
        policy: c.policy,
        clock: fixedClock(c.now),
        ...(c.limits ? { limits: c.limits } : {}),
      });
      assert.deepEqual(
        { verified: r.verified, failures: r.failures.map((f) => f.code), signatures: r.signatures },
        c.expected,
        JSON.stringify(r.failures, null, 1),
      );
    });
  }
});
