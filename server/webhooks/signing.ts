/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the receiver gets
 * `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64>`, where
 * the signature is HMAC-SHA256 over `<id>.<timestamp>.<body>` keyed with the base64-decoded
 * part of the `whsec_…` secret. During a secret rotation the subscription holds two secrets and
 * every delivery carries both signatures, space-separated, so the receiver can switch at its pace.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OcitrustError } from '../../lib/errors/index.js';

const SECRET_RE = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/**
 * Checks a Standard Webhooks secret (`whsec_` + base64 of 24 to 64 bytes) and returns it.
 * @throws OcitrustError WEBHOOK_SECRET_INVALID
 */
export function checkSecret(s: unknown, what = 'secret'): string {
  const m = typeof s === 'string' ? SECRET_RE.exec(s) : null;
  const n = m ? Buffer.from(m[1]!, 'base64').length : 0;
  if (!m || n < 24 || n > 64 || m[1]!.length % 4 !== 0) {
    throw new OcitrustError('WEBHOOK_SECRET_INVALID', `${what}: expected whsec_ followed by base64 of 24 to 64 random bytes, got ${typeof s === 'string' ? `${s.length} characters${s.startsWith('whsec_') ? '' : ' without the whsec_ prefix'}` : typeof s}`);
  }
  return s as string;
}

/**
 * The secrets of a secret file or request: one or two (new first, then the old one during a
 * rotation), one per line.
 * @throws OcitrustError WEBHOOK_SECRET_INVALID
 */
export function parseSecrets(input: string | readonly string[]): string[] {
  const items = typeof input === 'string' ? input.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [...input];
  if (items.length < 1 || items.length > 2) throw new OcitrustError('WEBHOOK_SECRET_INVALID', `expected one secret, or two during a rotation, got ${items.length}`);
  return items.map((s, i) => checkSecret(s, `secret ${i + 1}`));
}

/** The `webhook-signature` header value: one `v1,<base64>` per secret, space-separated. */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string | Uint8Array): string {
  return secrets
    .map((s) => {
      const key = Buffer.from(s.slice('whsec_'.length), 'base64');
      const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
      return `v1,${mac}`;
    })
    .join(' ');
}

/**
 * Verifies a delivery the way a receiver does: the timestamp within `toleranceSeconds` of now
 * and one of the `v1` signatures matching (constant-time). Used by `webhook test` tooling and
 * tests; receivers in other languages follow docs/webhooks.md.
 */
export function verifySignature(secret: string, headers: { id: string; timestamp: string; signature: string }, body: string | Uint8Array, nowSeconds: number, toleranceSeconds = 300): boolean {
  const ts = Number(headers.timestamp);
  if (!/^[0-9]{1,12}$/.test(headers.timestamp) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const want = Buffer.from(signatureHeader([secret], headers.id, ts, body).slice(3), 'base64');
  return headers.signature.split(' ').some((part) => {
    if (!part.startsWith('v1,')) return false;
    const got = Buffer.from(part.slice(3), 'base64');
    return got.length === want.length && timingSafeEqual(got, want);
  });
}
