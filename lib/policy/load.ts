import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { digestOf } from '../crypto/hash.js';
import { DEFAULT_LIMITS } from '../config.js';
import { MAX_POLICY_BYTES, parsePolicy, policyFromValue, type RootFile } from './parse.js';
import type { Policy } from './types.js';
import { SCHEMES } from '../schemes/index.js';

/** Largest file a signature scheme's policy block may name (a trust store folder's files are the scheme's to bound). */
const MAX_SCHEME_FILE_BYTES = 4 * 1024 * 1024;

async function readBounded(path: string, max: number, what: string): Promise<Uint8Array> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new OcitrustError('POLICY_FILE_UNREADABLE', `${what} ${path} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (isOcitrustError(e)) throw e;
    throw new OcitrustError('POLICY_FILE_UNREADABLE', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      cause: e,
    });
  }
  if (size > max) throw new OcitrustError('INPUT_TOO_LARGE', `${what} ${path}: ${size} bytes, limit ${max}`);
  try {
    return await readFile(path);
  } catch (e) {
    throw new OcitrustError('POLICY_FILE_UNREADABLE', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Reads a policy file from disk, validates it, and reads every root file it names by path
 * (relative paths are resolved against the policy file's folder). The root files' digests
 * are part of the revision, and their parsed content is attached to the rules.
 *
 * @throws OcitrustError POLICY_FILE_UNREADABLE, POLICY_FILE_SYNTAX, POLICY_FILE_INVALID, INPUT_TOO_LARGE
 * @example const policy = await loadPolicyFile('/etc/ocitrust/policy.yaml')
 */
export async function loadPolicyFile(path: string): Promise<Policy> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new OcitrustError('INVALID_ARGUMENT', `policy file path: expected a non-empty string, got ${path === null ? 'null' : typeof path === 'string' ? 'an empty string' : typeof path}`);
  }
  const abs = resolve(path);
  const bytes = await readBounded(abs, MAX_POLICY_BYTES, 'policy file');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new OcitrustError('POLICY_FILE_SYNTAX', `policy file ${abs}: not valid UTF-8`, { cause: e });
  }
  const ext = extname(abs).toLowerCase();
  const format = ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : undefined;
  const first = parsePolicy(text, { what: abs, ...(format ? { format } : {}) });

  // Rewrite root paths to absolute ones and read them.
  const doc = structuredClone(first.document) as { defaults: Record<string, unknown>; rules: Record<string, unknown>[] };
  const rootFiles: Record<string, RootFile> = {};
  const problems: string[] = [];
  const sections: [string, Record<string, unknown>][] = [['/defaults', doc.defaults], ...doc.rules.map((r, i): [string, Record<string, unknown>] => [`/rules/${i}`, r])];
  for (const [ptr, s] of sections) {
    const root = s['root'];
    if (typeof root !== 'string') continue;
    const rootPath = isAbsolute(root) ? root : resolve(dirname(abs), root);
    s['root'] = rootPath;
    if (rootFiles[rootPath]) continue;
    try {
      const raw = await readBounded(rootPath, DEFAULT_LIMITS.maxMetadataBytes, 'root file');
      const parsed = parseJson(raw, { maxBytes: DEFAULT_LIMITS.maxMetadataBytes, what: rootPath });
      if (!isJsonObject(parsed) || !isJsonObject(parsed['signed']) || parsed['signed']['_type'] !== 'root') {
        problems.push(`${ptr}/root: ${rootPath} is not TUF root metadata`);
        continue;
      }
      rootFiles[rootPath] = { digest: digestOf(raw), metadata: parsed };
    } catch (e) {
      if (!isOcitrustError(e)) throw e;
      problems.push(`${ptr}/root: ${e.message}`);
    }
  }
  // Signature schemes' files (trusted roots, keys, trust stores): paths made absolute like
  // roots, their bytes hashed into the revision so that replacing one changes it.
  const schemeFiles: Record<string, string> = {};
  for (let i = 0; i < first.rules.length; i++) {
    const rule = first.rules[i]!;
    for (const scheme of SCHEMES) {
      const config = rule.schemes?.[scheme.key];
      if (config === undefined) continue;
      const absolute = scheme.resolvePaths(config, (p) => (isAbsolute(p) ? p : resolve(dirname(abs), p)));
      doc.rules[i]![scheme.key] = absolute;
      for (const file of scheme.files(absolute)) {
        if (schemeFiles[file]) continue;
        try {
          schemeFiles[file] = digestOf(await readBounded(file, MAX_SCHEME_FILE_BYTES, `${scheme.key} file`));
        } catch (e) {
          if (!isOcitrustError(e)) throw e;
          problems.push(`/rules/${i}/${scheme.key}: ${e.message}`);
        }
      }
    }
  }
  if (problems.length > 0) {
    throw new OcitrustError('POLICY_FILE_INVALID', `policy file ${abs} names root files that cannot be used:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  return policyFromValue(doc, { what: abs, rootFiles, schemeFiles });
}
