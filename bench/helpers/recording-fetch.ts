// Counting the HTTP requests a verification makes (issue 8 item 3): a fetch wrapper that records
// method, URL, request headers, status and body bytes both ways. In-process it is injected
// (HttpRegistryClient `fetch`, openCollection `fetch`); for a whole `trust` process,
// count-fetch-preload.ts installs it as ocitrust's default fetch (the `Symbol.for('ocitrust.fetch')`
// override of lib/http/fetch.ts) and writes the record at exit.
import { nodeFetch } from '../../lib/http/fetch.js';

/** One recorded request. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** Request headers as sent (for replaying the same GETs as a floor). */
  readonly headers: Record<string, string>;
  readonly status: number;
  /** Request body bytes. */
  readonly sent: number;
  /** Response body bytes. */
  readonly received: number;
}

/** A fetch that records every request, and its record. */
export interface RecordingFetch {
  readonly fetch: typeof fetch;
  readonly log: RecordedRequest[];
  reset(): void;
}

function bodySize(body: unknown): number {
  if (body === undefined || body === null) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof ArrayBuffer) return body.byteLength;
  if (ArrayBuffer.isView(body)) return body.byteLength;
  return 0;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * Wraps `base` (default: ocitrust's node:http fetch, the one its clients use). Response bodies are read in full to
 * count them and handed back as a new Response with the same status, headers and URL, so the
 * caller sees what it would have seen.
 */
export function recordingFetch(base?: typeof fetch): RecordingFetch {
  const log: RecordedRequest[] = [];
  const wrapped = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET')).toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    const res = await (base ?? nodeFetch)(input as string | URL, init);
    const buf = method === 'HEAD' || NULL_BODY.has(res.status) ? null : Buffer.from(await res.arrayBuffer());
    log.push({ method, url, headers, status: res.status, sent: bodySize(init?.body), received: buf?.length ?? 0 });
    const copy = new Response(buf, { status: res.status, statusText: res.statusText, headers: res.headers });
    Object.defineProperty(copy, 'url', { value: res.url });
    Object.defineProperty(copy, 'redirected', { value: res.redirected });
    return copy;
  };
  return { fetch: wrapped as typeof fetch, log, reset: () => void log.splice(0) };
}

/** Totals of a record: requests and body bytes both ways. */
export function requestTotals(rs: readonly RecordedRequest[]): { requests: number; sent: number; received: number } {
  return { requests: rs.length, sent: rs.reduce((a, r) => a + r.sent, 0), received: rs.reduce((a, r) => a + r.received, 0) };
}
