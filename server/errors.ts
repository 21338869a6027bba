import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CATALOGUE, OcitrustError, type ErrorCode } from '../lib/errors/index.js';

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

/**
 * Installs the one error handler and the JSON 404 handler. 5xx answers are logged at error level
 * with the cause; client errors at info level with only their code.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.addSchema(errorBodySchema);
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toHttpError(err, request.id);
    if (status >= 500) request.log.error({ err, code: body.code }, 'request failed');
    else request.log.info({ code: body.code, status }, body.message);
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="ocitrust"');
    void reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type('application/json; charset=utf-8').send({
      code: 'ROUTE_NOT_FOUND',
      message: `no route for ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
    } satisfies ErrorBody);
  });
}
