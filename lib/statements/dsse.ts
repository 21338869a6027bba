import { OcitrustError, assertArg } from '../errors/index.js';
import { parseJson, isJsonObject, isPlainObject } from '../json.js';
import { decodeBase64, encodeBase64, maxDecodedLength } from '../crypto/base64.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { DEFAULT_LIMITS } from '../config.js';
import type { PublicKey } from '../keys/key.js';
import type { Signer } from '../keys/signer.js';

/** One DSSE signature: `keyid` is an unauthenticated hint (DSSE envelope.md), `sig` raw bytes. */
export interface EnvelopeSignature {
  readonly keyid: string;
  readonly sig: Uint8Array;
}

/**
 * A parsed DSSE v1 envelope. The payload stays bytes: it is parsed only after a signature
 * over exactly these bytes has verified (DSSE protocol.md: "verify before parsing").
 */
export interface Envelope {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signatures: readonly EnvelopeSignature[];
}

/** The JSON wire form of an envelope (standard base64, as DSSE producers emit). */
export interface EnvelopeJSON {
  payload: string;
  payloadType: string;
  signatures: { keyid: string; sig: string }[];
}

/** Bounds applied by {@link parseEnvelope}. */
export interface EnvelopeLimits {
  /** Largest envelope accepted, in bytes. */
  readonly maxEnvelopeBytes: number;
  /** Largest decoded payload accepted, in bytes. */
  readonly maxPayloadBytes: number;
  /** Most signatures one envelope may carry. */
  readonly maxEnvelopeSignatures: number;
}

/** Default envelope bounds (sizes from lib/config DEFAULT_LIMITS). */
export const DEFAULT_ENVELOPE_LIMITS: EnvelopeLimits = Object.freeze({
  maxEnvelopeBytes: DEFAULT_LIMITS.maxEnvelopeBytes,
  maxPayloadBytes: DEFAULT_LIMITS.maxPayloadBytes,
  maxEnvelopeSignatures: 16,
});

/** Longest signature any accepted key makes: RSA-4096, 512 bytes (Ed25519 64, ECDSA DER ≤ 72). */
const MAX_SIG_BYTES = 512;
const enc = new TextEncoder();

/**
 * DSSE v1 Pre-Authentication Encoding (DSSE protocol.md):
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN = ASCII decimal byte length.
 * Signing the PAE rather than the payload binds the payload type, so a payload cannot be
 * re-labelled as another type under the same signature.
 *
 * @example pae('http://example.com/HelloWorld', bytes('hello world'))
 *   // "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
 * @throws INVALID_ARGUMENT on a non-string type or non-bytes payload.
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  assertArg(typeof payloadType === 'string', 'payloadType', 'string', payloadType);
  assertArg(payload instanceof Uint8Array, 'payload', 'Uint8Array', payload);
  // Everything before the body is one string: encode it once, straight into the result.
  // Buffer.byteLength and TextEncoder agree on every string (a lone surrogate is U+FFFD,
  // 3 bytes, in both), and the rest of the prefix is ASCII.
  const typeLength = Buffer.byteLength(payloadType, 'utf8');
  const prefix = `DSSEv1 ${typeLength} ${payloadType} ${payload.length} `;
  const prefixLength = prefix.length - payloadType.length + typeLength;
  const out = new Uint8Array(prefixLength + payload.length);
  enc.encodeInto(prefix, out);
  out.set(payload, prefixLength);
  return out;
}

/**
 * Parses an untrusted DSSE envelope once into bytes: bounded size, strict JSON (no duplicate
 * keys), `payload` and every `sig` in strict base64 of either alphabet (DSSE requires both to
 * be accepted), at most `maxEnvelopeSignatures` signatures, unknown fields ignored as DSSE
 * says consumers must. `keyid` may be absent (it is optional in DSSE) and then reads as "".
 *
 * @throws INPUT_TOO_LARGE (envelope, payload or signature count over the limits),
 *   JSON_MALFORMED, JSON_DUPLICATE_KEY, JSON_TOO_DEEP, BASE64_MALFORMED, ENVELOPE_MALFORMED.
 *   Nothing else: garbage input never escapes as another error type.
 */
