// Proxy options checked at the door, the ocitrust token a caller presents (and what does not
// count as one), and the notification envelope parser.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { parseUpstream, resolveProxyOptions } from '../../../server/proxy/options.js';
import { presentedToken } from '../../../server/proxy/caller.js';
import { parseEnvelope } from '../../../server/notifications.js';

const TOKEN = 'ocit_' + 'x'.repeat(43);
const decide = async () => ({ allow: true });
const req = (headers: Record<string, string>): FastifyRequest => ({ headers }) as unknown as FastifyRequest;
const invalid = (code: string) => (e: unknown) => isOcitrustError(e) && e.code === code;

describe('parseUpstream / resolveProxyOptions', () => {
  it('accepts http(s) registry URLs without path, query or credentials', () => {
    assert.equal(parseUpstream('http://127.0.0.1:5000').host, '127.0.0.1:5000');
    assert.equal(parseUpstream('https://registry.example.com/').origin, 'https://registry.example.com');
    for (const bad of ['ftp://x', 'http://u:p@x', 'http://x/v2/', 'http://x/?a=1', 'not a url', '']) {
      assert.throws(() => parseUpstream(bad), invalid('INVALID_ARGUMENT'), bad);
    }
  });

  it('names repositories under the upstream host unless told otherwise, never from a request', () => {
    assert.equal(resolveProxyOptions({ upstream: 'http://127.0.0.1:5000', decide }).registryName, '127.0.0.1:5000');
    assert.equal(resolveProxyOptions({ upstream: 'http://10.0.0.5:5000', decide, registryName: 'registry.example.com' }).registryName, 'registry.example.com');
    assert.throws(() => resolveProxyOptions({ upstream: 'http://x', decide, registryName: 'Bad Name/x' }), invalid('INVALID_ARGUMENT'));
  });

  it('checks the other options', () => {
    assert.throws(() => resolveProxyOptions({ upstream: 'http://x', decide: 'no' as never }), invalid('INVALID_ARGUMENT'));
    assert.throws(() => resolveProxyOptions({ upstream: 'http://x', decide, maxManifestBytes: 0 }), invalid('INVALID_ARGUMENT'));
    assert.throws(() => resolveProxyOptions({ upstream: 'http://x', decide, realmRewrite: { 'http://a/': 'javascript:x' } }), invalid('INVALID_ARGUMENT'));
    assert.throws(() => resolveProxyOptions({ upstream: 'http://x', decide, upstreamAuthorization: 'Basic a\r\nX-Evil: 1' }), invalid('INVALID_ARGUMENT'));
    const o = resolveProxyOptions({ upstream: 'http://x', decide, realmRewrite: { 'http://a/': 'https://b/', 'http://a/deep/': 'https://c/' } });
    assert.deepEqual(o.realmRewrite[0], ['http://a/deep/', 'https://c/'], 'longest prefix first');
    assert.equal(o.maxManifestBytes, 4 * 1024 * 1024);
  });
});

describe('presentedToken', () => {
  it('reads X-Ocitrust-Token (bare or Bearer), leaving Authorization to the upstream', () => {
    assert.deepEqual(presentedToken(req({ 'x-ocitrust-token': TOKEN, authorization: 'Bearer upstream' })), { secret: TOKEN, via: 'header' });
    assert.deepEqual(presentedToken(req({ 'x-ocitrust-token': `Bearer ${TOKEN}` })), { secret: TOKEN, via: 'header' });
  });

  it('recognises an ocitrust token in Authorization (Bearer or Basic password) by its shape only', () => {
    assert.deepEqual(presentedToken(req({ authorization: `Bearer ${TOKEN}` })), { secret: TOKEN, via: 'authorization' });
    const basic = 'Basic ' + Buffer.from(`anyone:${TOKEN}`).toString('base64');
    assert.deepEqual(presentedToken(req({ authorization: basic })), { secret: TOKEN, via: 'authorization' });
    assert.equal(presentedToken(req({ authorization: 'Bearer eyJhbGciOi.upstream.jwt' })), undefined);
    assert.equal(presentedToken(req({ authorization: 'Basic ' + Buffer.from('user:password').toString('base64') })), undefined);
  });

  it('ignores everything else a client could claim', () => {
    assert.equal(presentedToken(req({ 'user-agent': 'notation/1.0 ocitrust-signer', 'x-signer': 'yes' })), undefined);
  });
});

describe('parseEnvelope', () => {
  const digest = `sha256:${'b'.repeat(64)}`;

  it('extracts the fields it records, bounded and without control characters', () => {
    const [e] = parseEnvelope({
      events: [
        {
          id: 'e1',
          timestamp: '2026-01-01T00:00:00Z',
          action: 'push',
          target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 120, repository: 'team/app', tag: 'v1' },
          request: { addr: '10.0.0.9:4711', useragent: 'skopeo/1.13\u0000\nx' },
          actor: { name: 'ci' },
        },
      ],
    });
    assert.deepEqual(e, {
      id: 'e1',
      action: 'push',
      repository: 'team/app',
      timestamp: '2026-01-01T00:00:00Z',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      tag: 'v1',
      size: 120,
      actor: 'ci',
      addr: '10.0.0.9:4711',
      userAgent: 'skopeo/1.13 x',
    });
  });

  it('drops a malformed digest rather than recording it', () => {
    const [e] = parseEnvelope({ events: [{ action: 'delete', target: { repository: 'a', digest: 'sha256:zz' } }] });
    assert.equal(e!.digest, undefined);
    assert.equal(e!.id, 'event-0');
  });

  it('refuses what is not an envelope', () => {
    for (const bad of [null, [], {}, { events: {} }, { events: [1] }, { events: [{ action: 'push' }] }, { events: [{ action: 'p u s h', target: { repository: 'a' } }] }, { events: [{ action: 'push', target: { repository: '' } }] }]) {
      assert.throws(() => parseEnvelope(bad), invalid('NOTIFY_ENVELOPE_INVALID'), JSON.stringify(bad));
    }
    assert.throws(() => parseEnvelope({ events: Array.from({ length: 3 }, () => ({ action: 'pull', target: { repository: 'a' } })) }, 2), invalid('NOTIFY_ENVELOPE_INVALID'));
  });
});
