// Header handling of the proxy (server/proxy/headers.ts): hop-by-hop fields dropped both ways
// (RFC 9110 §7.6.1, including fields named in Connection), the ocitrust token never forwarded,
// upstream-absolute Locations and Links made proxy-relative, token realms rewritten only by a
// configured prefix rule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clientResponseHeaders, relativize, relativizeLinks, rewriteRealm, upstreamRequestHeaders, OCITRUST_TOKEN_HEADER } from '../../../server/proxy/headers.js';

const UP = 'http://10.0.0.5:5000';

describe('upstreamRequestHeaders', () => {
  const base = {
    host: 'proxy.example.com',
    connection: 'keep-alive, x-private',
    'x-private': 'hop',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    'transfer-encoding': 'chunked',
    'proxy-authorization': 'Basic cHJveHk6cHc=',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    expect: '100-continue',
    [OCITRUST_TOKEN_HEADER]: 'ocit_secret',
    authorization: 'Bearer upstream-jwt',
    accept: 'application/vnd.oci.image.manifest.v1+json',
    'content-length': '10',
    range: 'bytes=0-1',
  };

  it('drops hop-by-hop fields, forwarding fields and the ocitrust token; keeps end-to-end ones', () => {
    const h = upstreamRequestHeaders(base, { upstreamHost: '10.0.0.5:5000', clientIp: '192.0.2.7', dropAuthorization: false });
    assert.deepEqual(h, {
      host: '10.0.0.5:5000',
      'x-forwarded-for': '192.0.2.7',
      authorization: 'Bearer upstream-jwt',
      accept: 'application/vnd.oci.image.manifest.v1+json',
      'content-length': '10',
      range: 'bytes=0-1',
    });
  });

  it('consumes an Authorization that carried our token, sending the configured upstream credential instead', () => {
    const none = upstreamRequestHeaders(base, { upstreamHost: 'u', clientIp: 'c', dropAuthorization: true });
    assert.equal(none.authorization, undefined);
    const replaced = upstreamRequestHeaders(base, { upstreamHost: 'u', clientIp: 'c', dropAuthorization: true, authorization: 'Basic dXA6cHc=' });
    assert.equal(replaced.authorization, 'Basic dXA6cHc=');
    const kept = upstreamRequestHeaders(base, { upstreamHost: 'u', clientIp: 'c', dropAuthorization: false, authorization: 'Basic dXA6cHc=' });
    assert.equal(kept.authorization, 'Bearer upstream-jwt', 'configured credentials never override the client\'s own');
  });

  it('leaves out what the caller asks (conditional fields of a manifest fetch)', () => {
    const h = upstreamRequestHeaders({ ...base, 'if-none-match': '"x"' }, { upstreamHost: 'u', clientIp: 'c', dropAuthorization: false, omit: ['if-none-match', 'range'] });
    assert.equal(h['if-none-match'], undefined);
    assert.equal(h.range, undefined);
  });
});

describe('relativize', () => {
  it('makes upstream-absolute URLs proxy-relative and leaves the rest alone', () => {
    assert.equal(relativize(`${UP}/v2/a/blobs/uploads/u1?_state=xyz`, UP), '/v2/a/blobs/uploads/u1?_state=xyz');
    assert.equal(relativize('/v2/a/blobs/uploads/u1', UP), '/v2/a/blobs/uploads/u1');
    assert.equal(relativize('https://s3.example.com/bucket/blob?sig=1', UP), 'https://s3.example.com/bucket/blob?sig=1');
    assert.equal(relativize('http://10.0.0.5:5001/v2/x', UP), 'http://10.0.0.5:5001/v2/x', 'another port is another origin');
    assert.equal(relativize('::not a url', UP), '::not a url');
  });

  it('rewrites every target of a Link header', () => {
    assert.equal(relativizeLinks(`<${UP}/v2/a/tags/list?n=2&last=b>; rel="next"`, UP), '</v2/a/tags/list?n=2&last=b>; rel="next"');
    assert.equal(relativizeLinks('</v2/_catalog?last=x>; rel="next"', UP), '</v2/_catalog?last=x>; rel="next"');
  });
});

describe('rewriteRealm', () => {
  const challenge = 'Bearer realm="http://10.0.0.5:5001/auth/token",service="registry",scope="repository:a:pull"';

  it('leaves challenges unchanged without rules', () => {
    assert.equal(rewriteRealm(challenge, []), challenge);
  });

  it('rewrites the realm by the first matching prefix rule only', () => {
    const rules: [string, string][] = [
      ['http://10.0.0.5:5001/auth/', 'https://auth.example.com/v1/'],
      ['http://10.0.0.5:5001/', 'https://wrong.example.com/'],
    ];
    assert.equal(rewriteRealm(challenge, rules), 'Bearer realm="https://auth.example.com/v1/token",service="registry",scope="repository:a:pull"');
    assert.equal(rewriteRealm('Basic realm="Registry"', rules), 'Basic realm="Registry"');
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop fields and rewrites Location, Link and WWW-Authenticate', () => {
    const h = clientResponseHeaders(
      {
        connection: 'close',
        'transfer-encoding': 'chunked',
        location: `${UP}/v2/a/blobs/uploads/u?_state=s`,
        link: `<${UP}/v2/a/tags/list?last=t>; rel="next"`,
        'www-authenticate': 'Bearer realm="http://10.0.0.5:5001/token"',
        'docker-upload-uuid': 'u',
        range: '0-99',
        'set-cookie': ['a=1', 'b=2'],
      },
      { upstreamOrigin: UP, realmRewrite: [['http://10.0.0.5:5001/', 'https://auth.example.com/']] },
    );
    assert.deepEqual(h, {
      location: '/v2/a/blobs/uploads/u?_state=s',
      link: '</v2/a/tags/list?last=t>; rel="next"',
      'www-authenticate': 'Bearer realm="https://auth.example.com/token"',
      'docker-upload-uuid': 'u',
      range: '0-99',
      'set-cookie': ['a=1', 'b=2'],
    });
  });
});
