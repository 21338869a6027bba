// Issue 12 item 5 at the unit level: bytes from the network that do not parse are a bad
// response of the server (exit 3), the same bytes given by the user are an input error (exit 2);
// security failures keep their verdict; and a trust server is told from anything else at its address.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../../lib/errors/index.js';
import { fixedClock } from '../../../lib/clock.js';
import { TrustedSet } from '../../../lib/tuf/trusted-set.js';
import { Metadata } from '../../../lib/metadata/metadata.js';
import { Updater } from '../../../lib/tuf/updater.js';
import { MemoryTrustCache } from '../../../lib/tuf/store.js';
import { MemoryMetadataSource, loadFromSource } from '../../../lib/tuf/source.js';
import { isMalformedContent, parseServed } from '../../../lib/oci/client.js';
import { parseManifest } from '../../../lib/oci/types.js';
import { TRUST_SERVER_HEADER, isTrustServerAnswer, notTrustServer } from '../../../lib/trust-server-id.js';
import { TEST_TIME, buildCollection } from '../../helpers/collection.js';

const enc = new TextEncoder();
const code = (c: string) => (e: unknown) => e instanceof OcitrustError && e.code === c;

describe('loadFromSource: served TUF metadata', () => {
  const src = new MemoryMetadataSource(new Map(), 'https://trust.example/v1/collections/app/');
  it('not JSON, wrong shape → TUF_SOURCE_BAD_RESPONSE (exit 3) naming the file, what came and the original code', () => {
    for (const [bytes, orig] of [[enc.encode('<html>'), 'JSON_MALFORMED'], [enc.encode('{"signed":{"_type":"timestamp"},"signatures":[]}'), 'METADATA_INVALID'], [new Uint8Array(0), 'JSON_MALFORMED']] as const) {
      assert.throws(
        () => loadFromSource(src, { role: 'timestamp' }, bytes, (b) => Metadata.fromBytes('timestamp', b)),
        (e: unknown) => {
          assert.ok(e instanceof OcitrustError);
          assert.equal(e.code, 'TUF_SOURCE_BAD_RESPONSE');
          assert.equal(e.exitCode, 3);
          assert.equal(e.details?.cause, orig);
          assert.match(e.message, /timestamp\.json: expected timestamp metadata, got /);
          return true;
        },
      );
    }
  });
  it('the same bytes given by the user (a --root file) stay an input error (exit 2)', () => {
    assert.throws(() => new TrustedSet(enc.encode('<html>')), (e: unknown) => e instanceof OcitrustError && e.exitCode === 2);
  });
  it('a security failure (exit 1) passes through unchanged: a timestamp served as root is a type mismatch, not a bad response', () => {
    assert.throws(() => loadFromSource(src, { role: 'root', version: 2 }, enc.encode('{"signed":{"_type":"timestamp"},"signatures":[]}'), (b) => new TrustedSet(b)), code('METADATA_TYPE_MISMATCH'));
    const tampered = new OcitrustError('TUF_THRESHOLD_NOT_MET', 'x');
    assert.throws(() => loadFromSource(src, { role: 'root', version: 2 }, new Uint8Array(1), () => { throw tampered; }), (e) => e === tampered);
  });
});

describe('Updater with a source answering garbage', () => {
  it('→ TUF_SOURCE_BAD_RESPONSE; with a young cache it falls back exactly as for an unreachable source', async () => {
    const c = await buildCollection({ collection: 'registry.example.com/app', signers: [{ name: 'alice' }] });
    const files = new Map(c.files);
    const cache = new MemoryTrustCache();
    const opts = { collection: c.collection, trustedRoot: c.rootBytes(1), source: new MemoryMetadataSource(() => files), cache, clock: fixedClock(TEST_TIME) };
    await new Updater(opts).refresh();
    files.set('timestamp.json', enc.encode('garbage'));
    await assert.rejects(new Updater({ ...opts, cache: new MemoryTrustCache() }).refresh(), code('TUF_SOURCE_BAD_RESPONSE'));
    const r = await new Updater(opts).refresh();
    assert.equal(r.fromCache, true);
    assert.equal(r.sourceError?.code, 'TUF_SOURCE_BAD_RESPONSE');
    // An address answering as something else (an ingress' 404 page) is "could not ask" too.
    // Same server as the cache entry (trusted state is keyed by server and collection).
    const notTrust = { description: 'memory', fetch: async () => { throw notTrustServer('http://x', 'GET /', 404, new Headers(), new Uint8Array(0)); } };
    const r2 = await new Updater({ ...opts, source: notTrust }).refresh();
    assert.equal(r2.sourceError?.code, 'TRUST_SERVER_NOT_OCITRUST');
    await assert.rejects(new Updater({ ...opts, source: notTrust, cache: new MemoryTrustCache() }).refresh(), code('TRUST_SERVER_NOT_OCITRUST'));
  });
});

