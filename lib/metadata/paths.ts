import { assertArg } from '../errors/index.js';

/**
 * TUF delegation path matching (tuf-spec "delegations": `paths`, as tuf-js `DelegatedRole`
 * implements it): pattern and target are split on `/`, must have the same number of segments,
 * and each segment is matched shell-style (fnmatch): `*` any run of characters (never `/`,
 * since segments contain none), `?` exactly one character, `[...]` a character class
 * (`[!...]` or `[^...]` negated, `a-z` ranges; a `[` without a closing `]` is a literal).
 * Everything else matches itself: the pattern is never compiled to a RegExp, so no
 * character in a pattern can inject regex syntax.
 *
 * @example pathMatches('registry.example.com/team/*', 'registry.example.com/team/app:v1') // true
 * @example pathMatches('registry.example.com/*', 'registry.example.com/team/app:v1') // false
 * @throws INVALID_ARGUMENT when either argument is not a string.
 */
export function pathMatches(pattern: string, targetPath: string): boolean {
  assertArg(typeof pattern === 'string', 'pattern', 'string', pattern);
  assertArg(typeof targetPath === 'string', 'targetPath', 'string', targetPath);
  const p = pattern.split('/');
  const t = targetPath.split('/');
  if (p.length !== t.length) return false;
  for (let i = 0; i < p.length; i++) {
    if (!segmentMatches(p[i] as string, t[i] as string)) return false;
  }
  return true;
}

/**
 * The TUF target path of an image (DESIGN §1): `<repository>:<tag>` when a tag is given,
 * else `<repository>@<digest>`. Delegation `paths` are matched against it.
 *
 * @throws INVALID_ARGUMENT when the repository is empty or neither tag nor digest is given.
 */
export function targetPathOf(repository: string, ref: { tag?: string; digest?: string }): string {
  assertArg(typeof repository === 'string' && repository.length > 0, 'repository', 'non-empty string', repository);
  assertArg(typeof ref === 'object' && ref !== null, 'ref', 'object {tag?, digest?}', ref);
  if (typeof ref.tag === 'string' && ref.tag.length > 0) return `${repository}:${ref.tag}`;
  assertArg(typeof ref.digest === 'string' && ref.digest.length > 0, 'ref', 'a tag or a digest', ref.digest);
  return `${repository}@${ref.digest}`;
}

/**
 * fnmatch for one segment, iterative with single-star backtracking: linear memory and
 * O(|p|·|s|) worst case, so hostile patterns cannot blow up (no exponential regex paths).
 */
function segmentMatches(p: string, s: string): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1; // pattern index just after the last '*'
  let starS = 0; // subject index the last '*' currently stops at
  while (si < s.length) {
    if (pi < p.length) {
      const c = p[pi] as string;
      if (c === '*') {
        starP = ++pi;
        starS = si;
        continue;
      }
      if (c === '?') {
        pi++;
        si++;
        continue;
      }
      if (c === '[') {
        const cls = matchClass(p, pi, s[si] as string);
        if (cls !== null) {
          if (cls.matched) {
            pi = cls.end;
            si++;
            continue;
          }
        } else if (s[si] === '[') {
          // unterminated class: '[' is a literal
          pi++;
          si++;
          continue;
        }
      } else if (c === s[si]) {
        pi++;
        si++;
        continue;
      }
    }
    if (starP < 0) return false;
    // backtrack: let the last '*' swallow one more character
    pi = starP;
    si = ++starS;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/**
 * Matches `ch` against the class starting at `p[start] === '['`. Returns null when the class
 * has no closing `]` (then `[` is literal), else whether it matched and the index after `]`.
 */
function matchClass(p: string, start: number, ch: string): { matched: boolean; end: number } | null {
  let i = start + 1;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  let matched = false;
  let first = true;
  while (i < p.length) {
    const c = p[i] as string;
    if (c === ']' && !first) return { matched: matched !== negate, end: i + 1 };
    first = false;
    if (p[i + 1] === '-' && i + 2 < p.length && p[i + 2] !== ']') {
      const lo = c;
      const hi = p[i + 2] as string;
      if (lo <= ch && ch <= hi) matched = true;
      i += 3;
    } else {
      if (c === ch) matched = true;
      i++;
    }
  }
  return null;
}
