/**
 * COSE_Sign1 envelopes of Notation (`application/cose`, notaryproject/specifications
 * signature-envelope-cose.md, RFC 9052). CBOR is decoded by cbor2 (a maintained RFC 8949
 * implementation with depth bounds and duplicate-key refusal) rather than by hand; what this
 * file adds is the COSE/Notation shape on top, checked strictly.
 */
import { decode, encode, Tag } from 'cbor2';
import { ENVELOPE_LIMITS, H, KNOWN_PROTECTED, checkSignedAttributes, invalid, short, type NotationEnvelope, type SignatureAlgorithm } from './envelope.js';

/** COSE algorithm identifiers (IANA) → the Notation algorithm names. */
const COSE_ALGS = new Map<number, SignatureAlgorithm>([
  [-37, 'PS256'],
  [-38, 'PS384'],
  [-39, 'PS512'],
  [-7, 'ES256'],
  [-35, 'ES384'],
  [-36, 'ES512'],
]);
const LABEL_ALG = 1;
const LABEL_CRIT = 2;
const LABEL_CONTENT_TYPE = 3;
const LABEL_X5CHAIN = 33;
const COSE_SIGN1_TAG = 18;

function cbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes, { maxDepth: 16, rejectDuplicateKeys: true, preferMap: true, rejectStreaming: false });
  } catch (e) {
    invalid(`${what}: not valid CBOR (${e instanceof Error ? e.message.slice(0, 120) : 'decode error'})`);
  }
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

function time(v: unknown, what: string): Date | undefined {
  if (v === undefined) return undefined;
  // Tag 1 (epoch-based date/time) is decoded to a Date by cbor2; anything else is refused.
  if (!(v instanceof Date) || !Number.isFinite(v.getTime())) invalid(`${what}: expected a CBOR tag 1 time, got ${short(v)}`);
  return v;
}

/**
 * Parses a COSE_Sign1 Notation envelope.
 *
 * @throws OcitrustError NOTATION_ENVELOPE_INVALID
 */
