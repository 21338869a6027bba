/**
 * What `trust inspect` shows of cosign signatures and Sigstore bundles: each artifact found for
 * an image with its format and the signer it names (certificate subject and issuer, or a key
 * hint) and log time, all unverified. Whether one counts is a policy question (`trust verify
 * --policy` with a `cosign:` rule); inspect has no policy.
 */
import { X509Certificate } from '@sigstore/core';
import { isOcitrustError } from '../errors/index.js';
import { DEFAULT_LIMITS } from '../config.js';
import { isPlainObject, parseJson } from '../json.js';
import { isMalformedContent, type RegistryClient, type RepositoryRef } from '../oci/client.js';
import { listReferrers } from '../oci/referrers.js';
import { isIndex } from '../oci/types.js';
import { BUNDLE_ARTIFACT_TYPE, BUNDLE_MEDIA_TYPES, MAX_BUNDLE_BYTES, parseBundle } from './bundle.js';
import { BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATIONS, SIMPLE_SIGNING_MEDIA_TYPE } from './simple-signing.js';

/** One cosign artifact as found (nothing here is verified). */
export interface FoundSignature {
  readonly format: 'cosign' | 'sigstore-bundle';
  /** The `.sig` manifest or bundle referrer manifest. */
  readonly manifestDigest: string;
  /** The layer (simple-signing payload or bundle blob). */
  readonly layerDigest: string;
  /** The certificate's subject and OIDC issuer, as the certificate says. */
  readonly identity?: { readonly subject?: string; readonly issuer?: string };
  /** A bundle's public key hint. */
  readonly keyHint?: string;
  /** The log's integrated time, as the entry says. */
  readonly loggedAt?: string;
  /** Why the artifact cannot even be read, if so. */
  readonly problem?: string;
}

function certIdentity(cert: X509Certificate): { subject?: string; issuer?: string } {
  const v2 = cert.extension('1.3.6.1.4.1.57264.1.8');
  const issuer = v2 ? v2.valueObj.subs?.[0]?.value.toString('ascii') : cert.extension('1.3.6.1.4.1.57264.1.1')?.value.toString('ascii');
  const subject = cert.subjectAltName;
  return { ...(subject !== undefined ? { subject } : {}), ...(issuer !== undefined ? { issuer } : {}) };
}

function pemIdentity(text: string): { subject?: string; issuer?: string } | undefined {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]{1,65536}?)-----END CERTIFICATE-----/.exec(text.slice(0, 65536));
  if (!m) return undefined;
  try {
    return certIdentity(X509Certificate.parse(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') as Buffer<ArrayBuffer>));
  } catch {
    return undefined;
  }
}

function isoTime(seconds: unknown): string | undefined {
  const n = Number(seconds);
  return Number.isSafeInteger(n) && n > 0 ? new Date(n * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
}

/**
 * Lists the cosign `.sig` layers and Sigstore bundle referrers of `digest`, bounded like
 * verification. Registry errors other than absent or malformed artifacts propagate.
 */
export async function findCosignSignatures(registry: RegistryClient, repo: RepositoryRef, digest: string): Promise<FoundSignature[]> {
  const out: FoundSignature[] = [];
  const max = DEFAULT_LIMITS.maxSignatures;
  const tag = `${digest.replace(':', '-')}.sig`;
  try {
    const sig = await registry.getManifest(repo, tag);
    if (isIndex(sig.manifest)) out.push({ format: 'cosign', manifestDigest: sig.digest, layerDigest: '', problem: `${tag} is an index, not a signature manifest` });
    else {
      for (const l of (sig.manifest.layers ?? []).slice(0, max)) {
        if (l?.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
        const a = l.annotations ?? {};
        const cert = CERTIFICATE_ANNOTATIONS.map((n) => a[n]).find((v) => typeof v === 'string');
        let loggedAt: string | undefined;
        try {
          const b = a[BUNDLE_ANNOTATION] ? parseJson(a[BUNDLE_ANNOTATION], { maxBytes: 65536 }) : undefined;
          loggedAt = isPlainObject(b) && isPlainObject(b['Payload']) ? isoTime(b['Payload']['integratedTime']) : undefined;
        } catch {
          loggedAt = undefined;
        }
        const identity = cert ? pemIdentity(cert) : undefined;
        out.push({ format: 'cosign', manifestDigest: sig.digest, layerDigest: l.digest, ...(identity ? { identity } : {}), ...(loggedAt ? { loggedAt } : {}) });
      }
    }
  } catch (e) {
    if (!isOcitrustError(e, 'MANIFEST_NOT_FOUND') && !isMalformedContent(e)) throw e;
  }
  const listing = await listReferrers(registry, repo, digest, { artifactType: BUNDLE_ARTIFACT_TYPE, maxReferrers: max });
  for (const d of listing.descriptors.slice(0, max)) {
    try {
      const m = await registry.getManifest(repo, d.digest);
      if (isIndex(m.manifest)) continue;
      for (const l of (m.manifest.layers ?? []).filter((x) => BUNDLE_MEDIA_TYPES.includes(x?.mediaType)).slice(0, 4)) {
        if (l.size > MAX_BUNDLE_BYTES) {
          out.push({ format: 'sigstore-bundle', manifestDigest: d.digest, layerDigest: l.digest, problem: `bundle of ${l.size} bytes exceeds ${MAX_BUNDLE_BYTES}` });
          continue;
        }
        const p = parseBundle(await registry.getBlob(repo, l.digest, { size: l.size, maxBytes: MAX_BUNDLE_BYTES }));
        if (!p.ok) {
          out.push({ format: 'sigstore-bundle', manifestDigest: d.digest, layerDigest: l.digest, problem: p.message });
          continue;
        }
        const vm = p.bundle.verificationMaterial;
        const raw = vm.content.$case === 'certificate' ? vm.content.certificate.rawBytes : vm.content.$case === 'x509CertificateChain' ? vm.content.x509CertificateChain.certificates[0]?.rawBytes : undefined;
        let identity: { subject?: string; issuer?: string } | undefined;
        try {
          identity = raw ? certIdentity(X509Certificate.parse(Buffer.from(raw) as Buffer<ArrayBuffer>)) : undefined;
        } catch {
          identity = undefined;
        }
        const loggedAt = isoTime(vm.tlogEntries[0]?.integratedTime);
        out.push({
          format: 'sigstore-bundle',
          manifestDigest: d.digest,
          layerDigest: l.digest,
          ...(identity ? { identity } : {}),
          ...(vm.content.$case === 'publicKey' ? { keyHint: vm.content.publicKey.hint } : {}),
          ...(loggedAt ? { loggedAt } : {}),
        });
      }
    } catch (e) {
      if (!isMalformedContent(e) && !(e instanceof Error && /^(BLOB_|MANIFEST_)/.test((e as { code?: string }).code ?? ''))) throw e;
      out.push({ format: 'sigstore-bundle', manifestDigest: d.digest, layerDigest: '', problem: (e as Error).message });
    }
  }
  return out;
}
