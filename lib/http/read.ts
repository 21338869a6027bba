/**
 * Reading a fetch response body with a bound, for the trust server clients (TUF metadata,
 * the write API): the declared Content-Length is checked first, then bytes are counted while
 * reading and the stream is cancelled as soon as the bound is passed, so an endless or huge
 * body is never buffered.
 */
import type { OcitrustError } from '../errors/index.js';
import { concatBytes } from '../crypto/hash.js';
import { bodyReader, cancelBody } from './body.js';

/**
 * The body of `res`, at most `maxBytes` long.
 * @param tooLarge builds the error to throw; `declared` is the Content-Length when that was
 *   already too large, undefined when the bytes read passed the bound.
 * @throws what `tooLarge` returns; the stream's own errors (network, abort) as they are
 */
export async function readBoundedBody(res: Response, maxBytes: number, tooLarge: (declared: number | undefined) => OcitrustError): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await cancelBody(res).catch(() => undefined);
    throw tooLarge(declared);
  }
  const reader = bodyReader(res);
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(undefined);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

/**
 * The first `maxBytes` bytes of the body of `res` (fewer if it is shorter); the rest is not
 * read and the stream is cancelled. For describing or recognising an answer, never for content.
 * @throws the stream's own errors (network, abort)
 */
export async function readBodyHead(res: Response, maxBytes: number): Promise<Uint8Array> {
  const reader = bodyReader(res);
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return concatBytes(chunks).subarray(0, maxBytes);
}
