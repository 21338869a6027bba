// The registry client against a hostile registry (a real HTTP server on 127.0.0.1 that lies,
// floods, stalls and rate-limits): every misbehaviour ends in a coded error, within the
// timeout, without buffering more than the limit.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startHostileRegistry, writeEndless, drip, type HostileHandler, type HostileRegistry } from '../helpers/hostile-registry.js';
import { HttpRegistryClient, type HttpRegistryClientOptions } from '../../lib/oci/client.js';
import { anonymous, staticCredentials } from '../../lib/oci/credentials.js';
import { listSignatures } from '../../lib/oci/referrers.js';
import { OCI_INDEX, OCI_MANIFEST, SIGNATURE_ARTIFACT_TYPE } from '../../lib/oci/types.js';
import { digestOf } from '../../lib/crypto/hash.js';
import { isOcitrustError, type OcitrustError } from '../../lib/errors/index.js';
import { makeImage } from '../helpers/oci-layout.js';

const TIMEOUT = 800;
let server: HostileRegistry | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function setup(handler: HostileHandler, opts: HttpRegistryClientOptions = {}) {
  server = await startHostileRegistry(handler);
  const client = new HttpRegistryClient({
    credentials: anonymous,
    limits: { requestTimeoutMs: TIMEOUT, maxManifestBytes: 64 * 1024, maxBufferedBlobBytes: 256 * 1024 },
    retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 2000, maxTotalMs: 5000 },
    ...opts,
  });
  return { client, repo: { registry: server.host, path: 'evil/app' }, server };
}

