/**
 * Image patterns of the policy file: globs over normalized repository names
 * (`host[:port]/path`, no tag, no digest).
 *
 * Grammar, per `/`-separated segment:
 * - a literal segment (`team`, `registry.example.com:5000`);
 * - a segment with `*` wildcards, each matching any run of characters except `/`
 *   (`app-*`, `*.example.com`);
 * - `**` alone, matching zero or more whole segments (`registry.example.com/**`,
 *   `**` for every repository).
 *
 * The first segment names the registry host. A pattern without wildcards is an exact name and
 * is normalized the way `docker pull` normalizes references (`nginx` →
 * `docker.io/library/nginx`); a pattern with wildcards must spell its host (or start with
 * `**`), because `bitnami/*` would silently mean Docker Hub.
 */

import { isOcitrustError } from '../errors/index.js';
import { normalizeRepository } from '../reference.js';

/** A compiled image pattern. */
export interface ImagePattern {
  /** Normalized source text, e.g. `registry.example.com/team/*`. */
  readonly text: string;
  /** True when the pattern contains no wildcard. */
  readonly exact: boolean;
  /** Characters before the first wildcard (the whole text for exact patterns). */
  readonly literalPrefix: number;
  /** Number of wildcard tokens (`*` and `**` each count one). */
  readonly wildcards: number;
  /** Number of `**` segments. */
  readonly doubleStars: number;
  /** Characters that are not wildcards. */
  readonly literalChars: number;
  /** True for the catch-all `**`. */
  readonly catchAll: boolean;
  readonly regex: RegExp;
}

/** Outcome of {@link compilePattern}: the pattern or a human-readable reason. */
export type PatternResult = { ok: true; pattern: ImagePattern } | { ok: false; reason: string };

const HOST_SEG = /^[A-Za-z0-9*](?:[A-Za-z0-9.*-]*[A-Za-z0-9*])?(?::[0-9*]+)?$/;
const PATH_SEG = /^[a-z0-9*]+(?:(?:[._]|__|-+)[a-z0-9*]+)*$/;
const MAX_PATTERN = 512;

function looksLikeHost(seg: string): boolean {
  return seg.includes('.') || seg.includes(':') || seg === 'localhost';
}

/**
 * Compiles one pattern. Never throws: bad patterns come back with a reason that the policy
 * validator reports at the pattern's location.
 *
 * @example compilePattern('registry.example.com/team/*')
 */
export function compilePattern(input: string): PatternResult {
  if (input.length === 0) return { ok: false, reason: 'empty pattern' };
  if (input.length > MAX_PATTERN) return { ok: false, reason: `longer than ${MAX_PATTERN} characters` };
  if (/\s/.test(input)) return { ok: false, reason: 'contains whitespace' };
  if (input.includes('@')) return { ok: false, reason: 'patterns name repositories; remove the digest' };
  if (input === '**') return { ok: true, pattern: build('**', ['**']) };
  if (input === '*') return { ok: false, reason: "'*' matches one segment only and never a whole repository; use '**' for every image" };

  const segs = input.split('/');
  if (segs.some((s) => s === '')) return { ok: false, reason: 'empty path segment (leading, double or trailing slash)' };
  const hasWildcard = input.includes('*');
  const first = segs[0] as string;
  const last = segs[segs.length - 1] as string;

  // A tag would be a ':' after the last '/', except in a single-segment "host:port".
  if (segs.length > 1 && last.includes(':')) return { ok: false, reason: 'patterns name repositories; remove the tag' };

  if (!hasWildcard) {
    if (segs.length === 1 && first.includes(':')) return { ok: false, reason: 'patterns name repositories; remove the tag' };
    // Exact names follow the reference parser's (docker's) normalization, so that a pattern
    // and an image reference written the same way always agree.
    try {
      const repo = normalizeRepository(input);
      return { ok: true, pattern: build(repo, repo.split('/')) };
    } catch (e) {
      return { ok: false, reason: isOcitrustError(e) ? e.message.replace(/^invalid image reference "[^"]*": /, '') : String(e) };
    }
  } else if (first !== '**' && !looksLikeHost(first)) {
    return {
      ok: false,
      reason: `a pattern with wildcards must begin with a registry host or '**' (did you mean 'docker.io/${input}'?)`,
    };
  }
  if (segs.length < 2) return { ok: false, reason: 'a repository pattern needs a registry host and a path' };

  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as string;
    if (s === '**') {
      if (segs[i - 1] === '**') return { ok: false, reason: "consecutive '**' segments" };
      continue;
    }
    if (s.includes('**')) return { ok: false, reason: `'**' must be a whole segment, got '${s}'` };
    if (i === 0) {
      if (!HOST_SEG.test(s)) return { ok: false, reason: `'${s}' is not a valid registry host` };
    } else if (!PATH_SEG.test(s)) {
      return {
        ok: false,
        reason: `'${s}' is not a valid repository path component (lowercase letters, digits and single . _ __ - separators)`,
      };
    }
  }
  segs[0] = (segs[0] as string).toLowerCase();
  if (segs[0] === 'index.docker.io' || segs[0] === 'registry-1.docker.io') segs[0] = 'docker.io';
  return { ok: true, pattern: build(segs.join('/'), segs) };
}

