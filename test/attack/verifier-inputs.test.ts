// Issue 12 item 4, the class: nothing the verifier is given may default to accept. A property
// test feeds verifyImage missing, undefined, null, NaN, Invalid Date and wrong-typed values in
// every field it reads (trust view, clock, statement fields, options), alone and combined. Every
// such input gives a coded error (INVALID_ARGUMENT / POLICY_INVALID, never a raw TypeError or
// INTERNAL) or `verified: false` — never `verified: true`.
//
// "Missing" is tried on every field. Where a field is optional with a documented default
// (reference.tag/digest, policy and its fields, limits and its fields) leaving it out of an
// input that verifies may still verify: that is the default, not a bad value. From an input
// that is denied (revoked, expired trust data, expired statement, threshold not met) no
// change of any field to a bad value, missing included, may lead to verified.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OcitrustError } from '../../lib/errors/index.js';
import { fixedClock } from '../../lib/clock.js';
import { verifyImage, type VerifyInput } from '../../lib/verify/verifier.js';
import { buildSignatureStatement } from '../../lib/statements/statement.js';
import { alice, bob, carol, DIGEST, input, rawEnvelope, role, sigEnvelope, statementInput, trust, REPO } from '../unit/verify/fixtures.js';

const RUNS = process.env.CI ? 1500 : 500;
const MISSING = Symbol('missing');

/** Values that are wrong for every field the verifier reads (booleans and strings added per kind below). */
const BAD_COMMON: readonly unknown[] = [MISSING, undefined, null, NaN, Infinity, -Infinity, -1, 1.5, new Date(NaN), {}, [], [null], Symbol('x'), () => true, new Uint8Array(0)];

type Kind = 'string' | 'number' | 'boolean' | 'other';

/** One field the verifier reads: a path into VerifyInput, its kind, whether it may be left out. */
interface Field {
  readonly path: readonly (string | number)[];
  readonly kind: Kind;
  readonly optional?: boolean;
  /** Values from the bad lists that are valid here (an empty revocation list, a skew of 0), compared by JSON. */
  readonly valid?: readonly unknown[];
}

const FIELDS: readonly Field[] = [
  { path: ['reference'], kind: 'other' },
  { path: ['reference', 'repository'], kind: 'string' },
  { path: ['reference', 'tag'], kind: 'string', optional: true },
  { path: ['reference', 'digest'], kind: 'string', optional: true },
  { path: ['digest'], kind: 'string' },
  { path: ['subject'], kind: 'other' },
  { path: ['subject', 'mediaType'], kind: 'string' },
  { path: ['subject', 'size'], kind: 'number' },
  { path: ['envelopes'], kind: 'other' },
  { path: ['envelopes', 0], kind: 'other' },
  { path: ['envelopes', 0, 'bytes'], kind: 'other' },
  { path: ['envelopes', 0, 'digest'], kind: 'string' },
  { path: ['trust'], kind: 'other' },
  { path: ['trust', 'collection'], kind: 'string' },
  { path: ['trust', 'version'], kind: 'number' },
  { path: ['trust', 'expires'], kind: 'other' },
  { path: ['trust', 'keys'], kind: 'other' },
  { path: ['trust', 'roles'], kind: 'other' },
  { path: ['trust', 'roles', 0], kind: 'other' },
  { path: ['trust', 'roles', 0, 'name'], kind: 'string' },
  { path: ['trust', 'roles', 0, 'keyids'], kind: 'other' },
  { path: ['trust', 'roles', 0, 'keyids', 0], kind: 'string' },
  { path: ['trust', 'roles', 0, 'threshold'], kind: 'number' },
  { path: ['trust', 'roles', 0, 'paths'], kind: 'other' },
  { path: ['trust', 'roles', 0, 'paths', 0], kind: 'string' },
  { path: ['trust', 'roles', 0, 'terminating'], kind: 'boolean' },
  { path: ['trust', 'revocations'], kind: 'other', valid: [[]] },
  { path: ['clock'], kind: 'other' },
  { path: ['clock', 'now'], kind: 'other' },
  { path: ['policy'], kind: 'other', optional: true },
  { path: ['policy', 'requiredRoles'], kind: 'other', optional: true },
  { path: ['policy', 'bindTag'], kind: 'boolean', optional: true },
  { path: ['policy', 'clockSkewSeconds'], kind: 'number', optional: true, valid: [0] },
  { path: ['policy', 'maxSignatures'], kind: 'number', optional: true },
  { path: ['policy', 'predicateType'], kind: 'string', optional: true },
  { path: ['limits'], kind: 'other', optional: true },
  { path: ['limits', 'maxEnvelopeBytes'], kind: 'number', optional: true },
  { path: ['limits', 'maxPayloadBytes'], kind: 'number', optional: true },
  { path: ['limits', 'maxEnvelopeSignatures'], kind: 'number', optional: true },
];

