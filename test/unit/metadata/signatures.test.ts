import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../../lib/errors/index.js';
import { Metadata } from '../../../lib/metadata/metadata.js';
import { buildCollection, freshSigners, signDocument, type TestCollection } from '../../helpers/collection.js';

function throwsCode(fn: () => unknown, code: string): OcitrustError {
  let err: OcitrustError | undefined;
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OcitrustError, `expected OcitrustError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    err = e;
    return true;
  });
  return err!;
}

let c: TestCollection;
before(async () => {
  c = await buildCollection({ collection: 'reg.example/app', rootKeys: 3, rootThreshold: 2, targetsKeys: 2, targetsThreshold: 2 });
});

describe('Metadata#verifyDelegate (threshold over distinct keyids)', () => {
  it('accepts metadata signed by a threshold of the role keys', () => {
    c.root.verifyDelegate('root', c.root);
    c.root.verifyDelegate('targets', c.targets);
    c.root.verifyDelegate('snapshot', c.snapshot);
    c.root.verifyDelegate('timestamp', c.timestamp);
  });

  it('threshold not met: one of two required targets keys', () => {
    const doc = signDocument(c.json('1.targets.json'), [c.keys.targets[0]!]);
    const e = throwsCode(() => c.root.verifyDelegate('targets', Metadata.fromJSON('targets', doc)), 'TUF_THRESHOLD_NOT_MET');
    assert.equal(e.exitCode, 1);
    assert.deepEqual(e.details, { role: 'targets', valid: 1, threshold: 2 });
  });

  it('a signature by an undelegated key does not count', () => {
    const [stranger] = freshSigners(1);
    const doc = signDocument(c.json('1.targets.json'), [c.keys.targets[0]!, stranger!]);
    throwsCode(() => c.root.verifyDelegate('targets', Metadata.fromJSON('targets', doc)), 'TUF_THRESHOLD_NOT_MET');
  });

  it('a key of another role does not count (snapshot key signing targets)', () => {
    const doc = signDocument(c.json('1.targets.json'), [c.keys.targets[0]!, c.keys.snapshot[0]!]);
    throwsCode(() => c.root.verifyDelegate('targets', Metadata.fromJSON('targets', doc)), 'TUF_THRESHOLD_NOT_MET');
  });

  it('the same key signing twice is refused at parse time, never counted twice', () => {
    const k = c.keys.targets[0]!;
    const doc = signDocument(c.json('1.targets.json'), [k, k]);
    throwsCode(() => Metadata.fromJSON('targets', doc), 'METADATA_DUPLICATE_KEYID');
  });

  it('a signature filed under another key\'s keyid does not count', () => {
    const [a, b] = c.keys.targets;
    const doc = signDocument(c.json('1.targets.json'), [a!, b!]);
    doc.signatures[1].sig = doc.signatures[0].sig; // a's signature claimed for b
    throwsCode(() => c.root.verifyDelegate('targets', Metadata.fromJSON('targets', doc)), 'TUF_THRESHOLD_NOT_MET');
  });

  it('a tampered signed part invalidates every signature', () => {
    const doc = c.json('1.targets.json');
    doc.signed.expires = '2099-01-01T00:00:00Z';
    throwsCode(() => c.root.verifyDelegate('targets', Metadata.fromJSON('targets', doc)), 'TUF_THRESHOLD_NOT_MET');
  });

  it('a malformed (wrong length, non-canonical S) signature counts as invalid, never throws something else', () => {
    const doc = c.json('1.targets.json');
    doc.signatures[0].sig = doc.signatures[0].sig.slice(0, 126);
    doc.signatures[1].sig = doc.signatures[1].sig.slice(0, 64) + 'ff'.repeat(32);
    throwsCode(() => c.root.verifyDelegate('targets', Metadata.fromJSON('targets', doc)), 'TUF_THRESHOLD_NOT_MET');
  });

  it('an unknown role is METADATA_ROLE_NOT_FOUND', () => {
    throwsCode(() => c.root.verifyDelegate('releases', c.targets), 'METADATA_ROLE_NOT_FOUND');
    throwsCode(() => c.targets.verifyDelegate('alice', c.targets), 'METADATA_ROLE_NOT_FOUND');
    throwsCode(() => c.snapshot.verifyDelegate('x', c.targets), 'METADATA_ROLE_NOT_FOUND');
  });
});

describe('Metadata#sign', () => {
  it('appends, and replaces a signature by the same key instead of adding a second one', async () => {
    const [k1, k2] = c.keys.targets;
    const unsigned = c.targets.unsigned();
    assert.equal(unsigned.signatures.size, 0);
    const one = await unsigned.sign(k1!);
    const again = await one.sign(k1!);
    assert.equal(again.signatures.size, 1);
    const two = await again.sign(k2!);
    assert.equal(two.signatures.size, 2);
    c.root.verifyDelegate('targets', two);
    assert.equal(unsigned.signatures.size, 0, 'signing returns a copy');
  });
});
