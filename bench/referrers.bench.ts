// Signature discovery cost (issue 3 benchmark): HTTP requests and wall time to find and read
// every signature of an image given by tag (resolve + list + envelopes) and by digest, with
// 1, 10 and 100 signatures, counted through an injected fetch wrapper.
//   node --import tsx bench/referrers.bench.ts [--rounds 5]
// Registries: docker-registry (distribution 2.8.2, tag-schema fallback). The embedded
// registry (server/registry, referrers API) is added as another entry of REGISTRIES.
import { pathToFileURL } from 'node:url';
import { startDistribution } from '../test/helpers/distribution.js';
import { startEmbeddedRegistry } from '../test/helpers/embedded-registry.js';
import { makeImage } from '../test/helpers/oci-layout.js';
import { HttpRegistryClient } from '../lib/oci/client.js';
import { anonymous } from '../lib/oci/credentials.js';
import { listSignatures, pushSignature, repairIndex } from '../lib/oci/referrers.js';
import { collectEnvelopes } from '../lib/oci/signature-artifact.js';
import { OCI_MANIFEST } from '../lib/oci/types.js';
import { environmentLine, optionsFromArgv } from './harness.js';

/** A registry to measure. */
export interface BenchRegistry {
  readonly name: string;
  start(): Promise<{ host: string; stop(): Promise<void> }>;
}

/** The registries measured. */
export const REGISTRIES: BenchRegistry[] = [
  { name: 'docker-registry 2.8.2 (fallback)', start: () => startDistribution() },
  {
    name: 'ocitrust embedded (referrers API)',
    start: async () => {
      const r = await startEmbeddedRegistry();
      return { host: r.host, stop: () => r.close() };
    },
  },
];

/** One measured row. */
export interface DiscoveryRow {
  readonly registry: string;
  readonly signatures: number;
  readonly tagRequests: number;
  readonly digestRequests: number;
  readonly completeRequests: number;
  readonly tagMsMedian: number;
  readonly tagMsMin: number;
  readonly tagMsMax: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Measures one registry for each signature count. */
export async function measure(reg: BenchRegistry, counts: readonly number[], rounds: number, log: (l: string) => void = () => undefined): Promise<DiscoveryRow[]> {
  const srv = await reg.start();
  const rows: DiscoveryRow[] = [];
  try {
    let requests = 0;
    const client = new HttpRegistryClient({
      credentials: anonymous,
      fetch: (u, i) => {
        requests++;
        return fetch(u, i);
      },
    });
    for (const n of counts) {
      const repo = { registry: srv.host, path: `bench/sigs${n}` };
      const im = makeImage();
      for (const b of im.blobs) await client.pushBlob(repo, b.bytes);
      await client.putManifest(repo, 'v1', im.manifest.bytes, OCI_MANIFEST);
      const subject = { mediaType: OCI_MANIFEST, digest: im.manifest.digest, size: im.manifest.size };
      log(`${reg.name}: pushing ${n} signatures`);
      for (let i = 0; i < n; i += 10) {
        await Promise.all(
          Array.from({ length: Math.min(10, n - i) }, (_, j) =>
            pushSignature(client, repo, subject, new TextEncoder().encode(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(`s${i + j}`).toString('base64'), signatures: [{ keyid: 'k', sig: 'AAAA' }] }))),
          ),
        );
      }
      await repairIndex(client, repo, subject.digest);

      const discover = async (byTag: boolean): Promise<number> => {
        const digest = byTag ? (await client.getManifest(repo, 'v1')).digest : subject.digest;
        const listing = await listSignatures(client, repo, digest);
        const { envelopes } = await collectEnvelopes(client, repo, digest, listing.descriptors);
        return envelopes.length;
      };
      const times: number[] = [];
      let tagRequests = 0;
      for (let r = 0; r < rounds; r++) {
        requests = 0;
        const t0 = performance.now();
        const found = await discover(true);
        times.push(performance.now() - t0);
        tagRequests = requests;
        if (found !== n) throw new Error(`found ${found} of ${n} signatures`);
      }
      requests = 0;
      await discover(false);
      const digestRequests = requests;
      requests = 0;
      const full = await listSignatures(client, repo, subject.digest, { complete: true });
      if (full.descriptors.length !== n) throw new Error('complete listing disagrees');
      const completeRequests = requests;
      rows.push({
        registry: reg.name,
        signatures: n,
        tagRequests,
        digestRequests,
        completeRequests,
        tagMsMedian: median(times),
        tagMsMin: Math.min(...times),
        tagMsMax: Math.max(...times),
      });
    }
  } finally {
    await srv.stop();
  }
  return rows;
}

/** Markdown table of rows. */
export function table(rows: readonly DiscoveryRow[]): string {
  return [
    '| registry | signatures | requests, tag ref | requests, digest ref | requests, complete listing | wall ms, tag ref (median, min–max) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.registry} | ${r.signatures} | ${r.tagRequests} | ${r.digestRequests} | ${r.completeRequests} | ${r.tagMsMedian.toFixed(1)} (${r.tagMsMin.toFixed(1)}–${r.tagMsMax.toFixed(1)}) |`),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { rounds } = optionsFromArgv();
  const rows: DiscoveryRow[] = [];
  for (const reg of REGISTRIES) rows.push(...(await measure(reg, [1, 10, 100], rounds ?? 5, (l) => console.error(l))));
  console.log(`### Signature discovery (resolve tag, list signatures, read every envelope; ${rounds} rounds)\n`);
  console.log(environmentLine() + '\n');
  console.log(table(rows));
  console.log(
    '\nThe tag-ref path is: GET manifest (tag → digest), then GET referrers, or on a fallback registry GET the `sha256-<hex>` index (the client remembers a registry whose referrers API answered 404, so only its first listing pays that 404; these rounds run warm); envelopes come from the referrers response or the index annotations, so the count does not grow with signatures. A digest reference skips the manifest GET. "Complete listing" asks the referrers API again and adds tags/list (the per-signature tags); it runs only when the fast path does not satisfy the policy.',
  );
}