/** Fields of a revocation entry (for the revoked baseline, whose revocations[0] exists). */
const REVOCATION_FIELDS: readonly Field[] = [
  { path: ['trust', 'revocations', 0], kind: 'other' },
  { path: ['trust', 'revocations', 0, 'digest'], kind: 'string' },
  { path: ['trust', 'revocations', 0, 'reason'], kind: 'string' },
  { path: ['trust', 'revocations', 0, 'role'], kind: 'string' },
];

function badValues(kind: Kind): unknown[] {
  const out = [...BAD_COMMON];
  if (kind !== 'string') out.push('', 'x', '1', '2026-03-01T12:00:00Z');
  else out.push('', 0, 1);
  if (kind !== 'boolean') out.push(true, false);
  else out.push(0, 1, 'true', 'false');
  if (kind !== 'number') out.push(0, 2);
  else out.push(0);
  return out;
}

/** Clocks that answer garbage, or throw. */
const BAD_CLOCKS: readonly unknown[] = [
  { now: () => new Date(NaN) },
  { now: () => undefined },
  { now: () => null },
  { now: () => NaN },
  { now: () => 1_772_366_400_000 },
  { now: () => '2026-03-01T12:00:00Z' },
  { now: () => ({ getTime: () => 0 }) },
  {
    now: () => {
      throw new TypeError('clock broke');
    },
  },
];

/** A copy of `root` with the value at `path` replaced (or deleted for MISSING), copying only along the path. */
function setAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  // An earlier mutation replaced a parent with something that has no fields: nothing to set.
  // (A Date, Map or typed array is kept whole: spreading it would turn it into `{}`.)
  if (root === null || typeof root !== 'object' || (!Array.isArray(root) && Object.getPrototypeOf(root) !== Object.prototype)) return root;
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  if (rest.length === 0 && value === MISSING) {
    if (Array.isArray(copy)) copy.splice(head as number, 1);
    else delete copy[head as string];
    return copy;
  }
  copy[head as string] = setAt(copy[head as string], rest, value);
  return copy;
}

/** `{}`: an options object with every option at its default. */
function isEmptyObjectLiteral(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === 0;
}

type Outcome = 'verified' | 'denied' | 'refused';

function outcome(inp: unknown): Outcome {
  try {
    const r = verifyImage(inp as VerifyInput);
    assert.equal(typeof r.verified, 'boolean');
    return r.verified ? 'verified' : 'denied';
  } catch (e) {
    assert.ok(e instanceof OcitrustError, `a raw ${(e as Error)?.name ?? typeof e} escaped: ${String((e as Error)?.message ?? e)}`);
    assert.ok(e.code === 'INVALID_ARGUMENT' || e.code === 'POLICY_INVALID', `${e.code}: ${e.message}`);
    assert.match(e.message, /expected .+, got /);
    return 'refused';
  }
}

/** Generators of one mutation (field, bad value) over `fields`. */
function mutation(fields: readonly Field[]): fc.Arbitrary<{ field: Field; value: unknown }> {
  return fc.constantFrom(...fields).chain((field) => {
    let values = [...badValues(field.kind), ...(field.path.join('.') === 'clock' ? BAD_CLOCKS : [])];
    // Taking an element out of a list (a role, a revocation, a key) gives another valid view,
    // not a missing field; elements are replaced by bad values instead.
    if (typeof field.path[field.path.length - 1] === 'number') values = values.filter((v) => v !== MISSING);
    const valid = (field.valid ?? []).map((v) => JSON.stringify(v));
    values = values.filter((v) => !(typeof v === 'number' || Array.isArray(v)) || !valid.includes(JSON.stringify(v)));
    if (field.path.join('.') === 'clock.now') values.push(...BAD_CLOCKS.map((c) => (c as { now: unknown }).now));
    if (field.path.join('.') === 'trust.keys') values.push(new Map([[alice.keyid, { keyid: alice.keyid, verify: () => true }]]), new Map([[alice.keyid, null]]));
    return fc.constantFrom(...values).map((value) => ({ field, value }));
  });
}

/**
 * The mutations that take effect: one under a parent that another mutation replaced does
 * nothing, and of two on one field the last wins.
 */
function effective<M extends { field: Field }>(ms: readonly M[]): M[] {
  const key = (m: M): string => m.field.path.join('.');
  return ms.filter((m, i) => !ms.some((o, j) => (j !== i && key(m).startsWith(`${key(o)}.`)) || (j > i && key(o) === key(m))));
}

function apply(base: VerifyInput, ms: readonly { field: Field; value: unknown }[]): unknown {
  let v: unknown = base;
  for (const m of ms) v = setAt(v, m.field.path, m.value);
  return v;
}