export function parseEnvelope(input: Uint8Array | string, limits: Partial<EnvelopeLimits> = {}): Envelope {
  const lim = envelopeLimits(limits);
  assertArg(typeof input === 'string' || input instanceof Uint8Array, 'input', 'Uint8Array or string', input);
  const v = parseJson(input, { maxBytes: lim.maxEnvelopeBytes, maxDepth: 8, what: 'DSSE envelope' });
  if (!isJsonObject(v)) bad('not a JSON object');
  const obj = v as Record<string, unknown>;
  const payloadType = own(obj, 'payloadType');
  const payload = own(obj, 'payload');
  const sigs = own(obj, 'signatures');
  if (typeof payloadType !== 'string') bad('payloadType must be a string');
  if (typeof payload !== 'string') bad('payload must be a base64 string');
  if (!Array.isArray(sigs)) bad('signatures must be an array');
  const sigList = sigs as unknown[];
  if (sigList.length === 0) bad('signatures is empty');
  if (sigList.length > lim.maxEnvelopeSignatures) {
    throw new OcitrustError('INPUT_TOO_LARGE', `DSSE envelope: ${sigList.length} signatures, limit ${lim.maxEnvelopeSignatures}`);
  }
  if (maxDecodedLength((payload as string).length) > lim.maxPayloadBytes + 2) {
    throw new OcitrustError('INPUT_TOO_LARGE', `DSSE envelope: payload larger than ${lim.maxPayloadBytes} bytes`);
  }
  const payloadBytes = decodeBase64(payload as string, 'DSSE envelope payload');
  if (payloadBytes.length > lim.maxPayloadBytes) {
    throw new OcitrustError('INPUT_TOO_LARGE', `DSSE envelope: payload is ${payloadBytes.length} bytes, limit ${lim.maxPayloadBytes}`);
  }
  const signatures: EnvelopeSignature[] = [];
  for (let i = 0; i < sigList.length; i++) {
    const s = sigList[i];
    if (!isJsonObject(s)) bad(`signatures[${i}] is not an object`);
    const o = s as Record<string, unknown>;
    const keyid = own(o, 'keyid');
    const sig = own(o, 'sig');
    if (keyid !== undefined && typeof keyid !== 'string') bad(`signatures[${i}].keyid must be a string`);
    if (typeof sig !== 'string' || sig.length === 0) bad(`signatures[${i}].sig must be a non-empty base64 string`);
    // No accepted key makes signatures over 512 bytes; refuse anything longer before decoding it.
    if ((sig as string).length > 4 * Math.ceil(MAX_SIG_BYTES / 3)) bad(`signatures[${i}].sig is too long`);
    signatures.push(Object.freeze({ keyid: (keyid as string | undefined) ?? '', sig: decodeBase64(sig as string, `DSSE signatures[${i}].sig`) }));
  }
  return Object.freeze({ payloadType: payloadType as string, payload: payloadBytes, signatures: Object.freeze(signatures) });
}

function bad(why: string): never {
  throw new OcitrustError('ENVELOPE_MALFORMED', `DSSE envelope: ${why}`);
}

/**
 * `limits` over {@link DEFAULT_ENVELOPE_LIMITS}, each given bound checked to be a positive
 * integer: a bound of NaN or "10" would compare false with every size and so bound nothing.
 * An absent or undefined field keeps its default.
 *
 * @throws INVALID_ARGUMENT
 */
export function envelopeLimits(limits: Partial<EnvelopeLimits> | undefined, name = 'limits'): EnvelopeLimits {
  if (limits === undefined) return DEFAULT_ENVELOPE_LIMITS;
  assertArg(isPlainObject(limits), name, 'object of envelope limits', limits);
  const out: Record<keyof EnvelopeLimits, number> = { ...DEFAULT_ENVELOPE_LIMITS };
  for (const k of Object.keys(DEFAULT_ENVELOPE_LIMITS) as (keyof EnvelopeLimits)[]) {
    const v = limits[k];
    if (v === undefined) continue;
    assertArg(Number.isSafeInteger(v) && v > 0, `${name}.${k}`, 'positive integer', v);
    out[k] = v;
  }
  return out;
}

/**
 * Signs `payload` as a DSSE envelope with every signer (one signature each, in order).
 * @throws INVALID_ARGUMENT on bad arguments or duplicate signers (a key signing twice adds no weight).
 */
