import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseWwwAuthenticate, repositoryScope } from '../../../lib/oci/auth.js';
import { parseRetryAfter, redactUrl } from '../../../lib/oci/transport.js';
import { nextLink } from '../../../lib/oci/client.js';

describe('oci HTTP header parsing', () => {
  describe('#parseWwwAuthenticate', () => {
    it('reads a Docker Hub bearer challenge', () => {
      const c = parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"');
      assert.equal(c.length, 1);
      assert.equal(c[0]!.scheme, 'bearer');
      assert.deepEqual({ ...c[0]!.params }, {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull',
      });
    });
    it('reads basic, unquoted values, spaces and case', () => {
      const c = parseWwwAuthenticate('BASIC Realm = "my realm" , charset=UTF-8');
      assert.equal(c[0]!.scheme, 'basic');
      assert.equal(c[0]!.params.realm, 'my realm');
      assert.equal(c[0]!.params.charset, 'UTF-8');
    });
    it('splits several challenges and skips token68 forms', () => {
      const c = parseWwwAuthenticate('Negotiate abc==, Basic realm="r", Bearer realm="https://t/x",service="s"');
      assert.deepEqual(c.map((x) => x.scheme), ['negotiate', 'basic', 'bearer']);
      assert.equal(c[1]!.params.realm, 'r');
      assert.equal(c[2]!.params.service, 's');
    });
    it('handles escaped quotes and commas inside quotes', () => {
      const c = parseWwwAuthenticate('Bearer realm="https://t/x?a=1,b=2",error="say \\"hi\\""');
      assert.equal(c[0]!.params.realm, 'https://t/x?a=1,b=2');
      assert.equal(c[0]!.params.error, 'say "hi"');
    });
    it('keeps the first of duplicated parameters and never throws on junk', () => {
      assert.equal(parseWwwAuthenticate('Bearer realm="a",realm="b"')[0]!.params.realm, 'a');
      fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void parseWwwAuthenticate(s)), { numRuns: 2000 });
      assert.deepEqual(parseWwwAuthenticate(''), []);
    });
    it('builds repository scopes', () => {
      assert.equal(repositoryScope('a/b', ['pull', 'push']), 'repository:a/b:pull,push');
    });
  });

  describe('#parseRetryAfter', () => {
    it('reads seconds and HTTP dates', () => {
      assert.equal(parseRetryAfter('3'), 3000);
      assert.equal(parseRetryAfter(null), undefined);
      assert.equal(parseRetryAfter('soon'), undefined);
      const now = Date.parse('2026-01-01T00:00:00Z');
      assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
      assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    });
  });

  describe('#nextLink', () => {
    it('finds rel="next" among links', () => {
      assert.equal(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"'), '/v2/a/tags/list?n=2&last=b');
      assert.equal(nextLink('<https://x/prev>; rel="prev", <https://x/next?a=1,2>; rel=next'), 'https://x/next?a=1,2');
      assert.equal(nextLink('<https://x/p>; rel="prev"'), undefined);
      assert.equal(nextLink(null), undefined);
      assert.equal(nextLink('garbage'), undefined);
    });
  });

  it('redactUrl drops query strings (upload state tokens)', () => {
    assert.equal(redactUrl('http://h/v2/a/blobs/uploads/x?_state=secret'), 'http://h/v2/a/blobs/uploads/x?…');
    assert.equal(redactUrl('http://h/v2/'), 'http://h/v2/');
  });
});