describe('attack: verifier inputs never default to accept (issue 12 item 4, property)', () => {
  it('from an input that verifies, bad values in any field give a coded error or not-verified', async () => {
    const base = input([await sigEnvelope([alice])], { policy: { bindTag: false, clockSkewSeconds: 300, maxSignatures: 8, predicateType: 'https://ocitrust.dev/signature/v1', requiredRoles: { anyOf: ['releases'] } }, limits: { maxEnvelopeBytes: 65536, maxPayloadBytes: 65536, maxEnvelopeSignatures: 4 } });
    assert.equal(outcome(base), 'verified');
    fc.assert(
      fc.property(fc.array(mutation(FIELDS), { minLength: 1, maxLength: 3 }), (ms) => {
        const got = outcome(apply(base, ms));
        // Only leaving out optional fields (their documented defaults) may keep it verified.
        const onlyDefaults = effective(ms).every((m) => m.field.optional && (m.value === MISSING || m.value === undefined || (m.field.kind === 'other' && isEmptyObjectLiteral(m.value))));
        if (!onlyDefaults) assert.notEqual(got, 'verified', JSON.stringify(ms.map((m) => [m.field.path.join('.'), String(m.value)])));
      }),
      { numRuns: RUNS },
    );
  });

  const denied: [string, () => Promise<VerifyInput>, readonly Field[]][] = [
    [
      'revoked',
      async () => input([await sigEnvelope([alice])], { trust: trust({ revocations: [{ digest: DIGEST, role: 'releases', reason: 'compromised build' }] }) }),
      REVOCATION_FIELDS,
    ],
    ['expired trust data (2020)', async () => input([await sigEnvelope([alice], { signedAt: new Date('2019-06-01T00:00:00Z') })], { trust: trust({ expires: new Date('2020-01-01T00:00:00Z') }) }), []],
    ['expired statement (2019)', async () => input([await sigEnvelope([alice], { signedAt: new Date('2018-06-01T00:00:00Z'), expires: new Date('2019-01-01T00:00:00Z') })]), []],
    [
      'threshold 2 met by one key',
      async () => input([await sigEnvelope([bob], { role: 'ops' })], { trust: trust({ roles: [role('ops', [bob, carol], 2)] }) }),
      [],
    ],
  ];
  for (const [name, make, extra] of denied) {
    it(`from a denied input (${name}), no bad value in any field, missing included, leads to verified`, async () => {
      const base = await make();
      assert.equal(outcome(base), 'denied');
      fc.assert(
        fc.property(fc.array(mutation([...FIELDS, ...extra]), { minLength: 1, maxLength: 3 }), (ms) => {
          assert.notEqual(outcome(apply(base, ms)), 'verified', JSON.stringify(ms.map((m) => [m.field.path.join('.'), String(m.value)])));
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('signed statements with missing, null, NaN or wrong-typed fields are never verified and never throw', async () => {
    const good = buildSignatureStatement(statementInput({ expires: new Date('2027-01-01T00:00:00Z') })) as any;
    const required = ['_type', 'predicateType', 'subject', 'subject.0', 'subject.0.name', 'subject.0.digest', 'subject.0.digest.sha256', 'predicate', 'predicate.mediaType', 'predicate.size', 'predicate.role', 'predicate.signedAt'];
    const optional = ['predicate.tag', 'predicate.expires'];
    // JSON has no NaN, undefined or Date: NaN and Infinity serialize as null, a Date as a
    // string with milliseconds, undefined by leaving the member out.
    const values: unknown[] = [MISSING, null, NaN, -1, 1.5, 0, '', 'x', true, {}, [], [null], new Date('2026-01-01T00:00:00Z'), '2026-13-01T00:00:00Z', '2026-01-01T00:00:00.000Z', 'NaN'];
    const ok = await rawEnvelope([alice], new TextEncoder().encode(JSON.stringify(good)));
    assert.equal(outcome(input([ok])), 'verified');
    const arb = fc.array(
      fc.tuple(fc.constantFrom(...required, ...optional), fc.constantFrom(...values)).filter(([path, v]) => !(optional.includes(path) && v === MISSING)),
      { minLength: 1, maxLength: 3 },
    );
    await fc.assert(
      fc.asyncProperty(arb, async (ms) => {
        let st: unknown = good;
        for (const [path, v] of ms) st = setAt(st, path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)), v);
        const env = await rawEnvelope([alice], new TextEncoder().encode(JSON.stringify(st)));
        // A mutation that lands on a valid alternative value (a string predicate.tag "x") is
        // a different, validly signed statement: judge it by the checks, not by this test.
        // Judged by what the statement ends up with: a later mutation of the same path wins.
        const last = new Map(ms.map(([path, v]) => [path, v] as const));
        const benign = [...last].every(([path, v]) => path === 'predicate.tag' && (v === 'x' || v === 'NaN'));
        const r = verifyImage(input([env], { reference: { repository: REPO, tag: 'v1' }, clock: fixedClock('2026-03-01T12:00:00Z') }));
        if (!benign) assert.equal(r.verified, false, JSON.stringify(ms.map(([p, v]) => [p, String(v)])));
      }),
      { numRuns: Math.floor(RUNS / 3) },
    );
  });
});
