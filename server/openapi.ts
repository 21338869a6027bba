/**
 * OpenAPI post-processing. Collection names contain '/', so the routes are one fastify wildcard
 * per method (`/v1/collections/*`); the generated document would show a single opaque
 * `/v1/collections/{*}`. This expands it into the concrete resource paths a client uses, each
 * keeping the route's generated schema (responses, request body).
 */

type Operation = Record<string, unknown> & { parameters?: unknown[]; summary?: string; description?: string };
type PathItem = Record<string, Operation>;

const nameParam = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'Collection name, e.g. registry.example.com/team/app. It contains "/" characters, which are sent unescaped.',
  schema: { type: 'string' },
};
const versionParam = { name: 'version', in: 'path', required: true, description: 'Metadata version (1, 2, …).', schema: { type: 'integer', minimum: 1 } };

const GET_RESOURCES: readonly [string, string, boolean][] = [
  ['{version}.root.json', 'Root metadata of a version (immutable).', true],
  ['root.json', 'The newest root metadata.', false],
  ['timestamp.json', 'The current timestamp metadata (short-lived, re-signed by the server).', false],
  ['{version}.snapshot.json', 'Snapshot metadata of a version (immutable).', true],
  ['{version}.targets.json', 'Targets metadata of a version (immutable).', true],
  ['keys', "The server's snapshot and timestamp public keys for the collection, and its current versions.", false],
];

/** Replaces `/v1/collections/{*}` in an OpenAPI document by the concrete collection resource paths. */
export function expandCollectionPaths<T extends { paths?: Record<string, unknown> }>(doc: T): T {
  const paths = doc.paths as Record<string, PathItem> | undefined;
  const wild = paths?.['/v1/collections/{*}'];
  if (!paths || !wild) return doc;
  const out: Record<string, PathItem> = {};
  for (const [p, item] of Object.entries(paths)) {
    if (p !== '/v1/collections/{*}') {
      out[p] = item;
      continue;
    }
    if (wild.get) {
      for (const [res, summary, versioned] of GET_RESOURCES) {
        out[`/v1/collections/{name}/${res}`] = {
          get: { ...wild.get, summary, operationId: `get_${res.replace(/[{}.]/g, '_')}`, parameters: versioned ? [nameParam, versionParam] : [nameParam] },
        };
      }
    }
    if (wild.post) out['/v1/collections/{name}/metadata'] = { post: { ...wild.post, parameters: [nameParam] } };
  }
  return { ...doc, paths: out };
}
