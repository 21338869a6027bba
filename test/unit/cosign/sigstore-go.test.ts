// sigstore-go's bundles (../shared/vectors/peers/sigstore-go): an npm publish attestation (v0.1,
// DSSE, key-signed, Rekor intoto entry) and a key-signed message signature with an RFC 3161
// timestamp only. Verified with verifyBundle, the function the cosign scheme uses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadTrust, verifyBundle } from '../../../lib/cosign/index.js';
import { PEERS, PUBLIC_GOOD_ROOT } from '../../helpers/cosign-artifacts.js';

const GO = `${PEERS}/sigstore-go`;
const NOW = new Date('2026-06-01T00:00:00Z');

describe('sigstore-go bundles', () => {
  it('bundle-publish.json (v0.1, DSSE in-toto, key + Rekor): valid for pkg:npm/sigstore@1.3.0\'s sha512', () => {
    // The subject digest as sigstore-go's docs/verification.md gives it (76176ffa…b329b10751).
    const sha512 = '76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751';
    const trust = loadTrust({ trustedRoot: PUBLIC_GOOD_ROOT, keys: [`${GO}/examples/publish_key.pub`] });
    const bundle = readFileSync(`${GO}/examples/bundle-publish.json`);
    const v = verifyBundle(bundle, { digest: `sha512:${sha512}` }, trust, { identities: [], requireTlog: true }, NOW);
    assert.equal(v.ok, true, JSON.stringify(v));
    const other = verifyBundle(bundle, { digest: `sha512:${'0'.repeat(128)}` }, trust, { identities: [] }, NOW);
    assert.deepEqual([other.ok, !other.ok && other.code], [false, 'COSIGN_DIGEST_MISMATCH']);
    const wrongKey = loadTrust({ trustedRoot: PUBLIC_GOOD_ROOT, keys: [`${GO}/pkg/testing/data/public-keys/public-key-validity.pem`] });
    const w = verifyBundle(bundle, { digest: `sha512:${sha512}` }, wrongKey, { identities: [] }, NOW);
    assert.deepEqual([w.ok, !w.ok && w.code], [false, 'SIGSTORE_KEY_UNTRUSTED']);
  });

  it('public-key-validity.sigstore.json (v0.3, key, RFC 3161 only): valid over "test content" with its TSA', () => {
    const trust = loadTrust({ trustedRoot: `${GO}/pkg/testing/data/trusted-roots/public-key-validity.json`, keys: [`${GO}/pkg/testing/data/public-keys/public-key-validity.pem`] });
    const bundle = readFileSync(`${GO}/pkg/testing/data/bundles/public-key-validity.sigstore.json`);
    const v = verifyBundle(bundle, { bytes: Buffer.from('test content') }, trust, { identities: [] }, NOW);
    assert.equal(v.ok, true, JSON.stringify(v));
    const bad = verifyBundle(bundle, { bytes: Buffer.from('test contenT') }, trust, { identities: [] }, NOW);
    assert.deepEqual([bad.ok, !bad.ok && bad.code], [false, 'COSIGN_DIGEST_MISMATCH']);
  });
});
