// Issue 12 item 4, the class: "Raw TypeErrors from bad API input become coded errors". Every
// function and class that lib/index.ts exports is called with missing, null, NaN, Invalid Date
// and wrong-typed arguments; whatever it does, it may only throw an OcitrustError with a code
// from the catalogue (never INTERNAL, never a TypeError or RangeError from deep inside), and an
// options object with a clock that answers an Invalid Date is refused wherever it is read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lib from '../../lib/index.js';

/** Exports left out, with the reason. */
const EXEMPT: Readonly<Record<string, string>> = {
  OcitrustError: 'the error type itself: it is what the others throw, not an entry point that checks anything',
  // The revocation model is being rewritten by the revocation track (issue 12 item 1); its
  // constructor gets the same door check there.
  Revocation: 'rewritten in the revocation track',
};

const invalidClock = { now: () => new Date(NaN) };
const BAD: readonly unknown[] = [
  undefined,
  null,
  NaN,
  0,
  -1,
  '',
  'x',
  true,
  {},
  [],
  new Date(NaN),
  Symbol('s'),
  { clock: invalidClock },
  { reference: {}, registry: {}, clock: invalidClock },
];

function label(v: unknown): string {
  if (v instanceof Date) return 'Invalid Date';
  if (typeof v === 'symbol') return 'Symbol';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

describe('attack: bad arguments to the public API give coded errors (issue 12 item 4)', () => {
  const cwd = process.cwd();
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-misuse-'));

  it('every exported function and class refuses garbage with an OcitrustError', async () => {
    // Anything that might touch files does it in a scratch directory.
    process.chdir(dir);
    const escaped: string[] = [];
    try {
      for (const [name, v] of Object.entries(lib)) {
        if (typeof v !== 'function' || name in EXEMPT) continue;
        const isClass = /^class\s/.test(Function.prototype.toString.call(v));
        for (const a of BAD) {
          for (const args of [[a], [a, a]]) {
            try {
              const r = isClass ? new (v as new (...x: unknown[]) => unknown)(...args) : (v as (...x: unknown[]) => unknown)(...args);
              if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') await r;
            } catch (e) {
              if (!(e instanceof lib.OcitrustError)) escaped.push(`${name}(${args.map(label).join(', ')}): ${(e as Error)?.name}: ${String((e as Error)?.message).slice(0, 120)}`);
              else if (e.code === 'INTERNAL' || !(e.code in lib.CATALOGUE)) escaped.push(`${name}(${args.map(label).join(', ')}): ${e.code}: ${e.message.slice(0, 120)}`);
            }
          }
        }
      }
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(escaped, []);
  });

  it('a clock that answers an Invalid Date is INVALID_ARGUMENT wherever a clock is taken', async () => {
    const checks: [string, () => unknown][] = [
      ['fixedClock', () => lib.fixedClock('not a date')],
      ['formatTime', () => lib.formatTime(new Date(NaN))],
      ['newTargets', () => lib.newTargets({ clock: invalidClock })],
      ['signImage', () => lib.signImage({ reference: 'reg.example/app:v1', registry: { getManifest: async () => assert.fail('no registry traffic') } as never, signer: [] as never, role: 'r', clock: invalidClock })],
      ['createGate', () => lib.createGate({ registry: { getManifest: async () => assert.fail('no registry traffic') } as never, clock: invalidClock })],
      ['verifyReference', () => lib.verifyReference({ reference: 'reg.example/app:v1', registry: { getManifest: async () => assert.fail('no registry traffic') } as never, trust: { refresh: async () => assert.fail('no refresh') } as never, clock: invalidClock })],
    ];
    for (const [name, fn] of checks) {
      await assert.rejects(
        (async () => fn())(),
        (e: unknown) => e instanceof lib.OcitrustError && e.code === 'INVALID_ARGUMENT' && /expected .+, got /.test(e.message),
        name,
      );
    }
  });

  it('limits(): a bound of NaN, a string or an unknown limit is refused (it would bound nothing)', () => {
    for (const bad of [{ maxMetadataBytes: NaN }, { maxSignatures: '10' }, { maxEnvelopeBytes: 0 }, { maxDelegatoins: 5 }, null]) {
      assert.throws(() => lib.limits(bad as never), (e: unknown) => e instanceof lib.OcitrustError && e.code === 'INVALID_ARGUMENT', JSON.stringify(bad));
    }
    assert.equal(lib.limits({ maxSignatures: 10 }).maxSignatures, 10);
    assert.equal(lib.limits({ clockSkewSeconds: 0 }).clockSkewSeconds, 0);
  });
});