describe('parseServed: served manifests', () => {
  const what = 'manifest r.example/app:v1';
  it('not JSON / wrong shape → REGISTRY_BAD_RESPONSE (exit 3) with "expected …, got …" and the original code', () => {
    for (const body of ['<html>', '{"schemaVersion":2,"layers":"x"}']) {
      const bytes = enc.encode(body);
      assert.throws(
        () => parseServed(what, 'a JSON image manifest', bytes, () => parseManifest(bytes, { what })),
        (e: unknown) => {
          assert.ok(e instanceof OcitrustError);
          assert.equal(e.code, 'REGISTRY_BAD_RESPONSE');
          assert.equal(e.exitCode, 3);
          assert.equal(e.details?.cause, 'MANIFEST_INVALID');
          assert.match(e.message, /^manifest r\.example\/app:v1: expected a JSON image manifest, got \d+ bytes starting /);
          assert.ok(isMalformedContent(e));
          return true;
        },
      );
    }
  });
  it('MANIFEST_UNSUPPORTED (a real Docker schema 1 manifest) stays what it is', () => {
    const bytes = enc.encode(JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'v1', fsLayers: [] }));
    assert.throws(() => parseServed(what, 'a manifest', bytes, () => parseManifest(bytes, { what })), code('MANIFEST_UNSUPPORTED'));
  });
  it('other registry errors are not "malformed content"', () => {
    assert.ok(!isMalformedContent(new OcitrustError('REGISTRY_BAD_RESPONSE', 'unexpected Content-Type')));
    assert.ok(!isMalformedContent(new OcitrustError('REGISTRY_UNREACHABLE', 'x')));
  });
});

describe('trust server identity', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('the header, or an ocitrust error document, identifies a trust server', () => {
    assert.ok(isTrustServerAnswer(h({ [TRUST_SERVER_HEADER]: '1' })));
    assert.ok(isTrustServerAnswer(h({}), enc.encode('{"code":"COLLECTION_NOT_FOUND","message":"no such collection"}')));
    assert.ok(isTrustServerAnswer(h({}), { code: 'ROUTE_NOT_FOUND', message: 'x' }));
  });
  it('a registry 404, an HTML page, another JSON API, an unknown code are not', () => {
    assert.ok(!isTrustServerAnswer(h({ 'docker-distribution-api-version': 'registry/2.0' }), enc.encode('404 page not found')));
    assert.ok(!isTrustServerAnswer(h({ 'content-type': 'text/html' }), enc.encode('<html>404</html>')));
    assert.ok(!isTrustServerAnswer(h({}), enc.encode('{"error":"not found"}')));
    assert.ok(!isTrustServerAnswer(h({}), enc.encode('{"code":"NOT_OURS","message":"x"}')));
  });
  it('TRUST_SERVER_NOT_OCITRUST says what answered (exit 3)', () => {
    const e = notTrustServer('http://r.example:5000', 'GET /v1/collections/a/1.root.json', 404, h({ 'content-type': 'text/plain; charset=utf-8', 'docker-distribution-api-version': 'registry/2.0' }), enc.encode('404 page not found\n'));
    assert.equal(e.code, 'TRUST_SERVER_NOT_OCITRUST');
    assert.equal(e.exitCode, 3);
    assert.match(e.message, /^http:\/\/r\.example:5000 is not an ocitrust trust server \(GET \/v1\/collections\/a\/1\.root\.json answered HTTP 404, text\/plain: "404 page not found"; it looks like a container registry/);
  });
});
