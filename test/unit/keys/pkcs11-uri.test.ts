// PKCS#11 URIs (RFC 7512) parsed strictly: every attribute ocitrust matches on, percent-encoding
// (binary ids, UTF-8 labels), and every malformed or unsafe form refused with PKCS11_URI_INVALID.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodePkcs11Value, isPkcs11Uri, parsePkcs11Uri } from '../../../lib/keys/pkcs11/uri.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

const invalid = (uri: string, re: RegExp) =>
  assert.throws(
    () => parsePkcs11Uri(uri),
    (e) => {
      assert.ok(isOcitrustError(e, 'PKCS11_URI_INVALID'), String(e));
      assert.match(e.message, re);
      return true;
    },
  );

describe('PKCS#11 URIs', () => {
  it('parses the documented form: token, object, module-path', () => {
    const u = parsePkcs11Uri('pkcs11:token=ci;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so');
    assert.equal(u.token, 'ci');
    assert.equal(u.object, 'release');
    assert.equal(u.modulePath, '/usr/lib/softhsm/libsofthsm2.so');
    assert.equal(u.id, undefined);
  });

  it('decodes percent-encoding: a binary id, UTF-8 and reserved characters in labels', () => {
    const u = parsePkcs11Uri('pkcs11:token=My%20Token%3B1;object=caf%C3%A9;id=%01%FF%00;manufacturer=SoftHSM%20project;serial=abc;model=SoftHSM%20v2;slot-id=7;type=private?module-path=/m.so&pin-source=/run/pin');
    assert.equal(u.token, 'My Token;1');
    assert.equal(u.object, 'café');
    assert.deepEqual([...u.id!], [1, 255, 0]);
    assert.equal(u.manufacturer, 'SoftHSM project');
    assert.equal(u.model, 'SoftHSM v2');
    assert.equal(u.serial, 'abc');
    assert.equal(u.slotId, 7);
    assert.equal(u.type, 'private');
    assert.equal(u.pinSource, '/run/pin');
  });

  it('round-trips values through encodePkcs11Value', () => {
    for (const v of ['release', 'a b;c?d&e=f/g', 'ünïcode', '%41']) {
      assert.equal(parsePkcs11Uri(`pkcs11:object=${encodePkcs11Value(v)}`).object, v);
    }
    assert.deepEqual([...parsePkcs11Uri(`pkcs11:id=${encodePkcs11Value(Uint8Array.from([0, 0x7f, 0x80]))}`).id!], [0, 0x7f, 0x80]);
  });

  it('accepts the scheme in any case and ignores vendor x- attributes', () => {
    assert.ok(isPkcs11Uri('PKCS11:object=a'));
    assert.equal(parsePkcs11Uri('PKCS11:object=a;x-vendor=1?x-thing=2').object, 'a');
  });

  it('refuses a PIN in the URI: argv is not a place for secrets', () => {
    invalid('pkcs11:object=a?pin-value=1234', /pin-value.*--pin-file/);
  });

  it('refuses unknown, repeated, unsupported and malformed attributes', () => {
    invalid('pkcs11:object=a;tokn=ci', /unknown path attribute "tokn"/);
    invalid('pkcs11:object=a;object=b', /object is repeated/);
    invalid('pkcs11:object=a;slot-description=x', /does not match on it/);
    invalid('pkcs11:object=a?module-paht=/x', /unknown query attribute/);
    invalid('pkcs11:object=%zz', /%XX/);
    invalid('pkcs11:object=a%', /%XX/);
    invalid('pkcs11:object=%C3%28', /UTF-8/);
    invalid('pkcs11:object=%0A', /control characters/);
    invalid('pkcs11:object=a b', /RFC 3986/);
    invalid('pkcs11:object=a;slot-id=x', /slot-id: expected a decimal/);
    invalid('pkcs11:object=a;type=thing', /type: expected one of/);
    invalid('pkcs11:object', /expected name=value/);
    invalid('pkcs11:object=a?', /empty query/);
    invalid('pkcs11:object=a#frag', /fragment/);
    invalid('pkcs11:object=a?module-path=relative/lib.so', /absolute path/);
    invalid('pkcs11:object=a?module-path=', /expected a value/);
    invalid('pkcs11:token=ci', /object=LABEL or id=/);
    invalid('pkcs11:object=a&b', /must be percent-encoded/);
    invalid('file:object=a', /starting with pkcs11:/);
    invalid(`pkcs11:object=${'a'.repeat(5000)}`, /at most 4096/);
  });
});
