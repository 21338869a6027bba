/**
 * A small, strict RFC 6902 applier for tests: it implements the operations the admission
 * webhook may emit (test, replace) plus add and remove, and throws on anything that would
 * not apply cleanly (missing path, failed test, bad pointer), as the API server would.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new Error(`bad JSON pointer ${p}`);
  return p
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[]): { parent: Json; key: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(t) || Number(t) >= cur.length) throw new Error(`path segment ${t} out of range`);
      cur = cur[Number(t)] as Json;
    } else if (cur !== null && typeof cur === 'object') {
      if (!Object.prototype.hasOwnProperty.call(cur, t)) throw new Error(`path segment ${t} missing`);
      cur = cur[t] as Json;
    } else throw new Error(`cannot descend into a scalar at ${t}`);
  }
  const key = tokens[tokens.length - 1];
  if (key === undefined) throw new Error('operation on the document root is not supported');
  return { parent: cur, key };
}

function get(parent: Json, key: string): Json {
  if (Array.isArray(parent)) {
    if (!/^(0|[1-9][0-9]*)$/.test(key) || Number(key) >= parent.length) throw new Error(`index ${key} out of range`);
    return parent[Number(key)] as Json;
  }
  if (parent !== null && typeof parent === 'object') {
    if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new Error(`member ${key} missing`);
    return parent[key] as Json;
  }
  throw new Error('parent is a scalar');
}

/** Applies `ops` to a deep copy of `doc` and returns it. Throws when any operation fails. */
export function applyJsonPatch<T>(doc: T, ops: unknown): T {
  if (!Array.isArray(ops)) throw new Error('a JSON Patch is an array');
  const out = structuredClone(doc) as unknown as Json;
  for (const op of ops as Record<string, unknown>[]) {
    const tokens = parsePointer(String(op['path']));
    const { parent, key } = parentOf(out, tokens);
    switch (op['op']) {
      case 'test':
        if (JSON.stringify(get(parent, key)) !== JSON.stringify(op['value'])) throw new Error(`test failed at ${op['path']}`);
        break;
      case 'replace':
        get(parent, key);
        if (Array.isArray(parent)) parent[Number(key)] = op['value'] as Json;
        else (parent as Record<string, Json>)[key] = op['value'] as Json;
        break;
      case 'add':
        if (Array.isArray(parent)) parent.splice(key === '-' ? parent.length : Number(key), 0, op['value'] as Json);
        else if (parent !== null && typeof parent === 'object') (parent as Record<string, Json>)[key] = op['value'] as Json;
        else throw new Error('add into a scalar');
        break;
      case 'remove':
        get(parent, key);
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete (parent as Record<string, Json>)[key];
        break;
      default:
        throw new Error(`unsupported op ${String(op['op'])}`);
    }
  }
  return out as unknown as T;
}
