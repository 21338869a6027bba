import { assertArg } from './errors/index.js';

/**
 * Limits and defaults in one place (tuf-js `config.ts` style). Every read of untrusted data is
 * bounded by one of these; callers may lower or raise them through options.
 */
export interface Limits {
  /** Largest root.json / targets.json accepted (bytes). */
  readonly maxMetadataBytes: number;
  /** Largest timestamp.json / snapshot.json accepted (bytes). */
  readonly maxSmallMetadataBytes: number;
  /** Longest root rotation chain walked in one refresh (TUF 5.3.3). */
  readonly maxRootRotations: number;
  /** Most delegated roles considered in one targets document. */
  readonly maxDelegations: number;
  /** Largest DSSE envelope accepted (bytes). */
  readonly maxEnvelopeBytes: number;
  /** Largest statement payload accepted (bytes, decoded). */
  readonly maxPayloadBytes: number;
  /** Most signature envelopes examined for one image. */
  readonly maxSignatures: number;
  /** Largest manifest or index accepted from a registry (bytes); OCI says registries accept ≥ 4 MiB. */
  readonly maxManifestBytes: number;
  /** Largest referrers / fallback index page accepted (bytes). */
  readonly maxReferrersBytes: number;
  /** Most referrers pages followed. */
  readonly maxReferrersPages: number;
  /** Largest blob read into memory by the client (bytes); bigger blobs must be streamed. */
  readonly maxBufferedBlobBytes: number;
  /** Clock skew tolerated for `signedAt` in the future (seconds). */
  readonly clockSkewSeconds: number;
  /** Per-request timeout for HTTP (ms). */
  readonly requestTimeoutMs: number;
}

/** The defaults. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxMetadataBytes: 16 * 1024 * 1024,
  maxSmallMetadataBytes: 64 * 1024,
  maxRootRotations: 256,
  maxDelegations: 1024,
  maxEnvelopeBytes: 256 * 1024,
  maxPayloadBytes: 64 * 1024,
  maxSignatures: 256,
  maxManifestBytes: 4 * 1024 * 1024,
  maxReferrersBytes: 8 * 1024 * 1024,
  maxReferrersPages: 32,
  maxBufferedBlobBytes: 16 * 1024 * 1024,
  clockSkewSeconds: 300,
  requestTimeoutMs: 30_000,
});

/**
 * Merges partial overrides over the defaults. Each override must be a known limit and an
 * integer (≥ 1; ≥ 0 for the clock skew): a bound of NaN or "100" compares false with every size
 * and so would bound nothing. An undefined override keeps the default.
 *
 * @throws INVALID_ARGUMENT
 */
export function limits(overrides?: Partial<Limits>): Limits {
  if (overrides === undefined) return DEFAULT_LIMITS;
  assertArg(typeof overrides === 'object' && overrides !== null && !Array.isArray(overrides), 'limits', 'object of limits', overrides);
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(overrides)) {
    assertArg(Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, k), 'limits', `only the known limits (${Object.keys(DEFAULT_LIMITS).join(', ')})`, k);
    if (v === undefined) continue;
    const min = k === 'clockSkewSeconds' ? 0 : 1;
    assertArg(Number.isSafeInteger(v) && (v as number) >= min, `limits.${k}`, `integer ≥ ${min}`, v);
    out[k] = v as number;
  }
  return Object.freeze(out) as unknown as Limits;
}
