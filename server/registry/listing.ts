/**
 * Listing endpoints: tags (end-8a/8b), `_catalog`, and the referrers API (end-12a/12b,
 * distribution-spec "Listing Referrers").
 */
import { isDigest } from '../../lib/crypto/hash.js';
import { OcitrustError } from '../../lib/errors/index.js';
import { OCI_INDEX } from '../../lib/oci/types.js';
import type { Call, RegistryContext } from './context.js';
import { nextLink, pageParams } from './http.js';

/** GET /v2/<name>/tags/list?n=&last= (ASCIIbetical, Link when more). */
export async function listTags(ctx: RegistryContext, call: Call, name: string): Promise<void> {
  if (!(await ctx.store.repositoryExists(name))) {
    throw new OcitrustError('DIST_NAME_UNKNOWN', `repository ${name} not known to registry`, { details: { detail: { name } } });
  }
  const { n, last } = pageParams(call.query, ctx.opts.limits.maxPageSize);
  // n=0: an empty list and no Link (distribution-spec "Listing Tags").
  const rows = n === 0 ? [] : await ctx.store.listTags(name, n + 1, last);
  const tags = rows.slice(0, n);
  if (rows.length > n) call.reply.header('Link', nextLink(`/v2/${name}/tags/list`, { n, last: tags[tags.length - 1] }));
  await call.reply.header('Content-Type', 'application/json').send(JSON.stringify({ name, tags }));
}

/** GET /v2/_catalog?n=&last=. */
export async function listCatalog(ctx: RegistryContext, call: Call): Promise<void> {
  const { n, last } = pageParams(call.query, ctx.opts.limits.maxPageSize);
  const rows = n === 0 ? [] : await ctx.store.listRepositories(n + 1, last);
  const repositories = rows.slice(0, n);
  if (rows.length > n) call.reply.header('Link', nextLink('/v2/_catalog', { n, last: repositories[repositories.length - 1] }));
  await call.reply.header('Content-Type', 'application/json').send(JSON.stringify({ repositories }));
}

/**
 * GET /v2/<name>/referrers/<digest>?artifactType=: every manifest of `name` whose subject is
 * `digest`, as an image index; each descriptor carries artifactType and the manifest's
 * annotations. Never 404 (that would tell clients the API is missing): an unknown repository
 * or subject gives an empty index. Pages are bounded by count and by bytes (annotation-heavy
 * signatures), with `Link` to the next.
 */
export async function listReferrers(ctx: RegistryContext, call: Call, name: string, digest: string): Promise<void> {
  const { limits } = ctx.opts;
  const { n, last } = pageParams(call.query, limits.referrersPageSize);
  if (last !== undefined && !isDigest(last)) throw new OcitrustError('DIST_PARAM_INVALID', 'last must be a digest');
  const artifactType = call.query.artifactType === '' ? undefined : call.query.artifactType;
  const size = Math.max(1, n);
  const rows = await ctx.store.referrers(name, digest, artifactType, size + 1, last);
  const head = `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[`;
  const parts: string[] = [];
  let bytes = head.length + 2;
  for (const r of rows.slice(0, size)) {
    const d: Record<string, unknown> = { mediaType: r.mediaType, digest: r.digest, size: r.size };
    if (r.artifactType !== null) d.artifactType = r.artifactType;
    if (r.annotations !== null) d.annotations = JSON.parse(r.annotations) as unknown;
    const s = JSON.stringify(d);
    const len = Buffer.byteLength(s) + 1;
    if (parts.length > 0 && bytes + len > limits.referrersPageBytes) break;
    parts.push(s);
    bytes += len;
  }
  if (parts.length < rows.length) {
    const lastDigest = rows[parts.length - 1]!.digest;
    call.reply.header('Link', nextLink(`/v2/${name}/referrers/${digest}`, { n: call.query.n === undefined ? undefined : n, last: lastDigest, artifactType }));
  }
  if (artifactType !== undefined) call.reply.header('OCI-Filters-Applied', 'artifactType');
  // A Buffer, so fastify does not append a charset to the OCI media type.
  await call.reply.header('Content-Type', OCI_INDEX).send(Buffer.from(`${head}${parts.join(',')}]}`));
}
