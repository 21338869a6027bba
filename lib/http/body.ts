/**
 * Reading a response body without a web `ReadableStream` when the response is nodeFetch's own
 * (lib/http/fetch.ts). Creating the first `ReadableStream` of a process loads Node's webstreams
 * internals (≈3 ms of a 50 ms `trust verify`), so nodeFetch builds its stream only when `.body`
 * is read and offers the same reader — same chunks, back-pressure, errors (`signal.reason` when
 * aborted, `TypeError('terminated')` when the connection is lost) and cancel/drain behaviour —
 * under {@link BODY_READER}. Any other `Response` (an injected fetch, the global one) is read
 * through its `.body` as before.
 */

/** The part of `ReadableStreamDefaultReader` the HTTP clients use. */
export interface BodyReader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  cancel(): Promise<void>;
}

/**
 * The method of a nodeFetch response that hands out its body's reader (once; undefined when the
 * body was already taken through `.body`, whose stream then decides). `Symbol.for`, so copies of
 * this module in separate bundles agree.
 */
export const BODY_READER: unique symbol = Symbol.for('ocitrust.http.bodyReader') as never;

type WithReader = { [BODY_READER]?: () => BodyReader | undefined };

/**
 * The reader of `res`'s body: nodeFetch's own when it offers one, else `res.body.getReader()`;
 * null for a response without a body.
 * @throws TypeError when the body is already locked or read (as `getReader()` does)
 */
export function bodyReader(res: Response): BodyReader | null {
  const own = (res as WithReader)[BODY_READER];
  if (typeof own === 'function') {
    const r = own.call(res);
    if (r) return r;
  }
  const body = res.body;
  return body ? (body.getReader() as BodyReader) : null;
}

/** Cancels `res`'s body (drained when small, else the connection is closed): `res.body?.cancel()` without building a stream. */
export async function cancelBody(res: Response): Promise<void> {
  const r = bodyReader(res);
  await r?.cancel();
}
