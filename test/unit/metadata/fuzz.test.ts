import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OcitrustError } from '../../../lib/errors/index.js';
import { Metadata } from '../../../lib/metadata/metadata.js';
import { Root } from '../../../lib/metadata/root.js';
import { Targets } from '../../../lib/metadata/targets.js';
import { Snapshot } from '../../../lib/metadata/snapshot.js';
import { Timestamp } from '../../../lib/metadata/timestamp.js';
import { Delegations } from '../../../lib/metadata/delegations.js';
import { DelegatedRole, Role } from '../../../lib/metadata/role.js';
import { MetaFile } from '../../../lib/metadata/meta-file.js';
import { Revocation } from '../../../lib/metadata/revocation.js';
import { buildCollection, type TestCollection } from '../../helpers/collection.js';

/** Runs `fn`; anything thrown must be an OcitrustError. */
function onlyOurErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof OcitrustError)) assert.fail(`threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

type Path = Array<string | number>;
function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}
function mutate(doc: any, path: Path, op: 'set' | 'delete', value: unknown): any {
  if (path.length === 0) return op === 'set' ? value : undefined;
  const copy = structuredClone(doc);
  let p = copy;
  for (const k of path.slice(0, -1)) p = p[k];
  const last = path[path.length - 1]!;
  if (op === 'delete') {
    if (Array.isArray(p)) p.splice(last as number, 1);
    else delete p[last];
  } else {
    p[last] = value;
  }
  return copy;
}

// Version 2 of targets carries a revocation, so every model is exercised.
const FILES = { root: '1.root.json', targets: '2.targets.json', snapshot: '2.snapshot.json', timestamp: 'timestamp.json' } as const;
const RUNS = 250;

let c: TestCollection;
before(async () => {
  c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }, { name: 'bob', keys: 2 }] });
  await c.revoke({ digest: `sha256:${'a'.repeat(64)}`, role: 'alice', reason: 'test', revokedAt: '2026-01-01T00:00:00Z' });
});

describe('fromJSON on garbage never throws anything but OcitrustError (fast-check)', () => {
  const parsers: Record<string, (v: unknown) => unknown> = {
    'Metadata.fromJSON(root)': (v) => Metadata.fromJSON('root', v),
    'Metadata.fromJSON(targets)': (v) => Metadata.fromJSON('targets', v),
    'Metadata.fromJSON(snapshot)': (v) => Metadata.fromJSON('snapshot', v),
    'Metadata.fromJSON(timestamp)': (v) => Metadata.fromJSON('timestamp', v),
    'Root.fromJSON': (v) => Root.fromJSON(v),
    'Targets.fromJSON': (v) => Targets.fromJSON(v),
    'Snapshot.fromJSON': (v) => Snapshot.fromJSON(v),
    'Timestamp.fromJSON': (v) => Timestamp.fromJSON(v),
    'Delegations.fromJSON': (v) => Delegations.fromJSON(v),
    'Role.fromJSON': (v) => Role.fromJSON(v, 'r'),
    'DelegatedRole.fromJSON': (v) => DelegatedRole.fromJSON(v, 'r'),
    'MetaFile.fromJSON': (v) => MetaFile.fromJSON(v, 'm'),
    'Revocation.fromJSON': (v) => Revocation.fromJSON(v, 'r'),
  };
  for (const [name, parse] of Object.entries(parsers)) {
    it(`${name}: arbitrary JSON values`, () => {
      fc.assert(fc.property(fc.jsonValue(), (v) => onlyOurErrors(() => parse(v))), { numRuns: RUNS });
    });
  }

  for (const [role, file] of Object.entries(FILES)) {
    it(`${role}: valid documents with one field replaced or deleted`, () => {
      const doc = c.json(file);
      const all = paths(doc);
      fc.assert(
        fc.property(fc.nat({ max: all.length - 1 }), fc.constantFrom('set' as const, 'delete' as const), fc.jsonValue({ maxDepth: 3 }), (i, op, value) => {
          onlyOurErrors(() => Metadata.fromJSON(role as keyof typeof FILES, mutate(doc, all[i]!, op, value)));
        }),
        { numRuns: RUNS },
      );
    });

    it(`${role}: arbitrary bytes and truncations`, () => {
      const bytes = c.file(file);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat({ max: bytes.length }), (garbage, cut) => {
          onlyOurErrors(() => Metadata.fromBytes(role as keyof typeof FILES, garbage));
          onlyOurErrors(() => Metadata.fromBytes(role as keyof typeof FILES, bytes.subarray(0, cut)));
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('parses the unmodified documents (the mutations start from valid input)', () => {
    for (const [role, file] of Object.entries(FILES)) {
      Metadata.fromBytes(role as keyof typeof FILES, c.file(file));
    }
  });
});
