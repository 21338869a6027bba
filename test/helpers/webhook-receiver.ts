/**
 * A webhook receiver on 127.0.0.1 for the webhook tests: records every request and checks its
 * Standard Webhooks signature itself (its own HMAC code, not the server's), can be switched to
 * answer 500, hang, redirect, or go away (connection refused) and come back on the same port.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A fresh Standard Webhooks secret. */
export function newSecret(): string {
  return 'whsec_' + randomBytes(32).toString('base64');
}

/** One request the receiver got. */
export interface Received {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly contentType: string;
  readonly body: string;
  readonly json: any;
  /** Which of the receiver's secrets verified it (indexes), empty when none did. */
  readonly verifiedBy: number[];
  readonly at: number;
}

/** How the receiver answers. */
export type ReceiverMode = 'ok' | 'error' | 'hang' | 'redirect';

/** Checks a delivery like a receiver in production: timestamp within 5 min, one v1 signature matching. */
export function verifyDelivery(secret: string, id: string, timestamp: string, signature: string, body: string): boolean {
  const ts = Number(timestamp);
  if (!/^[0-9]+$/.test(timestamp) || Math.abs(Date.now() / 1000 - ts) > 300) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const want = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signature.split(' ').some((p) => {
    const [v, sig] = p.split(',');
    if (v !== 'v1' || !sig) return false;
    const got = Buffer.from(sig, 'base64');
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

/** A running receiver. */
export class Receiver {
  readonly received: Received[] = [];
  mode: ReceiverMode = 'ok';
  secrets: string[];
  #server: Server | null = null;
  #sockets = new Set<Socket>();
  #port = 0;
  #waiters: (() => void)[] = [];

  constructor(secrets: string[]) {
    this.secrets = secrets;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  /** Listens (on the same port as before after a {@link down}). */
  async up(): Promise<this> {
    const server = createServer((req, res) => this.#handle(req, res));
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Stops listening and cuts open connections: the port refuses connections until {@link up}. */
  async down(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (!s) return;
    for (const sock of this.#sockets) sock.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const h = (n: string): string => String(req.headers[n] ?? '');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      const verifiedBy = this.secrets.map((s, i) => (verifyDelivery(s, h('webhook-id'), h('webhook-timestamp'), h('webhook-signature'), body) ? i : -1)).filter((i) => i >= 0);
      this.received.push({ id: h('webhook-id'), timestamp: h('webhook-timestamp'), signature: h('webhook-signature'), contentType: h('content-type'), body, json, verifiedBy, at: Date.now() });
      for (const w of this.#waiters.splice(0)) w();
      if (this.mode === 'hang') return;
      if (this.mode === 'error') return void res.writeHead(500).end('boom');
      if (this.mode === 'redirect') return void res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      res.writeHead(204).end();
    });
  }

  /** Distinct event ids received so far, in first-arrival order. */
  ids(): string[] {
    return [...new Set(this.received.map((r) => r.id))];
  }

  /** Waits until `pred` holds over what was received (checked after each request), or fails after `ms`. */
  async until(pred: (r: readonly Received[]) => boolean, ms = 20_000, what = 'deliveries'): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this.received)) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.received.length}: ${this.received.map((r) => r.json?.type ?? r.id).join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await this.down();
  }
}

/** Starts a receiver on 127.0.0.1:0. */
export function startReceiver(secrets: string[] = [newSecret()]): Promise<Receiver> {
  return new Receiver(secrets).up();
}
