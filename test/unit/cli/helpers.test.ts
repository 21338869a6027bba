import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../../cli/duration.js';
import { parseListen } from '../../../cli/commands/server.js';
import { styleFor, table } from '../../../cli/output.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { parsePlatform, formatPlatform } from '../../../lib/usecases/verify.js';
import { collectionSlug } from '../../../lib/usecases/keys.js';
import { KEY_NAME_PATTERN } from '../../../lib/keys/keystore.js';

describe('cli helpers', () => {
  it('parseDuration: units and combinations; garbage is CLI_USAGE', () => {
    assert.equal(parseDuration('90d'), 90 * 86_400);
    assert.equal(parseDuration('1d12h'), 36 * 3600);
    assert.equal(parseDuration('1y'), 365 * 86_400);
    assert.equal(parseDuration('45s'), 45);
    for (const bad of ['', '0d', '12', 'd', '1x', '1d 2h', '-1d', '101y']) {
      assert.throws(() => parseDuration(bad), (e: unknown) => isOcitrustError(e, 'CLI_USAGE'), bad);
    }
  });

  it('parseListen: host:port, [v6]:port, :port, port', () => {
    assert.deepEqual(parseListen('127.0.0.1:7443'), { host: '127.0.0.1', port: 7443 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseListen(':8080'), { port: 8080 });
    assert.deepEqual(parseListen('8080'), { port: 8080 });
    for (const bad of ['nowhere', '1.2.3.4:99999', 'host:', 'a b:1']) {
      assert.throws(() => parseListen(bad), (e: unknown) => isOcitrustError(e, 'CLI_USAGE'), bad);
    }
  });

  it('table aligns columns and ignores ANSI sequences in widths', () => {
    assert.equal(table([['A', 'BB', 'C'], ['aaa', 'b', 'c']]), 'A    BB  C\naaa  b   c\n');
    assert.equal(table([['\u001b[32mok\u001b[39m', 'x'], ['long', 'y']]), '\u001b[32mok\u001b[39m    x\nlong  y\n');
  });

  it('color only on a terminal and never with NO_COLOR', () => {
    assert.equal(styleFor({ isTTY: true }, {}).green('x'), '\u001b[32mx\u001b[39m');
    assert.equal(styleFor({ isTTY: true }, { NO_COLOR: '1' }).green('x'), 'x');
    assert.equal(styleFor({ isTTY: false }, {}).green('x'), 'x');
    assert.equal(styleFor({}, {}).enabled, false);
  });

  it('platforms parse and format', () => {
    assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.equal(formatPlatform(parsePlatform('linux/amd64')), 'linux/amd64');
    for (const bad of ['linux', 'a/b/c/d', 'linux/', 'li nux/amd64']) {
      assert.throws(() => parsePlatform(bad), (e: unknown) => isOcitrustError(e, 'INVALID_ARGUMENT'), bad);
    }
  });

  it('collection slugs make valid, distinct key names', () => {
    const a = collectionSlug('registry.example.com/team/app');
    const b = collectionSlug('other.example.com/team/app');
    assert.match(a, /^app-[0-9a-f]{8}$/);
    assert.notEqual(a, b);
    for (const c of ['127.0.0.1:5000/x', 'r.example.com/' + 'a'.repeat(200), 'r.example.com/_.x']) {
      assert.ok(KEY_NAME_PATTERN.test(`targets-${collectionSlug(c)}-v12`), c);
    }
  });
});