function build(text: string, segs: string[]): ImagePattern {
  const star = text.indexOf('*');
  const wildcards = segs.reduce((n, s) => n + (s === '**' ? 1 : (s.match(/\*/g)?.length ?? 0)), 0);
  const doubleStars = segs.filter((s) => s === '**').length;
  return Object.freeze({
    text,
    exact: star < 0,
    literalPrefix: star < 0 ? text.length : star,
    wildcards,
    doubleStars,
    literalChars: text.replace(/\*/g, '').length,
    catchAll: text === '**',
    regex: toRegex(segs),
  });
}

function segRegex(s: string): string {
  return s
    .split('*')
    .map((lit) => lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
}

function toRegex(segs: string[]): RegExp {
  if (segs.length === 1 && segs[0] === '**') return /^[^/]+(?:\/[^/]+)*$/;
  let re = '';
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as string;
    if (s === '**') {
      // Leading '**' eats whole segments with their trailing slash; elsewhere the leading one.
      re += i === 0 ? '(?:[^/]+/)*' : '(?:/[^/]+)*';
    } else {
      re += (i === 0 || (i === 1 && segs[0] === '**') ? '' : '/') + segRegex(s);
    }
  }
  return new RegExp(`^${re}$`);
}

/**
 * True when `repository` (normalized, `host/path`) matches. The host is compared
 * case-insensitively (DNS names are), the path exactly (it is lowercase by grammar).
 */
export function matchPattern(p: ImagePattern, repository: string): boolean {
  const slash = repository.indexOf('/');
  const repo = slash < 0 ? repository : repository.slice(0, slash).toLowerCase() + repository.slice(slash);
  return p.regex.test(repo);
}

/**
 * Orders two patterns by specificity: positive when `a` is more specific than `b`, zero on
 * a tie. The order (docs/policy.md "Which rule wins"): an exact name beats any glob; the
 * catch-all `**` loses to every other pattern; then the longer literal prefix; then fewer wildcards; then fewer `**`; then more literal characters.
 */
export function compareSpecificity(a: ImagePattern, b: ImagePattern): number {
  if (a.exact !== b.exact) return a.exact ? 1 : -1;
  if (a.catchAll !== b.catchAll) return a.catchAll ? -1 : 1;
  if (a.literalPrefix !== b.literalPrefix) return a.literalPrefix - b.literalPrefix;
  if (a.wildcards !== b.wildcards) return b.wildcards - a.wildcards;
  if (a.doubleStars !== b.doubleStars) return b.doubleStars - a.doubleStars;
  return a.literalChars - b.literalChars;
}