function rejectsWith(code: string) {
  return (e: unknown) => {
    assert.ok(isOcitrustError(e), `expected OcitrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

const image = makeImage();
const other = makeImage();

describe('registry client against a hostile registry', () => {
  describe('wrong digests', () => {
    it('manifest bytes that do not match the requested digest → MANIFEST_DIGEST_MISMATCH', async () => {
      const { client, repo } = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': image.manifest.digest }).end(other.manifest.bytes);
      });
      await assert.rejects(client.getManifest(repo, image.manifest.digest), rejectsWith('MANIFEST_DIGEST_MISMATCH'));
    });
    it('a lying Docker-Content-Digest on a tag is ignored: the digest is computed from the bytes', async () => {
      const { client, repo } = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': image.manifest.digest }).end(other.manifest.bytes);
      });
      const m = await client.getManifest(repo, 'v1');
      assert.equal(m.digest, other.manifest.digest);
      assert.equal(m.digest, digestOf(m.bytes));
    });
    it('blob bytes that do not match → BLOB_DIGEST_MISMATCH; wrong length → BLOB_SIZE_MISMATCH', async () => {
      const layer = image.layers[0]!;
      const { client, repo } = await setup((req, res) => {
        if (req.url!.includes('short')) res.writeHead(200).end(layer.bytes.subarray(1));
        else res.writeHead(200).end(other.layers[0]!.bytes);
      });
      await assert.rejects(client.getBlob(repo, layer.digest), rejectsWith('BLOB_DIGEST_MISMATCH'));
      await assert.rejects(client.getBlob(repo, layer.digest, { size: other.layers[0]!.size + 1 }), rejectsWith('BLOB_SIZE_MISMATCH'));
      const chunks: Uint8Array[] = [];
      await assert.rejects(
        (async () => {
          for await (const c of client.blobStream(repo, layer.digest)) chunks.push(c);
        })(),
        rejectsWith('BLOB_DIGEST_MISMATCH'),
      );
    });
    it('a PUT answer claiming another digest → REGISTRY_BAD_RESPONSE', async () => {
      const { client, repo } = await setup((_req, res) => {
        res.writeHead(201, { 'docker-content-digest': other.manifest.digest }).end();
      });
      await assert.rejects(client.putManifest(repo, 'v1', image.manifest.bytes, OCI_MANIFEST), rejectsWith('REGISTRY_BAD_RESPONSE'));
    });
  });

  describe('oversized and endless bodies', () => {
    it('a declared Content-Length over the limit is refused before reading', async () => {
      const { client, repo, server } = await setup((_req, res, { count }) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(1 << 30) });
        writeEndless(res, count);
      });
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_RESPONSE_TOO_LARGE'));
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(server.bytesWritten() < 16 << 20, `server wrote ${server.bytesWritten()} bytes`);
    });
    it('an endless chunked manifest is cut off at the limit, memory bounded', async () => {
      const { client, repo, server } = await setup((_req, res, { count }) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST });
        writeEndless(res, count);
      });
      const before = process.memoryUsage().rss;
      const t0 = Date.now();
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_RESPONSE_TOO_LARGE'));
      assert.ok(Date.now() - t0 < TIMEOUT, 'stopped by the size limit, not the timeout');
      await new Promise((r) => setTimeout(r, 200));
      const sent = server.bytesWritten();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(server.bytesWritten(), sent, 'the server can no longer write: the client closed the connection');
      assert.ok(process.memoryUsage().rss - before < 64 << 20);
    });
    it('an endless blob is cut off at the buffered-blob limit', async () => {
      const { client, repo } = await setup((_req, res, { count }) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        writeEndless(res, count);
      });
      await assert.rejects(client.getBlob(repo, image.layers[0]!.digest), rejectsWith('REGISTRY_RESPONSE_TOO_LARGE'));
      await assert.rejects(client.getBlob(repo, image.layers[0]!.digest, { size: 10 << 20 }), rejectsWith('REGISTRY_RESPONSE_TOO_LARGE'));
      await assert.rejects(client.getBlob(repo, image.layers[0]!.digest, { size: 1000 }), rejectsWith('BLOB_SIZE_MISMATCH'));
    });
    it('endless referrers pagination → REFERRERS_TOO_MANY', async () => {
      let page = 0;
      const { client, repo } = await setup((_req, res) => {
        page++;
        res.writeHead(200, { 'content-type': OCI_INDEX, link: `</v2/evil/app/referrers/${image.manifest.digest}?page=${page}>; rel="next"` });
        res.end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
      }, { limits: { requestTimeoutMs: TIMEOUT, maxReferrersPages: 5 } });
      await assert.rejects(client.getReferrers(repo, image.manifest.digest), rejectsWith('REFERRERS_TOO_MANY'));
      assert.equal(page, 5);
    });
  });

  describe('wrong content types and junk', () => {
    it('an HTML page for a manifest → REGISTRY_BAD_RESPONSE', async () => {
      const { client, repo } = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
      });
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_BAD_RESPONSE'));
    });
    it('junk with a manifest content type → REGISTRY_BAD_RESPONSE (exit 3, the registry\'s fault), cause MANIFEST_INVALID', async () => {
      const { client, repo } = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST }).end('{"schemaVersion":2,"layers":"nope"}');
      });
      await assert.rejects(client.getManifest(repo, 'v1'), (e: unknown) => rejectsWith('REGISTRY_BAD_RESPONSE')(e) && (e as OcitrustError).details?.cause === 'MANIFEST_INVALID');
    });
    it('junk referrers → coded errors; a pagination link to another host is refused', async () => {
      let mode = 0;
      const { client, repo } = await setup((_req, res) => {
        if (mode === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
        else if (mode === 1) res.writeHead(200, { 'content-type': OCI_INDEX }).end('[1,2');
        else res.writeHead(200, { 'content-type': OCI_INDEX, link: '<http://evil.example/next>; rel="next"' }).end(JSON.stringify({ schemaVersion: 2, manifests: [] }));
      });
      await assert.rejects(client.getReferrers(repo, image.manifest.digest), rejectsWith('REGISTRY_BAD_RESPONSE'));
      mode = 1;
      await assert.rejects(client.getReferrers(repo, image.manifest.digest), rejectsWith('REGISTRY_BAD_RESPONSE'));
      mode = 2;
      await assert.rejects(client.getReferrers(repo, image.manifest.digest), rejectsWith('REGISTRY_BAD_RESPONSE'));
    });
    it('re-filters referrers locally when OCI-Filters-Applied is absent', async () => {
      const d = (n: string, at?: string) => ({ mediaType: OCI_MANIFEST, digest: 'sha256:' + n.repeat(64), size: 10, ...(at ? { artifactType: at } : {}) });
      const { client, repo } = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': OCI_INDEX }).end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [d('1', SIGNATURE_ARTIFACT_TYPE), d('2', 'application/x.sbom'), d('3')] }));
      });
      const r = await client.getReferrers(repo, image.manifest.digest, { artifactType: SIGNATURE_ARTIFACT_TYPE });
      assert.ok(r.supported);
      assert.equal(r.filtersApplied, false);
      assert.deepEqual(r.manifests.map((x) => x.digest), [d('1').digest]);
    });
    it('a tags/list that ignores `last` but keeps sending Link stops without looping', async () => {
      const { client, repo, server } = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', link: '</v2/evil/app/tags/list?n=2&last=b>; rel="next"' }).end(JSON.stringify({ name: 'evil/app', tags: ['a', 'b', 'c'] }));
      });
      assert.deepEqual((await client.listTags(repo)).sort(), ['a', 'b', 'c']);
      assert.equal(server.requests.length, 2);
    });
  });

  describe('slow responses', () => {
    it('no headers at all → REGISTRY_TIMEOUT, not a hang', async () => {
      const { client, repo } = await setup(() => undefined);
      const t0 = Date.now();
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_TIMEOUT'));
      const took = Date.now() - t0;
      // It waited for the timeout (timers never fire early); that it did not hang is what the
      // rejection itself shows (no upper bound on a loaded machine: no timed assertion).
      assert.ok(took >= TIMEOUT - 50, `took ${took} ms`);
    });
    it('headers then a body that drips forever → REGISTRY_TIMEOUT within the timeout', async () => {
      const { client, repo } = await setup((_req, res, { count }) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST });
        drip(res, count, 50);
      });
      const t0 = Date.now();
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_TIMEOUT'));
      assert.ok(Date.now() - t0 < TIMEOUT + 1500);
      const t1 = Date.now();
      await assert.rejects(client.getBlob(repo, image.layers[0]!.digest), rejectsWith('REGISTRY_TIMEOUT'));
      assert.ok(Date.now() - t1 < TIMEOUT + 1500);
    });
  });

  describe('429 storms and retries', () => {
    it('a 429 storm ends in REGISTRY_RATE_LIMITED after the bounded attempts', async () => {
      const { client, repo, server } = await setup((_req, res) => {
        res.writeHead(429, { 'content-type': 'application/json' }).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      });
      const t0 = Date.now();
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_RATE_LIMITED'));
      assert.equal(server.requests.length, 3);
      assert.ok(Date.now() - t0 < 3000);
    });
    it('honours Retry-After, and gives up at once when it exceeds the budget', async () => {
      let n = 0;
      const { client, repo, server } = await setup((_req, res) => {
        n++;
        if (n === 1) res.writeHead(503, { 'retry-after': '1' }).end();
        else res.writeHead(200, { 'content-type': OCI_MANIFEST }).end(image.manifest.bytes);
      });
      const t0 = Date.now();
      const m = await client.getManifest(repo, image.manifest.digest);
      assert.equal(m.digest, image.manifest.digest);
      assert.ok(Date.now() - t0 >= 950, 'waited for Retry-After');
      assert.equal(server.requests.length, 2);
      await server.stop();

      const again = await setup((_req, res) => void res.writeHead(429, { 'retry-after': '3600' }).end());
      const t1 = Date.now();
      await assert.rejects(again.client.getManifest(again.repo, 'v1'), rejectsWith('REGISTRY_RATE_LIMITED'));
      assert.equal(again.server.requests.length, 1);
      assert.ok(Date.now() - t1 < 1000);
    });
    it('502/504 then success is retried transparently', async () => {
      let n = 0;
      const { client, repo } = await setup((_req, res) => {
        n++;
        if (n <= 2) res.writeHead(n === 1 ? 502 : 504).end();
        else res.writeHead(200, { 'content-type': OCI_MANIFEST }).end(image.manifest.bytes);
      });
      assert.equal((await client.getManifest(repo, 'v1')).digest, image.manifest.digest);
      assert.equal(n, 3);
    });
  });

  describe('status mapping', () => {
    const cases: [number, string][] = [
      [404, 'MANIFEST_NOT_FOUND'],
      [403, 'REGISTRY_DENIED'],
      [500, 'REGISTRY_ERROR'],
      [405, 'REGISTRY_UNSUPPORTED'],
    ];
    for (const [status, code] of cases) {
      it(`${status} → ${code}`, async () => {
        const { client, repo } = await setup((_req, res) => {
          res.writeHead(status, { 'content-type': 'application/json' }).end('{"errors":[{"code":"X","message":"m"}]}');
        });
        await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith(code));
      });
    }
    it('a 404 on the referrers API means: use the fallback', async () => {
      const { client, repo, server } = await setup((_req, res) => void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n'));
      const r = await listSignatures(client, repo, image.manifest.digest);
      assert.equal(r.source, 'fallback');
      assert.equal(r.descriptors.length, 0);
      assert.deepEqual(server.requests.map((q) => q.url.split('?')[0]), [
        `/v2/evil/app/referrers/${image.manifest.digest}`,
        `/v2/evil/app/manifests/sha256-${image.manifest.digest.slice(7)}`,
      ]);
    });
    it('an unreachable registry → REGISTRY_UNREACHABLE', async () => {
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((r) => probe.close(() => r()));
      const client = new HttpRegistryClient({ credentials: anonymous, retry: { maxAttempts: 2, baseDelayMs: 10 } });
      await assert.rejects(client.getManifest({ registry: `127.0.0.1:${port}`, path: 'a' }, 'v1'), rejectsWith('REGISTRY_UNREACHABLE'));
    });
  });

  describe('connection reuse', () => {
    it('sequential requests reuse keep-alive connections', async () => {
      const { client, repo, server } = await setup((_req, res) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST }).end(image.manifest.bytes);
      });
      for (let i = 0; i < 10; i++) await client.getManifest(repo, 'v1');
      assert.equal(server.requests.length, 10);
      // undici may open a second socket early on; after that every request reuses one.
      assert.ok(server.connections() <= 2, `${server.connections()} connections for 10 requests`);
    });
  });

  describe('authentication misbehaviour', () => {
    it('401 forever → REGISTRY_AUTH_FAILED after one challenge round', async () => {
      const { client, repo, server } = await setup((_req, res) => void res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end(), {
        credentials: staticCredentials({}),
      });
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_AUTH_FAILED'));
      assert.equal(server.requests.length, 1, 'no credentials: no retry');
    });
    it('basic auth: wrong password → REGISTRY_AUTH_FAILED; right one → the Authorization header is sent, then preemptively', async () => {
      const good = 'Basic ' + Buffer.from('alice:s3cret').toString('base64');
      let srv: HostileRegistry;
      const mk = async (password: string) => {
        const s = await setup((req, res) => {
          if (req.headers.authorization !== good) res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
          else res.writeHead(200, { 'content-type': OCI_MANIFEST }).end(image.manifest.bytes);
        }, { credentials: async (r) => (r === server!.host ? { username: 'alice', password } : undefined) });
        srv = s.server;
        return s;
      };
      const bad = await mk('nope');
      await assert.rejects(bad.client.getManifest(bad.repo, 'v1'), (e: unknown) => {
        assert.ok(isOcitrustError(e, 'REGISTRY_AUTH_FAILED'));
        assert.ok(!e.message.includes('nope'), 'the password never appears in messages');
        return true;
      });
      await server!.stop();
      const ok = await mk('s3cret');
      await ok.client.getManifest(ok.repo, 'v1');
      await ok.client.getManifest(ok.repo, 'v2');
      assert.deepEqual(srv!.requests.map((r) => r.headers.authorization === good), [false, true, true]);
    });
    it('a token service answering junk → REGISTRY_BAD_RESPONSE; a realm that is not http(s) is refused', async () => {
      let realm = '';
      const { client, repo } = await setup((req, res) => {
        if (req.url!.startsWith('/token')) res.writeHead(200, { 'content-type': 'application/json' }).end('not json');
        else res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="s"` }).end();
      });
      realm = `${server!.url}/token`;
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_BAD_RESPONSE'));
      realm = 'file:///etc/passwd';
      await assert.rejects(client.getManifest(repo, 'v2'), rejectsWith('REGISTRY_BAD_RESPONSE'));
    });
    it('never sends credentials to a plain-HTTP realm on another, non-loopback host', async () => {
      const { client, repo } = await setup((_req, res) => {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://auth.example.invalid/token",service="s"' }).end();
      }, { credentials: async () => ({ username: 'u', password: 'p' }) });
      await assert.rejects(client.getManifest(repo, 'v1'), rejectsWith('REGISTRY_AUTH_FAILED'));
    });
  });
});
