/**
 * JWS JSON serialization envelopes of Notation (`application/jose+json`,
 * notaryproject/specifications signature-envelope-jws.md): `{payload, protected, header:
 * {x5c, io.cncf.notary.signingAgent?, io.cncf.notary.timestampSignature?}, signature}`.
 * The JSON goes through ocitrust's bounded parser (duplicate keys refused: a second `alg`
 * must not hide behind the first); base64url is decoded strictly.
 */
import { parseJson, isJsonObject } from '../json.js';
import { isOcitrustError } from '../errors/index.js';
import { ENVELOPE_LIMITS, H, KNOWN_PROTECTED, checkSignedAttributes, invalid, short, type NotationEnvelope, type SignatureAlgorithm } from './envelope.js';

const JWS_ALGS: readonly SignatureAlgorithm[] = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** Decodes base64url without padding (RFC 7515 §2); refuses other alphabets and padding. */
export function base64url(s: unknown, what: string, maxBytes: number): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) invalid(`${what}: expected base64url, got ${short(s)}`);
  if (Math.floor((s.length * 3) / 4) > maxBytes) invalid(`${what}: expected at most ${maxBytes} bytes, got ${Math.floor((s.length * 3) / 4)}`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

/** Decodes standard base64 (x5c, Go []byte fields); refuses anything else. */
export function base64std(s: unknown, what: string, maxBytes: number): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) invalid(`${what}: expected base64, got ${short(s)}`);
  if ((s.length / 4) * 3 > maxBytes + 2) invalid(`${what}: expected at most ${maxBytes} bytes, got about ${(s.length / 4) * 3}`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time (the JWS envelope's time headers). */
export function rfc3339(v: unknown, what: string): Date {
  if (typeof v !== 'string' || !RFC3339.test(v)) invalid(`${what}: expected an RFC 3339 time, got ${short(v)}`);
  const t = Date.parse(v);
  if (!Number.isFinite(t)) invalid(`${what}: expected an RFC 3339 time, got ${short(v)}`);
  return new Date(t);
}

function json(bytes: Uint8Array, what: string, maxBytes: number): unknown {
  try {
    return parseJson(bytes, { maxBytes, maxDepth: 16, what });
  } catch (e) {
    if (isOcitrustError(e)) invalid(`${what}: ${e.message}`);
    throw e;
  }
}

/**
 * Parses a JWS Notation envelope.
 *
 * @throws OcitrustError NOTATION_ENVELOPE_INVALID
 */
export function parseJws(bytes: Uint8Array): NotationEnvelope {
  if (bytes.length > ENVELOPE_LIMITS.maxEnvelopeBytes) invalid(`expected at most ${ENVELOPE_LIMITS.maxEnvelopeBytes} bytes, got ${bytes.length}`);
  const env = json(bytes, 'JWS envelope', ENVELOPE_LIMITS.maxEnvelopeBytes);
  if (!isJsonObject(env)) invalid('expected a JWS JSON object');
  for (const k of Object.keys(env)) {
    // The flattened JSON serialization only: a `signatures` array (general serialization) is not Notation.
    if (!['payload', 'protected', 'header', 'signature'].includes(k)) invalid(`unexpected JWS member ${short(k)}`);
  }
  const protectedB64 = env['protected'];
  const payloadB64 = env['payload'];
  const protectedBytes = base64url(protectedB64, 'protected', ENVELOPE_LIMITS.maxPayloadBytes);
  const payload = base64url(payloadB64, 'payload', ENVELOPE_LIMITS.maxPayloadBytes);
  const signature = base64url(env['signature'], 'signature', 1024);
  if (signature.length === 0) invalid('empty signature');
  const ph = json(protectedBytes, 'JWS protected header', ENVELOPE_LIMITS.maxPayloadBytes);
  if (!isJsonObject(ph)) invalid('protected header: expected a JSON object');
  if (Object.keys(ph).length > ENVELOPE_LIMITS.maxHeaders) invalid(`protected header: more than ${ENVELOPE_LIMITS.maxHeaders} entries`);
  const alg = ph['alg'];
  if (typeof alg !== 'string' || !JWS_ALGS.includes(alg as SignatureAlgorithm)) invalid(`alg: expected one of ${JWS_ALGS.join(', ')}, got ${short(alg)}`);
  const crit = ph['crit'];
  if (!Array.isArray(crit) || crit.length === 0 || crit.length > ENVELOPE_LIMITS.maxHeaders || !crit.every((c) => typeof c === 'string')) {
    invalid(`crit: expected a non-empty list of header names, got ${short(crit)}`);
  }
  const critical = crit as string[];
  // RFC 7515 §4.1.11: crit must not name headers the JWS spec itself defines.
  for (const c of critical) if (['alg', 'cty', 'crit', 'typ', 'kid', 'x5c', 'jku', 'jwk', 'x5u', 'x5t', 'x5t#S256'].includes(c)) invalid(`crit must not list the JWS header ${short(c)}`);
  const time = (k: string): Date | undefined => (ph[k] === undefined ? undefined : rfc3339(ph[k], k));
  const signingTime = time(H.signingTime);
  const authenticSigningTime = time(H.authenticSigningTime);
  const expiry = time(H.expiry);
  checkSignedAttributes({
    contentType: ph['cty'],
    signingScheme: ph[H.signingScheme],
    signingTime,
    authenticSigningTime,
    expiry,
    critical,
    present: (n) => Object.prototype.hasOwnProperty.call(ph, n),
  });
  const header = env['header'];
  if (!isJsonObject(header)) invalid('header: expected a JSON object (unprotected headers with x5c)');
  const x5c = header['x5c'];
  if (!Array.isArray(x5c) || x5c.length === 0) invalid('header.x5c: expected a non-empty certificate chain');
  if (x5c.length > ENVELOPE_LIMITS.maxChainLength) invalid(`header.x5c: expected at most ${ENVELOPE_LIMITS.maxChainLength} certificates, got ${x5c.length}`);
  const certificates = x5c.map((c, i) => base64std(c, `x5c[${i}]`, ENVELOPE_LIMITS.maxCertificateBytes));
  const ts = header[H.timestampSignature];
  const timestamp = ts === undefined ? undefined : base64std(ts, H.timestampSignature, ENVELOPE_LIMITS.maxTimestampBytes);
  // Go's JSON decoding (notation-core-go) matches the agent header case-insensitively; so do we.
  const agentKey = Object.keys(header).find((k) => k.toLowerCase() === H.signingAgent.toLowerCase());
  const agent = agentKey === undefined ? undefined : header[agentKey];
  const enc = new TextEncoder();
  return Object.freeze({
    format: 'jws' as const,
    alg: alg as SignatureAlgorithm,
    signingScheme: ph[H.signingScheme] as string,
    ...(signingTime ? { signingTime } : {}),
    ...(authenticSigningTime ? { authenticSigningTime } : {}),
    ...(expiry ? { expiry } : {}),
    critical: Object.freeze([...critical]),
    extendedCritical: Object.freeze(critical.filter((c) => !KNOWN_PROTECTED.has(c))),
    contentType: ph['cty'] as string,
    payload,
    // RFC 7515 §5.2: ASCII(BASE64URL(protected) '.' BASE64URL(payload)), as written.
    signingInput: enc.encode(`${protectedB64 as string}.${payloadB64 as string}`),
    signature,
    certificates: Object.freeze(certificates),
    ...(timestamp && timestamp.length > 0 ? { timestamp } : {}),
    ...(typeof agent === 'string' ? { signingAgent: agent.slice(0, 256) } : {}),
  });
}
