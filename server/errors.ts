import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { CATALOGUE, OcitrustError, type ErrorCode } from '../lib/errors/index.js';
import { toWireError } from './registry/errors.js';

/** The JSON body of every error the server answers with. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** JSON schema of {@link ErrorBody}, shared by every route's error responses (and OpenAPI). */
export const errorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  description: 'An error: a stable code from the catalogue (docs/errors.md) and a message.',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'Stable error code (docs/errors.md).' },
    message: { type: 'string' },
  },
} as const;

/**
 * Maps anything a route or fastify threw to an HTTP status and an {@link ErrorBody}.
 * OcitrustErrors keep their code and the catalogue's status; fastify's own client errors
 * (validation, content type, size, bad URL) become coded 4xx answers, so a client mistake is
 * never a 500. Everything else is INTERNAL with a message that leaks nothing.
 */
export function toHttpError(err: unknown, requestId?: string): { status: number; body: ErrorBody } {
  if (err instanceof OcitrustError) {
    return { status: CATALOGUE[err.code].http, body: { code: err.code, message: err.message } };
  }
  const fe = err as Partial<FastifyError> | null;
  if (fe && typeof fe === 'object') {
    if (Array.isArray(fe.validation)) {
      return { status: 400, body: { code: 'REQUEST_INVALID', message: String(fe.message) } };
    }
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code: ErrorCode =
        status === 404 ? 'ROUTE_NOT_FOUND'
        : status === 413 ? 'INPUT_TOO_LARGE'
        : status === 415 ? 'REQUEST_BODY_UNSUPPORTED'
        : fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'JSON_MALFORMED'
        : 'REQUEST_INVALID';
      return { status: CATALOGUE[code].http, body: { code, message: String(fe.message) } };
    }
  }
  return {
    status: 500,
    body: { code: 'INTERNAL', message: `internal error${requestId ? ` (request ${requestId})` : ''}; see the server log` },
  };
}

/** True for a request target under `/v2`, where registry clients expect the distribution error shape. */
function isDistributionPath(url: string): boolean {
  return /^\/v2(?:[/?]|$)/.test(url);
}

/** The status, content and body of an error answer in the shape of the request's area. */
function errorAnswer(err: unknown, url: string, distribution: boolean, requestId?: string): { status: number; body: string } {
  if (distribution && isDistributionPath(url)) {
    const w = toWireError(err);
    return { status: w.status, body: JSON.stringify(w.body) };
  }
  const { status, body } = toHttpError(err, requestId);
  return { status, body: JSON.stringify(body) };
}

/**
 * Installs the one error handler and the JSON 404 handler. 5xx answers are logged at error level
 * with the cause; client errors at info level with only their code. `distribution()` says whether
 * `/v2/` is served (embedded registry or proxy): then requests there that no route answers get
 * the distribution error shape.
 */
export function installErrorHandling(app: FastifyInstance, distribution: () => boolean = () => false): void {
  app.addSchema(errorBodySchema);
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toHttpError(err, request.id);
    if (status >= 500) request.log.error({ err, code: body.code }, 'request failed');
    else request.log.info({ code: body.code, status }, body.message);
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="ocitrust"');
    void reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!.slice(0, 200);
    const err = isDistributionPath(request.url)
      ? new OcitrustError('DIST_ENDPOINT_UNKNOWN', `no endpoint ${request.method} ${path} in the OCI distribution API`)
      : new OcitrustError('ROUTE_NOT_FOUND', `no route for ${request.method} ${path}`);
    const a = errorAnswer(err, request.url, distribution());
    void reply.code(a.status).type('application/json; charset=utf-8').send(a.body);
  });
}

/** The JSON type of a value, as JSON Schema names it. */
function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

interface SchemaError {
  readonly keyword: string;
  readonly instancePath?: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
  readonly data?: unknown;
}

/**
 * Validation messages in the house style, "<where>: expected X, got Y" (ajv runs with `verbose`
 * so the offending value is at hand; only its type or a short quote is shown).
 */
export function schemaErrorFormatter(errors: readonly SchemaError[], dataVar: string): Error {
  const e = errors[0];
  if (!e) return new Error(`${dataVar}: invalid`);
  const where = `${dataVar}${e.instancePath ?? ''}`;
  const got = typeof e.data === 'string' ? JSON.stringify(e.data.slice(0, 40)) : jsonType(e.data);
  switch (e.keyword) {
    case 'type':
      return new Error(`${where}: expected ${String(e.params.type)}, got ${jsonType(e.data)}`);
    case 'required':
      return new Error(`${where}: expected a property ${JSON.stringify(e.params.missingProperty)}`);
    case 'additionalProperties':
      return new Error(`${where}: unexpected property ${JSON.stringify(String(e.params.additionalProperty).slice(0, 40))}`);
    case 'enum':
      return new Error(`${where}: expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${got}`);
    default:
      return new Error(`${where} ${e.message ?? 'is invalid'}`);
  }
}

/**
 * Fastify options that answer what never reaches a route with a coded body too: a URL with
 * broken percent-encoding or invalid UTF-8, an overlong path parameter (`frameworkErrors`), and
 * requests node's HTTP parser refuses: invalid bytes, malformed headers, oversized header
 * sections, timeouts (`clientErrorHandler`, which writes to the socket itself). Under `/v2/`
 * the answer has the distribution error shape. Also sets {@link schemaErrorFormatter}.
 */
export function frameworkErrorOptions(distribution: () => boolean): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'schemaErrorFormatter'> {
  return {
    schemaErrorFormatter: schemaErrorFormatter as FastifyServerOptions['schemaErrorFormatter'],
    frameworkErrors: (error, request, reply) => {
      const err =
        error.code === 'FST_ERR_BAD_URL' ? new OcitrustError('REQUEST_URL_INVALID', 'the request URL has broken percent-encoding or is not UTF-8: expected %XX escapes of UTF-8 bytes')
        : error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new OcitrustError('REQUEST_INVALID', 'a path segment of the request URL is too long')
        : error;
      const a = errorAnswer(err, request.raw.url ?? '', distribution(), request.id);
      if (a.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: (err as { code?: unknown }).code, status: a.status }, 'refused request');
      void (reply as FastifyReply).code(a.status).type('application/json; charset=utf-8').send(a.body);
    },
    clientErrorHandler(this: FastifyInstance, error, socket: Duplex) {
      // node's parser errors carry the bytes read so far (rawPacket) and a reason.
      const err = error as Error & { code?: string; reason?: string; rawPacket?: unknown };
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const code: ErrorCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'REQUEST_HEADERS_TOO_LARGE' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'REQUEST_MALFORMED';
      const message =
        code === 'REQUEST_MALFORMED' ? `malformed HTTP request: ${err.reason ?? err.code ?? 'parse error'}`.slice(0, 200)
        : code === 'REQUEST_TIMEOUT' ? 'the request was not received in time'
        : 'the request headers are too large';
      this.log.info({ code, parser: err.code }, message);
      // The request line, when the parser got that far, says whether this was a registry request.
      const line = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.subarray(0, 300).toString('latin1') : '';
      const target = /^[A-Za-z]+ (\S+)/.exec(line)?.[1] ?? '';
      const a = errorAnswer(new OcitrustError(code, message), target, distribution());
      // As node does: answer only when no response is under way on this socket, then close it.
      const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (socket.writable && !inFlight?.headersSent) {
        socket.end(`HTTP/1.1 ${a.status} ${STATUS_CODES[a.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(a.body)}\r\nConnection: close\r\n\r\n${a.body}`);
      } else {
        socket.destroy();
      }
    },
  };
}
