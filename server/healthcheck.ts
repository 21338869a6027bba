/**
 * The container's HEALTHCHECK: asks the server in this container for `/healthz` on the loopback
 * address and exits 0 when it answers 200, 1 otherwise (within 4 s). It reads the same
 * OCITRUST_PORT and OCITRUST_TLS_CERT as the server; with TLS it does not check the certificate,
 * since it only asks whether the local process is alive, never trusts an answer's content.
 * (With client certificates required, OCITRUST_CLIENT_CA, the handshake refuses it: use the
 * orchestrator's own probes, as deploy/ does.)
 *
 *   node dist/server/healthcheck.js
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const port = Number(process.env.OCITRUST_PORT ?? 7443);
const tls = (process.env.OCITRUST_TLS_CERT ?? '') !== '';
const req = (tls ? httpsRequest : httpRequest)(
  { host: '127.0.0.1', port, path: '/healthz', method: 'GET', timeout: 4000, ...(tls ? { rejectUnauthorized: false } : {}) },
  (res) => {
    res.resume();
    process.exitCode = res.statusCode === 200 ? 0 : 1;
  },
);
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (e) => {
  process.stderr.write(`healthcheck: ${e.message}\n`);
  process.exitCode = 1;
});
req.end();
