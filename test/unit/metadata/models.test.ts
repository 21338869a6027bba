import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { OcitrustError } from '../../../lib/errors/index.js';
import { Metadata } from '../../../lib/metadata/metadata.js';
import { bytesEqual, sha256Hex } from '../../../lib/crypto/hash.js';
import { canonicalBytes } from '../../../lib/crypto/canonical.js';
import { DEFAULT_LIMITS } from '../../../lib/config.js';
import { buildCollection, signDocument, toBytes, type TestCollection } from '../../helpers/collection.js';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OcitrustError, `expected OcitrustError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

let c: TestCollection;
before(async () => {
  c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }, { name: 'bob', keys: 2, threshold: 2 }] });
});

const FILES = { root: '1.root.json', targets: '1.targets.json', snapshot: '1.snapshot.json', timestamp: 'timestamp.json' } as const;

describe('Metadata', () => {
  describe('#fromBytes / #toBytes', () => {
    for (const [role, file] of Object.entries(FILES)) {
      it(`${role}: round-trips to the same bytes`, () => {
        const md = Metadata.fromBytes(role as keyof typeof FILES, c.file(file));
        assert.ok(bytesEqual(md.toBytes(), c.file(file)));
      });
    }

    it('refuses numbers not written as integers (version 1.0, length 1e3), which go-tuf and python-tuf refuse too', () => {
      const text = Buffer.from(c.file('timestamp.json')).toString('utf8');
      for (const [from, to] of [[/"version":(\d+)/, '"version":$1.0'], [/"length":(\d+)/, '"length":$1e0'], [/"version":(\d+)/, '"version":-0']] as const) {
        const bad = text.replace(from, to);
        assert.notEqual(bad, text);
        throwsCode(() => Metadata.fromBytes('timestamp', Buffer.from(bad)), 'METADATA_INVALID');
      }
    });

    it('keeps unrecognized fields at every level, so signatures still verify after a round trip', () => {
      const doc = c.json('1.targets.json');
      doc.extra = { top: 1 };
      doc.signed.x_custom = { nested: ['a', 1, true, null] };
      doc.signed.delegations.x_deleg = 'd';
      doc.signed.delegations.roles[0].x_role = 7;
      doc.signed.revocations.push({ digest: `sha256:${'a'.repeat(64)}`, reason: 'r', x_rev: 'kept' });
      const signed = signDocument(doc, c.keys.targets);
      signed.signatures[0].x_sig = 'kept';
      const md = Metadata.fromJSON('targets', signed);
      assert.deepEqual(md.toJSON(), signed);
      c.root.verifyDelegate('targets', Metadata.fromBytes('targets', toBytes(md.toJSON())));
    });

    it('keeps a "__proto__" member as plain data through parse, model and serialization', () => {
      const doc = c.json('timestamp.json');
      const text = JSON.stringify(signDocument(doc, c.keys.timestamp)).replace('"signed":{', '"signed":{"__proto__":{"polluted":true},');
      const resigned = JSON.parse(text);
      const signedAgain = signDocument(resigned, c.keys.timestamp);
      const md = Metadata.fromBytes('timestamp', new TextEncoder().encode(JSON.stringify(signedAgain)));
      assert.equal(({} as any).polluted, undefined);
      assert.deepEqual(Object.getOwnPropertyDescriptor(md.signed.toJSON(), '__proto__')?.value, { polluted: true });
      c.root.verifyDelegate('timestamp', md);
    });

    it('hashes unknown key fields (legacy keyid_hash_algorithms) into the keyid, as other TUF implementations do', () => {
      const doc = c.json('1.targets.json');
      const [id, key] = Object.entries(doc.signed.delegations.keys)[0] as [string, any];
      const legacy = { ...key, keyid_hash_algorithms: ['sha256', 'sha512'] };
      doc.signed.delegations.keys[id] = legacy;
      throwsCode(() => Metadata.fromJSON('targets', doc), 'METADATA_KEYID_MISMATCH');
      const newId = sha256Hex(canonicalBytes(legacy));
      delete doc.signed.delegations.keys[id];
      doc.signed.delegations.keys[newId] = legacy;
      for (const r of doc.signed.delegations.roles) r.keyids = r.keyids.map((k: string) => (k === id ? newId : k));
      const md = Metadata.fromJSON('targets', doc);
      assert.deepEqual(md.signed.delegations!.keys.get(newId)!.toJSON(), legacy);
    });
  });

  describe('validation of untrusted input', () => {
    const mutate = (file: string, f: (d: any) => void): any => {
      const d = c.json(file);
      f(d);
      return d;
    };
    const cases: Array<[string, keyof typeof FILES, (d: any) => void, string]> = [
      ['wrong _type', 'snapshot', (d) => (d.signed._type = 'timestamp'), 'METADATA_TYPE_MISMATCH'],
      ['spec_version 2.0.0', 'targets', (d) => (d.signed.spec_version = '2.0.0'), 'METADATA_SPEC_VERSION_UNSUPPORTED'],
      ['spec_version not a string', 'targets', (d) => (d.signed.spec_version = 1), 'METADATA_INVALID'],
      ['version 0', 'targets', (d) => (d.signed.version = 0), 'METADATA_INVALID'],
      ['version a float', 'targets', (d) => (d.signed.version = 1.5), 'METADATA_INVALID'],
      ['version a string', 'timestamp', (d) => (d.signed.version = '1'), 'METADATA_INVALID'],
      ['expires with fractional seconds', 'targets', (d) => (d.signed.expires = '2030-01-01T00:00:00.000Z'), 'METADATA_INVALID'],
      ['expires with an offset', 'targets', (d) => (d.signed.expires = '2030-01-01T00:00:00+01:00'), 'METADATA_INVALID'],
      ['expires not a date', 'targets', (d) => (d.signed.expires = '2030-02-30T00:00:00Z'), 'METADATA_INVALID'],
      ['signatures not an array', 'targets', (d) => (d.signatures = {}), 'METADATA_INVALID'],
      ['signature keyid not hex', 'targets', (d) => (d.signatures[0].keyid = 'zz'), 'METADATA_INVALID'],
      ['signature sig not hex', 'targets', (d) => (d.signatures[0].sig = 'xyz'), 'METADATA_INVALID'],
      ['duplicate keyid in signatures', 'targets', (d) => d.signatures.push({ ...d.signatures[0] }), 'METADATA_DUPLICATE_KEYID'],
      ['duplicate keyid in a role', 'targets', (d) => d.signed.delegations.roles[0].keyids.push(d.signed.delegations.roles[0].keyids[0]), 'METADATA_DUPLICATE_KEYID'],
      ['duplicate keyid in a root role', 'root', (d) => d.signed.roles.root.keyids.push(d.signed.roles.root.keyids[0]), 'METADATA_DUPLICATE_KEYID'],
      ['threshold 0', 'targets', (d) => (d.signed.delegations.roles[0].threshold = 0), 'METADATA_THRESHOLD_INVALID'],
      ['threshold above the number of keys', 'targets', (d) => (d.signed.delegations.roles[0].threshold = 2), 'METADATA_THRESHOLD_INVALID'],
      ['root threshold above the number of keys', 'root', (d) => (d.signed.roles.snapshot.threshold = 3), 'METADATA_THRESHOLD_INVALID'],
      ['role keyid not in keys', 'targets', (d) => (d.signed.delegations.roles[0].keyids = ['0'.repeat(64)]), 'METADATA_INVALID'],
      ['role name with a slash', 'targets', (d) => (d.signed.delegations.roles[0].name = 'a/b'), 'METADATA_ROLE_NAME_INVALID'],
      ['role name "..', 'targets', (d) => (d.signed.delegations.roles[0].name = '..'), 'METADATA_ROLE_NAME_INVALID'],
      ['role named like a top-level role', 'targets', (d) => (d.signed.delegations.roles[0].name = 'targets'), 'METADATA_ROLE_NAME_INVALID'],
      ['role name used twice', 'targets', (d) => (d.signed.delegations.roles[1].name = d.signed.delegations.roles[0].name), 'METADATA_ROLE_NAME_INVALID'],
      ['path_hash_prefixes', 'targets', (d) => (d.signed.delegations.roles[0].path_hash_prefixes = ['ab']), 'METADATA_UNSUPPORTED'],
      ['paths missing', 'targets', (d) => delete d.signed.delegations.roles[0].paths, 'METADATA_INVALID'],
      ['succinct_roles', 'targets', (d) => (d.signed.delegations.succinct_roles = {}), 'METADATA_UNSUPPORTED'],
      ['terminating not a boolean', 'targets', (d) => (d.signed.delegations.roles[0].terminating = 'no'), 'METADATA_INVALID'],
      ['consistent_snapshot false', 'root', (d) => (d.signed.consistent_snapshot = false), 'METADATA_UNSUPPORTED'],
      ['root missing a top-level role', 'root', (d) => delete d.signed.roles.timestamp, 'METADATA_INVALID'],
      ['root with an extra role', 'root', (d) => (d.signed.roles.mirrors = d.signed.roles.root), 'METADATA_INVALID'],
      ['keyid that does not match its key', 'root', (d) => {
        const [id, k] = Object.entries(d.signed.keys)[0] as [string, unknown];
        delete d.signed.keys[id];
        d.signed.keys['f'.repeat(64)] = k;
        for (const r of Object.values(d.signed.roles) as any[]) r.keyids = r.keyids.map((x: string) => (x === id ? 'f'.repeat(64) : x));
      }, 'METADATA_KEYID_MISMATCH'],
      ['rsa key', 'root', (d) => (Object.values(d.signed.keys)[0] as any).keytype = 'rsa', 'KEY_UNSUPPORTED'],
      ['key not on the curve', 'targets', (d) => (Object.values(d.signed.delegations.keys)[0] as any).keyval.public = 'ff'.repeat(32), 'KEY_INVALID'],
      ['timestamp meta with an extra file', 'timestamp', (d) => (d.signed.meta['targets.json'] = { version: 1 }), 'METADATA_INVALID'],
      ['timestamp meta without snapshot.json', 'timestamp', (d) => (d.signed.meta = {}), 'METADATA_INVALID'],
      ['snapshot meta without targets.json', 'snapshot', (d) => (d.signed.meta = {}), 'METADATA_INVALID'],
      ['meta hash not hex', 'timestamp', (d) => (d.signed.meta['snapshot.json'].hashes.sha256 = 'XYZ'), 'METADATA_INVALID'],
      ['meta length negative', 'timestamp', (d) => (d.signed.meta['snapshot.json'].length = -1), 'METADATA_INVALID'],
      ['revocation digest malformed', 'targets', (d) => d.signed.revocations.push({ digest: 'sha256:xyz', reason: 'x' }), 'METADATA_INVALID'],
      ['revocation reason missing', 'targets', (d) => d.signed.revocations.push({ digest: `sha256:${'a'.repeat(64)}` }), 'METADATA_INVALID'],
      ['revocation role unsafe', 'targets', (d) => d.signed.revocations.push({ digest: `sha256:${'a'.repeat(64)}`, reason: 'x', role: '../x' }), 'METADATA_ROLE_NAME_INVALID'],
      ['revocation revokedAt malformed', 'targets', (d) => d.signed.revocations.push({ digest: `sha256:${'a'.repeat(64)}`, reason: 'x', revokedAt: 'yesterday' }), 'METADATA_INVALID'],
      ['float in an unknown field', 'targets', (d) => (d.signed.x = 1.5), 'CANONICAL_JSON_UNSUPPORTED'],
    ];
    for (const [name, role, f, code] of cases) {
      it(`${role}: ${name} → ${code}`, () => {
        throwsCode(() => Metadata.fromJSON(role, mutate(FILES[role], f)), code);
      });
    }

    it('duplicate JSON keys are refused before parsing into a model', () => {
      const text = Buffer.from(c.file('timestamp.json')).toString().replace('"signed":{', '"signed":{"version":99,');
      throwsCode(() => Metadata.fromBytes('timestamp', Buffer.from(text)), 'JSON_DUPLICATE_KEY');
    });

    it('oversized input is refused', () => {
      throwsCode(() => Metadata.fromBytes('timestamp', c.file('timestamp.json'), { ...limitsOf(), maxMetadataBytes: 10 }), 'INPUT_TOO_LARGE');
    });

    it('more delegations than the limit are refused', () => {
      throwsCode(() => Metadata.fromJSON('targets', c.json('1.targets.json'), { ...limitsOf(), maxDelegations: 1 }), 'INPUT_TOO_LARGE');
    });
  });
});

function limitsOf(): typeof DEFAULT_LIMITS {
  return { ...DEFAULT_LIMITS };
}
