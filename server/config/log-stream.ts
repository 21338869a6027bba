/**
 * Where the server's log goes: JSON lines for log pipelines, readable lines for a person at a
 * terminal — one format per stream, chosen by whether stdout is a terminal. Either way the
 * server says "listening" once: the start line on stderr (server/config/start.ts) and, for
 * pipelines, the one structured "ocitrust trust server listening" record; fastify's own
 * "Server listening at" line repeats them and is dropped.
 */

/** A pino destination (fastify `logger.stream`). */
export interface LogStream {
  write(line: string): void;
}

const LEVELS: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Records a person at a terminal already read in the start line. */
const SAID_IN_START_LINE = new Set(['ocitrust trust server listening', 'effective security settings']);
/** pino's own fields, shown in their place rather than as key=value. */
const FRAME = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId', 'req', 'res', 'err', 'responseTime']);

/** Builds the log destination for `out` (process.stdout for the server). */
export function logStream(out: { write(s: string): unknown; readonly isTTY?: boolean }): LogStream {
  const tty = out.isTTY === true;
  return {
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const msg = typeof rec.msg === 'string' ? rec.msg : '';
      if (msg.startsWith('Server listening at ')) return;
      if (!tty) {
        out.write(line);
        return;
      }
      if (SAID_IN_START_LINE.has(msg)) return;
      out.write(readable(rec, msg) + '\n');
    },
  };
}

/** One readable line: time, level, request id, message, request and response, other fields. */
function readable(rec: Record<string, unknown>, msg: string): string {
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 19) : '';
  const level = (LEVELS[rec.level as number] ?? String(rec.level)).padEnd(5);
  const parts = [time, level];
  if (typeof rec.reqId === 'string') parts.push(rec.reqId);
  parts.push(msg);
  const req = rec.req as { method?: unknown; url?: unknown; remoteAddress?: unknown } | undefined;
  if (req && typeof req === 'object') parts.push(`${String(req.method)} ${String(req.url)}${req.remoteAddress ? ` from ${String(req.remoteAddress)}` : ''}`);
  const res = rec.res as { statusCode?: unknown } | undefined;
  if (res && typeof res === 'object' && res.statusCode !== undefined) parts.push(`→ ${String(res.statusCode)}`);
  if (typeof rec.responseTime === 'number') parts.push(`${rec.responseTime.toFixed(1)} ms`);
  const err = rec.err as { message?: unknown } | undefined;
  if (err && typeof err === 'object' && err.message !== undefined) parts.push(`error: ${String(err.message)}`);
  for (const [k, v] of Object.entries(rec)) {
    if (FRAME.has(k) || v === undefined) continue;
    parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  // eslint-disable-next-line no-control-regex
  return parts.filter((p) => p !== '').join(' ').replace(/[\u0000-\u001f\u007f]+/g, ' ');
}