export function parseCose(bytes: Uint8Array): NotationEnvelope {
  if (bytes.length > ENVELOPE_LIMITS.maxEnvelopeBytes) invalid(`expected at most ${ENVELOPE_LIMITS.maxEnvelopeBytes} bytes, got ${bytes.length}`);
  const msg = cbor(bytes, 'COSE envelope');
  if (!(msg instanceof Tag) || Number(msg.tag) !== COSE_SIGN1_TAG) invalid(`expected a COSE_Sign1 message (CBOR tag ${COSE_SIGN1_TAG}), got ${msg instanceof Tag ? `tag ${msg.tag}` : short(typeof msg)}`);
  const parts = msg.contents;
  if (!Array.isArray(parts) || parts.length !== 4) invalid('COSE_Sign1: expected [protected, unprotected, payload, signature]');
  const [protectedBytes, unprotected, payload, signature] = parts as unknown[];
  if (!isBytes(protectedBytes) || protectedBytes.length === 0) invalid('COSE_Sign1: expected a non-empty protected header byte string');
  if (!isBytes(payload)) invalid('COSE_Sign1: expected an attached payload (detached payloads are not Notation)');
  if (payload.length > ENVELOPE_LIMITS.maxPayloadBytes) invalid(`payload: expected at most ${ENVELOPE_LIMITS.maxPayloadBytes} bytes, got ${payload.length}`);
  if (!isBytes(signature) || signature.length === 0 || signature.length > 1024) invalid('COSE_Sign1: expected a signature byte string of at most 1024 bytes');
  if (!(unprotected instanceof Map)) invalid('COSE_Sign1: expected an unprotected header map');
  const ph = cbor(protectedBytes, 'COSE protected header');
  if (!(ph instanceof Map)) invalid('COSE protected header: expected a map');
  if (ph.size > ENVELOPE_LIMITS.maxHeaders) invalid(`protected header: more than ${ENVELOPE_LIMITS.maxHeaders} entries`);
  const algId = ph.get(LABEL_ALG);
  const alg = typeof algId === 'number' ? COSE_ALGS.get(algId) : undefined;
  if (!alg) invalid(`alg: expected one of ${[...COSE_ALGS.keys()].join(', ')}, got ${short(algId)}`);
  const crit = ph.get(LABEL_CRIT);
  if (!Array.isArray(crit) || crit.length === 0 || crit.length > ENVELOPE_LIMITS.maxHeaders) invalid(`crit: expected a non-empty list, got ${short(crit)}`);
  // Integer labels in crit are COSE's own headers (alg, content type…); a critical integer label
  // other than those this verifier processes is unknown to it, so it is refused.
  const critical: string[] = [];
  for (const c of crit as unknown[]) {
    if (typeof c === 'string') critical.push(c);
    else if (typeof c === 'number' && (c === LABEL_ALG || c === LABEL_CONTENT_TYPE)) continue;
    else invalid(`crit: unsupported critical label ${short(c)}`);
  }
  for (const k of ph.keys()) if (typeof k !== 'string' && typeof k !== 'number') invalid(`protected header: unexpected label ${short(k)}`);
  const signingTime = time(ph.get(H.signingTime), H.signingTime);
  const authenticSigningTime = time(ph.get(H.authenticSigningTime), H.authenticSigningTime);
  const expiry = time(ph.get(H.expiry), H.expiry);
  checkSignedAttributes({
    contentType: ph.get(LABEL_CONTENT_TYPE),
    signingScheme: ph.get(H.signingScheme),
    signingTime,
    authenticSigningTime,
    expiry,
    critical,
    present: (n) => ph.has(n),
  });
  const chain = unprotected.get(LABEL_X5CHAIN);
  // RFC 9360: x5chain is one certificate as a byte string, or an array of them.
  const certs = isBytes(chain) ? [chain] : Array.isArray(chain) ? (chain as unknown[]) : undefined;
  if (!certs || certs.length === 0) invalid('x5chain (label 33): expected a certificate chain');
  if (certs.length > ENVELOPE_LIMITS.maxChainLength) invalid(`x5chain: expected at most ${ENVELOPE_LIMITS.maxChainLength} certificates, got ${certs.length}`);
  const certificates = certs.map((c, i) => {
    if (!isBytes(c) || c.length === 0 || c.length > ENVELOPE_LIMITS.maxCertificateBytes) invalid(`x5chain[${i}]: expected a DER certificate of at most ${ENVELOPE_LIMITS.maxCertificateBytes} bytes`);
    return c;
  });
  const ts = unprotected.get(H.timestampSignature);
  if (ts !== undefined && (!isBytes(ts) || ts.length > ENVELOPE_LIMITS.maxTimestampBytes)) invalid(`${H.timestampSignature}: expected a byte string of at most ${ENVELOPE_LIMITS.maxTimestampBytes} bytes`);
  const agent = unprotected.get(H.signingAgent);
  // RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload].
  // Plain Uint8Arrays: cbor2 would encode a Node Buffer through its toJSON() as a map.
  const signingInput = encode(['Signature1', plain(protectedBytes), new Uint8Array(0), plain(payload)]);
  return Object.freeze({
    format: 'cose' as const,
    alg,
    signingScheme: ph.get(H.signingScheme) as string,
    ...(signingTime ? { signingTime } : {}),
    ...(authenticSigningTime ? { authenticSigningTime } : {}),
    ...(expiry ? { expiry } : {}),
    critical: Object.freeze(critical),
    extendedCritical: Object.freeze(critical.filter((c) => !KNOWN_PROTECTED.has(c))),
    contentType: ph.get(LABEL_CONTENT_TYPE) as string,
    payload: plain(payload),
    signingInput,
    signature: plain(signature),
    certificates: Object.freeze(certificates.map(plain)),
    ...(isBytes(ts) && ts.length > 0 ? { timestamp: plain(ts) } : {}),
    ...(typeof agent === 'string' ? { signingAgent: agent.slice(0, 256) } : {}),
  });
}
