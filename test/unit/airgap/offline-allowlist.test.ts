import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endpointOfUrl, formatEndpoint, normalizeHost, OfflineAllowlist } from '../../../cli/offline-allowlist.js';
import { HttpRegistryClient } from '../../../lib/oci/client.js';
import { anonymous } from '../../../lib/oci/credentials.js';
import { parseReference } from '../../../lib/reference.js';

describe('cli/offline-allowlist', () => {
  it('normalizes hosts: case, trailing dot, IPv6 brackets and canonical form', () => {
    assert.equal(normalizeHost('Registry.Example.COM.'), 'registry.example.com');
    assert.equal(normalizeHost('[::1]'), '::1');
    assert.equal(normalizeHost('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(normalizeHost('[2001:DB8:0:0:0:0:0:1]'), '2001:db8::1');
    assert.equal(normalizeHost('127.0.0.1'), '127.0.0.1');
    assert.equal(formatEndpoint('::1', 5000), '[::1]:5000');
    assert.equal(formatEndpoint('ghcr.io', 443), 'ghcr.io:443');
  });

  it('maps URLs to the endpoint dialled: default ports by scheme, explicit ports kept, only http(s)', () => {
    assert.deepEqual(endpointOfUrl('https://registry-1.docker.io/v2/'), { host: 'registry-1.docker.io', port: 443 });
    assert.deepEqual(endpointOfUrl('http://localhost/v2/'), { host: 'localhost', port: 80 });
    assert.deepEqual(endpointOfUrl('http://[::1]:5000'), { host: '::1', port: 5000 });
    assert.deepEqual(endpointOfUrl('https://auth.example:8443/token?service=x'), { host: 'auth.example', port: 8443 });
    assert.throws(() => endpointOfUrl('ftp://x.example/'), TypeError);
  });

  it('allows a connect only to an added host:port, and a DNS query only for an added host name', () => {
    const l = new OfflineAllowlist();
    assert.equal(l.describe(), 'nothing');
    assert.equal(l.allowsConnect('127.0.0.1', 5000), undefined);
    l.addUrl('https://Reg.Example/', 'registry of reg.example');
    l.addUrl('http://[::1]:5000', 'registry of [::1]:5000');
    assert.equal(l.allowsConnect('reg.example', 443)?.why, 'registry of reg.example');
    assert.equal(l.allowsConnect('REG.EXAMPLE.', '443')?.why, 'registry of reg.example');
    assert.equal(l.allowsConnect('reg.example', 80), undefined, 'another port of the same host');
    assert.equal(l.allowsConnect('reg.example', '443x'), undefined);
    assert.equal(l.allowsConnect('other.example', 443), undefined);
    assert.ok(l.allowsConnect('::1', 5000));
    assert.ok(l.allowsConnect('[0:0:0:0:0:0:0:1]', '5000'));
    assert.equal(l.allowsConnect('127.0.0.1', 5000), undefined, 'an IPv6 loopback entry does not allow the IPv4 one');
    assert.equal(l.allowsLookup('reg.example'), true);
    assert.equal(l.allowsLookup('Reg.Example.'), true);
    assert.equal(l.allowsLookup('trust.example'), false);
    assert.equal(l.allowsLookup('sub.reg.example'), false, 'no subdomains');
    // Idempotent, the first reason kept.
    l.add('reg.example', 443, 'again');
    assert.equal(l.entries.length, 2);
    assert.equal(l.describe(), 'reg.example:443 (registry of reg.example), [::1]:5000 (registry of [::1]:5000)');
  });

  it('with the registry client\'s base URL: docker.io is registry-1.docker.io:443, loopback is plain HTTP on its port, --plain-http hosts on 80', () => {
    const client = new HttpRegistryClient({ credentials: anonymous });
    const at = (ref: string, c = client) => {
      const r = parseReference(ref);
      return endpointOfUrl(c.baseUrl(r.registry));
    };
    assert.deepEqual(at('nginx:1.25'), { host: 'registry-1.docker.io', port: 443 });
    assert.deepEqual(at('index.docker.io/alice/app:v1'), { host: 'registry-1.docker.io', port: 443 });
    assert.deepEqual(at('ghcr.io/o/app:v1'), { host: 'ghcr.io', port: 443 });
    assert.deepEqual(at('localhost:5000/app:v1'), { host: 'localhost', port: 5000 });
    assert.deepEqual(at('[::1]:5000/app:v1'), { host: '::1', port: 5000 });
    assert.deepEqual(at('reg.example:8443/app:v1'), { host: 'reg.example', port: 8443 });
    assert.deepEqual(at('reg.internal/app:v1', new HttpRegistryClient({ credentials: anonymous, plainHttp: true })), { host: 'reg.internal', port: 80 });
  });
});
