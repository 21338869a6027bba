/**
 * Namespace labels from the Kubernetes API, for admission policies whose rules select
 * namespaces by label (docs/policy.md). In a cluster the webhook uses its service account
 * (deploy/rbac.yaml grants `get` on namespaces): `GET /api/v1/namespaces/<name>` with the
 * projected token (re-read on every miss, since kubelet rotates it) and the cluster CA.
 * Answers are cached briefly, one request in flight per namespace.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { OcitrustError, assertArg } from '../lib/errors/index.js';
import { isJsonObject, parseJson } from '../lib/json.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { NamespaceLabelsFn } from '../hook/admission.js';

/** Where a pod's service account credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const MAX_BODY = 1024 * 1024;

/** Options of {@link kubernetesNamespaceLabels}. */
export interface KubernetesApiOptions {
  /** API server base URL, e.g. `https://10.96.0.1:443`. */
  readonly apiUrl: string;
  /** The bearer token (called on every cache miss: service account tokens rotate). */
  readonly token: () => Promise<string> | string;
  /** PEM CA bundle of the API server (https). */
  readonly ca?: string | Buffer;
  /** How long labels are reused (ms, default 30 000). */
  readonly ttlMs?: number;
  /** Per-request timeout (ms, default 3000). */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
}

function get(url: URL, headers: Record<string, string>, ca: string | Buffer | undefined, timeoutMs: number): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', headers, timeout: timeoutMs, ...(url.protocol === 'https:' && ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (b: Buffer) => {
        n += b.length;
        if (n > MAX_BODY) {
          req.destroy(new Error(`answer larger than ${MAX_BODY} bytes`));
          return;
        }
        chunks.push(b);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * A {@link NamespaceLabelsFn} reading namespaces from the Kubernetes API. Unknown namespaces
 * give `undefined` (no labels); any other failure throws HOOK_NAMESPACE_LABELS_UNAVAILABLE,
 * which the webhook turns into a denial (fail closed).
 *
 * @throws OcitrustError INVALID_ARGUMENT for a bad `apiUrl`
 */
export function kubernetesNamespaceLabels(o: KubernetesApiOptions): NamespaceLabelsFn {
  let base: URL;
  try {
    base = new URL(o.apiUrl);
  } catch {
    assertArg(false, 'apiUrl', 'an absolute http(s) URL', o.apiUrl);
  }
  assertArg(base.protocol === 'https:' || base.protocol === 'http:', 'apiUrl', 'an http(s) URL', o.apiUrl);
  const ttl = o.ttlMs ?? 30_000;
  const timeoutMs = o.timeoutMs ?? 3000;
  const clock = o.clock ?? systemClock;
  const cache = new Map<string, { labels: Readonly<Record<string, string>> | undefined; expiresAt: number }>();
  const inflight = new Map<string, Promise<Readonly<Record<string, string>> | undefined>>();

  const load = async (namespace: string): Promise<Readonly<Record<string, string>> | undefined> => {
    const fail = (why: string, cause?: unknown): never => {
      throw new OcitrustError('HOOK_NAMESPACE_LABELS_UNAVAILABLE', `namespace ${namespace}: ${why}`, cause === undefined ? undefined : { cause });
    };
    const url = new URL(`api/v1/namespaces/${encodeURIComponent(namespace)}`, base.href.endsWith('/') ? base : new URL(`${base.href}/`));
    let res: { status: number; body: Buffer };
    try {
      const token = (await o.token()).trim();
      res = await get(url, { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, o.ca, timeoutMs);
    } catch (e) {
      return fail(`GET ${url.pathname} failed: ${(e as Error).message}`, e);
    }
    if (res.status === 404) return undefined;
    if (res.status !== 200) return fail(`GET ${url.pathname}: HTTP ${res.status}${res.status === 403 ? ' (the webhook\'s service account needs get on namespaces, see deploy/rbac.yaml)' : ''}`);
    let doc: unknown;
    try {
      doc = parseJson(res.body, { maxBytes: MAX_BODY, what: 'namespace' });
    } catch (e) {
      return fail(`the API server answered no JSON namespace`, e);
    }
    const meta = isJsonObject(doc) ? doc['metadata'] : undefined;
    const raw = isJsonObject(meta) ? meta['labels'] : undefined;
    const labels: Record<string, string> = {};
    if (isJsonObject(raw)) for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') labels[k] = v;
    return Object.freeze(labels);
  };

  return (namespace: string) => {
    const hit = cache.get(namespace);
    const now = clock.now().getTime();
    if (hit && hit.expiresAt > now) return hit.labels;
    let p = inflight.get(namespace);
    if (!p) {
      p = load(namespace).then((labels) => {
        cache.set(namespace, { labels, expiresAt: clock.now().getTime() + ttl });
        if (cache.size > 10_000) cache.delete(cache.keys().next().value as string);
        return labels;
      });
      const done = p;
      inflight.set(namespace, done);
      void done.then(
        () => inflight.delete(namespace),
        () => inflight.delete(namespace),
      );
    }
    return p;
  };
}

/**
 * The namespace label source of a webhook running in a cluster (KUBERNETES_SERVICE_HOST and
 * the service account files present), or undefined elsewhere.
 */
export async function inClusterNamespaceLabels(env: NodeJS.ProcessEnv = process.env, dir: string = SERVICE_ACCOUNT_DIR): Promise<NamespaceLabelsFn | undefined> {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) return undefined;
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  let ca: Buffer;
  try {
    ca = await readFile(join(dir, 'ca.crt'));
    await readFile(join(dir, 'token'));
  } catch {
    return undefined;
  }
  return kubernetesNamespaceLabels({
    apiUrl: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca,
    token: async () => (await readFile(join(dir, 'token'), 'utf8')).trim(),
  });
}
