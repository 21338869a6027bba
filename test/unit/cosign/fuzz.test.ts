// Property tests of what lib/cosign parses itself (the Sigstore libraries parse the rest):
// simple-signing layers, Rekor SET annotations, PEM chains, bundle bytes, the references a
// payload names and the policy block. None may throw anything but a coded OcitrustError, and a
// changed bundle verifies only when none of its values changed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { OcitrustError } from '../../../lib/errors/index.js';
import { parseReference } from '../../../lib/reference.js';
import { checkReference, loadTrust, parseBundle, readSimpleSignature, validateCosignConfig, verifyBundle } from '../../../lib/cosign/index.js';
import { pemCertificates } from '../../../lib/cosign/simple-signing.js';
import { CONFORMANCE, FIXTURES, PUBLIC_GOOD_ROOT, readSignatureFile } from '../../helpers/cosign-artifacts.js';

const RUNS = 200;
const NOW = new Date('2026-06-01T00:00:00Z');

function noThrow<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof OcitrustError)) assert.fail(`threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    return undefined;
  }
}

const layer = readSignatureFile(`${FIXTURES}/dir-img-cosign-fulcio-rekor-valid/signature-1`);
const keys = Object.keys(layer.annotations);

describe('cosign parsers: fuzz', () => {
  it('readSimpleSignature: arbitrary payload bytes and mutated annotations never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom(...keys), fc.string({ maxLength: 300 }), (payload, key, value) => {
        noThrow(() => readSimpleSignature(payload, { ...layer.annotations, [key]: value }));
        noThrow(() => readSimpleSignature(layer.payload, { ...layer.annotations, [key]: value }));
      }),
      { numRuns: RUNS },
    );
  });

  it('readSimpleSignature: a truncated or bit-flipped annotation is coded or still parses', () => {
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.nat(), fc.nat({ max: 7 }), (key, at, bit) => {
        const v = Buffer.from(layer.annotations[key]!);
        const i = at % v.length;
        v[i] = v[i]! ^ (1 << bit);
        noThrow(() => readSimpleSignature(layer.payload, { ...layer.annotations, [key]: v.toString('latin1') }));
        noThrow(() => readSimpleSignature(layer.payload, { ...layer.annotations, [key]: layer.annotations[key]!.slice(0, i) }));
      }),
      { numRuns: RUNS },
    );
  });

  it('pemCertificates and checkReference never throw', () => {
    const image = parseReference('registry.example.com/team/app:v1');
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.constantFrom('ignore', 'repository', 'exact') as fc.Arbitrary<'ignore' | 'repository' | 'exact'>, (s, m) => {
        noThrow(() => pemCertificates(`-----BEGIN CERTIFICATE-----${s}-----END CERTIFICATE-----`));
        noThrow(() => checkReference(s, image, m));
      }),
      { numRuns: RUNS },
    );
  });

  it('validateCosignConfig: any JSON value is a config or reported problems', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        const problems: string[] = [];
        const c = noThrow(() => validateCosignConfig(v, '/c', { add: (p) => problems.push(p) }));
        assert.ok((c === undefined) !== (problems.length === 0), JSON.stringify(v));
      }),
      { numRuns: RUNS },
    );
  });

  const bundle = readFileSync(`${CONFORMANCE}/happy-path-v0.3/bundle.sigstore.json`);
  const artifact = readFileSync(`${CONFORMANCE}/a.txt`);
  const trust = loadTrust({ trustedRoot: PUBLIC_GOOD_ROOT });
  const ids = [{ issuer: 'https://token.actions.githubusercontent.com', subjectRegExp: '.*' }];
  // Every value of a JSON document (keys left out): a bit flip in a key renames the field, which
  // protobuf JSON parsing ignores as unknown; that only drops a value, it cannot change one.
  const values = (v: unknown, out: string[] = []): string[] => {
    if (v !== null && typeof v === 'object') for (const x of Object.values(v)) values(x, out);
    // Bytes fields are base64, decoded leniently (as Buffer does: non-zero padding bits and
    // stray characters ignored): a string is also compared by the bytes it decodes to.
    else out.push(typeof v === 'string' ? `b64:${Buffer.from(v, 'base64').toString('base64')}` : JSON.stringify(v));
    return out;
  };
  const original = values(JSON.parse(bundle.toString('utf8')));
  const noValueChanged = (b: Uint8Array): boolean => {
    try {
      const left = [...original];
      for (const x of values(JSON.parse(Buffer.from(b).toString('utf8')))) {
        const i = left.indexOf(x);
        if (i < 0) return false;
        left.splice(i, 1);
      }
      return true;
    } catch {
      return false;
    }
  };

  it('parseBundle: arbitrary bytes never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1024 }), (b) => void noThrow(() => parseBundle(b))), { numRuns: RUNS });
  });

  it('verifyBundle: a byte-flipped or truncated bundle never throws and verifies only if no value changed', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 7 }), fc.boolean(), (at, bit, truncate) => {
        const b = Buffer.from(bundle);
        const i = at % b.length;
        const mutated = truncate ? b.subarray(0, i) : (b[i] = b[i]! ^ (1 << bit), b);
        const v = noThrow(() => verifyBundle(mutated, { bytes: artifact }, trust, { identities: ids }, NOW));
        assert.ok(v !== undefined, 'verifyBundle never throws');
        if (v.ok) assert.ok(noValueChanged(mutated), `byte ${i} bit ${bit}: verified a bundle that means something else`);
      }),
      { numRuns: RUNS },
    );
  });
});