export async function signEnvelope(payloadType: string, payload: Uint8Array, signers: readonly Signer[]): Promise<Envelope> {
  assertArg(Array.isArray(signers) && signers.length > 0, 'signers', 'non-empty array of Signer', signers);
  assertArg(new Set(signers.map((s) => s.keyid)).size === signers.length, 'signers', 'distinct keys', signers);
  const message = pae(payloadType, payload);
  const signatures: EnvelopeSignature[] = [];
  for (const s of signers) signatures.push(Object.freeze({ keyid: s.keyid, sig: await s.sign(message) }));
  return Object.freeze({ payloadType, payload: new Uint8Array(payload), signatures: Object.freeze(signatures) });
}

/** The JSON wire form of an envelope (standard base64). */
export function envelopeToJSON(env: Envelope): EnvelopeJSON {
  return {
    payload: encodeBase64(env.payload),
    payloadType: env.payloadType,
    signatures: env.signatures.map((s) => ({ keyid: s.keyid, sig: encodeBase64(s.sig) })),
  };
}

/**
 * Serialized envelope bytes (canonical JSON, so the same envelope always has the same digest).
 * @throws CANONICAL_JSON_UNSUPPORTED when payloadType or a keyid holds control characters.
 */
export function serializeEnvelope(env: Envelope): Uint8Array {
  assertArg(isJsonObject(env) && env.payload instanceof Uint8Array && typeof env.payloadType === 'string' && Array.isArray(env.signatures), 'env', 'Envelope {payloadType, payload, signatures}', env);
  env.signatures.forEach((s, i) => assertArg(isJsonObject(s) && typeof s.keyid === 'string' && s.sig instanceof Uint8Array, `env.signatures[${i}]`, '{keyid: string, sig: Uint8Array}', s));
  return canonicalBytes(envelopeToJSON(env));
}

/** Bounds for {@link verifyEnvelope}. */
export interface VerifyEnvelopeOptions {
  /**
   * Most signature verifications spent on one envelope. Trying every trusted key for a signature
   * whose hint is missing or wrong is what DSSE asks for, but with many keys it is also a
   * cheap way to make a verifier burn CPU; honest signers set the hint, so a small budget
   * beyond the hinted attempts is enough.
   */
  readonly maxAttempts?: number;
}

/**
 * Verifies the DSSE signatures of `env` over PAE(payloadType, payload) and returns the
 * distinct trusted keys that produced at least one valid signature, in signature order.
 * `keyid` is only a hint (DSSE: "MUST NOT be used for security decisions"): the hinted key is
 * tried first, then every other trusted key; what counts is the key that verified. Keys are
 * distinct by key material, not keyid ({@link PublicKey.fingerprint}): a key that signed twice,
 * or that `keys` lists under two keyids, appears once (DSSE thresholds count unique keys).
 * Never throws on bad signatures; an empty result means nothing verified.
 *
 * @throws INVALID_ARGUMENT when `env` or `keys` is not of the expected type.
 */
export function verifyEnvelope(
  env: Envelope,
  keys: ReadonlyMap<string, PublicKey>,
  opts: VerifyEnvelopeOptions = {},
): PublicKey[] {
  assertArg(isJsonObject(env) && env.payload instanceof Uint8Array && Array.isArray(env.signatures), 'env', 'parsed Envelope', env);
  assertArg(keys instanceof Map, 'keys', 'Map<keyid, PublicKey>', keys);
  let budget = opts.maxAttempts ?? 1024;
  const message = pae(env.payloadType, env.payload);
  // By fingerprint: one key under two keyids must not count as two keys.
  const found = new Map<string, PublicKey>();
  for (const s of env.signatures) {
    if (s.sig.length === 0 || s.sig.length > MAX_SIG_BYTES) continue;
    const hinted = keys.get(s.keyid);
    // A hinted key that already counts is not tried again (a second signature by one key
    // adds nothing), but the signature may still be another key's under a wrong hint.
    if (hinted && !found.has(hinted.fingerprint) && hinted.verify(s.sig, message)) {
      found.set(hinted.fingerprint, hinted);
      continue;
    }
    for (const k of keys.values()) {
      if (k === hinted || found.has(k.fingerprint) || k.fingerprint === hinted?.fingerprint) continue;
      if (budget-- <= 0) break;
      if (k.verify(s.sig, message)) {
        found.set(k.fingerprint, k);
        break;
      }
    }
  }
  return [...found.values()];
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}
