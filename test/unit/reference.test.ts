import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseReference,
  formatReference,
  normalizeRepository,
  targetPath,
  withDigest,
  registryApiHost,
  isLoopbackHost,
  isValidTag,
} from '../../lib/reference.js';
import { isOcitrustError } from '../../lib/errors/index.js';

const D256 = 'sha256:' + 'ab'.repeat(32);
const D512 = 'sha512:' + 'cd'.repeat(64);

describe('reference', () => {
  describe('#parseReference when the reference is valid', () => {
    const good: [string, { registry: string; path: string; tag?: string; digest?: string }][] = [
      ['nginx', { registry: 'docker.io', path: 'library/nginx', tag: 'latest' }],
      ['nginx:1.25', { registry: 'docker.io', path: 'library/nginx', tag: '1.25' }],
      ['library/nginx', { registry: 'docker.io', path: 'library/nginx', tag: 'latest' }],
      ['docker.io/nginx', { registry: 'docker.io', path: 'library/nginx', tag: 'latest' }],
      ['index.docker.io/nginx', { registry: 'docker.io', path: 'library/nginx', tag: 'latest' }],
      ['alice/app:v1', { registry: 'docker.io', path: 'alice/app', tag: 'v1' }],
      ['localhost/app', { registry: 'localhost', path: 'app', tag: 'latest' }],
      ['localhost:5000/a/b', { registry: 'localhost:5000', path: 'a/b', tag: 'latest' }],
      ['localhost:5000/a/b:t', { registry: 'localhost:5000', path: 'a/b', tag: 't' }],
      ['127.0.0.1:35000/team/app:v2', { registry: '127.0.0.1:35000', path: 'team/app', tag: 'v2' }],
      ['[::1]:5000/app', { registry: '[::1]:5000', path: 'app', tag: 'latest' }],
      ['ghcr.io/org/sub/app', { registry: 'ghcr.io', path: 'org/sub/app', tag: 'latest' }],
      ['Registry.Example.com/app', { registry: 'Registry.Example.com', path: 'app', tag: 'latest' }],
      ['Host/app', { registry: 'Host', path: 'app', tag: 'latest' }],
      ['a.b/c_d/e__f/g-h/i--j/k.l', { registry: 'a.b', path: 'c_d/e__f/g-h/i--j/k.l', tag: 'latest' }],
      [`app@${D256}`, { registry: 'docker.io', path: 'library/app', digest: D256 }],
      [`r.io/app:v1@${D256}`, { registry: 'r.io', path: 'app', tag: 'v1', digest: D256 }],
      [`r.io/app@${D512}`, { registry: 'r.io', path: 'app', digest: D512 }],
      ['app:_x', { registry: 'docker.io', path: 'library/app', tag: '_x' }],
      ['app:A.b-C_9', { registry: 'docker.io', path: 'library/app', tag: 'A.b-C_9' }],
      [`app:${'t'.repeat(128)}`, { registry: 'docker.io', path: 'library/app', tag: 't'.repeat(128) }],
      ['localhost:5000', { registry: 'docker.io', path: 'library/localhost', tag: '5000' }],
    ];
    for (const [input, want] of good) {
      it(`parses ${input.length > 60 ? input.slice(0, 60) + '…' : input}`, () => {
        const r = parseReference(input);
        assert.equal(r.registry, want.registry);
        assert.equal(r.path, want.path);
        assert.equal(r.repository, `${want.registry}/${want.path}`);
        assert.equal(r.tag, want.tag);
        assert.equal(r.digest, want.digest);
        assert.ok(Object.isFrozen(r));
      });
    }
  });

  describe('#parseReference when the reference is invalid', () => {
    const bad: [string, string][] = [
      ['', 'empty'],
      ['Nginx', 'uppercase path'],
      ['docker.io/Library/nginx', 'uppercase path component'],
      ['r.io/app:', 'empty tag'],
      ['r.io/app:.x', 'tag starting with .'],
      ['r.io/app:-x', 'tag starting with -'],
      [`r.io/app:${'t'.repeat(129)}`, 'tag too long'],
      ['r.io/app:a b', 'space in tag'],
      ['r.io/app@sha256:abc', 'short digest'],
      [`r.io/app@${D256.toUpperCase()}`, 'uppercase digest'],
      [`r.io/app@md5:${'a'.repeat(32)}`, 'unsupported algorithm'],
      ['r.io/app@', 'empty digest'],
      ['r.io//app', 'empty component'],
      ['r.io/app/', 'trailing slash'],
      ['/app', 'leading slash'],
      ['r.io/-app', 'component starting with -'],
      ['r.io/app-', 'component ending with -'],
      ['r.io/a..b', 'double dot'],
      ['r.io/a___b', 'triple underscore'],
      ['r.io/a.-b', 'mixed separator'],
      ['-r.io/app', 'host starting with -'],
      ['r.io:99999/app', 'port out of range'],
      ['r.io:/app', 'empty port'],
      ['r.io:x/app', 'port not numeric'],
      ['a'.repeat(64), '64-hex image id'],
      [`r.io/${'a'.repeat(300)}`, 'name too long'],
      ['r.io/app:v1:v2', 'two tags'],
      ['r.io/ap p', 'space in path'],
      ['r.io/app\n', 'newline'],
      ['https://r.io/app', 'scheme'],
    ];
    for (const [input, why] of bad) {
      it(`rejects ${why}`, () => {
        assert.throws(() => parseReference(input), (e: unknown) => isOcitrustError(e, 'REFERENCE_INVALID'));
      });
    }
    it('rejects non-strings with a coded error', () => {
      assert.throws(() => parseReference(42 as unknown as string), (e: unknown) => isOcitrustError(e, 'REFERENCE_INVALID'));
    });
    it('never throws anything but REFERENCE_INVALID on arbitrary strings', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 80 }), (s) => {
          try {
            parseReference(s);
          } catch (e) {
            assert.ok(isOcitrustError(e, 'REFERENCE_INVALID'), String(e));
          }
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('#formatReference', () => {
    it('round-trips normalized references', () => {
      for (const s of ['docker.io/library/nginx:latest', `r.io:5000/a/b:v1@${D256}`, `r.io/a@${D512}`]) {
        assert.equal(formatReference(parseReference(s)), s);
      }
    });
    it('is a fixed point for generated references', () => {
      const comp = fc.stringMatching(/^[a-z0-9]{1,5}(?:[._-][a-z0-9]{1,5})?$/);
      const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,10}$/);
      fc.assert(
        fc.property(fc.array(comp, { minLength: 1, maxLength: 3 }), fc.option(tag), (parts, t) => {
          const s = `reg.example:5000/${parts.join('/')}${t ? `:${t}` : ''}`;
          const r = parseReference(s);
          assert.equal(formatReference(parseReference(formatReference(r))), formatReference(r));
          assert.equal(r.path, parts.join('/'));
        }),
      );
    });
  });

  describe('helpers', () => {
    it('normalizeRepository refuses tags and digests', () => {
      assert.equal(normalizeRepository('alice/app'), 'docker.io/alice/app');
      assert.throws(() => normalizeRepository('alice/app:v1'), (e: unknown) => isOcitrustError(e, 'REFERENCE_INVALID'));
    });
    it('targetPath uses the tag, else the digest', () => {
      assert.equal(targetPath(parseReference('r.io/a:v1')), 'r.io/a:v1');
      assert.equal(targetPath(parseReference(`r.io/a@${D256}`)), `r.io/a@${D256}`);
      assert.equal(targetPath(withDigest(parseReference('r.io/a:v1'), D256)), 'r.io/a:v1');
      assert.throws(() => withDigest(parseReference('r.io/a'), 'sha256:x'), (e: unknown) => isOcitrustError(e, 'REFERENCE_INVALID'));
    });
    it('maps docker.io to its API host', () => {
      assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
      assert.equal(registryApiHost('ghcr.io'), 'ghcr.io');
    });
    it('recognizes loopback hosts only', () => {
      for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.0.0.1:80', '[::1]:5000', '127.1.2.3']) assert.ok(isLoopbackHost(h), h);
      for (const h of ['example.com', '10.0.0.1', '128.0.0.1', 'localhost.evil.com', '127.0.0.1.evil.com']) assert.ok(!isLoopbackHost(h), h);
    });
    it('isValidTag follows the tag grammar', () => {
      assert.ok(isValidTag('sha256-' + 'a'.repeat(64)));
      assert.ok(!isValidTag('sha256:abc'));
    });
  });
});
