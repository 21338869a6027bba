// Air-gapped transfer (issue 17): `trust save` / `trust load` of one image with 100 MiB of layers
// and of 100 small images, side by side with skopeo copying the same images (docker:// ⇄
// oci-archive: / oci:), against a `trust server` process with its embedded registry. Whole
// processes timed; `trust save` also carries every signature and the trust data, skopeo does not.
//
//   npm run build && node --import tsx bench/airgap.bench.ts [--runs 3] [--small 100] [--mib 100]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '../lib/crypto/hash.js';
import { parseReference } from '../lib/reference.js';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from '../lib/oci/types.js';
import { cliMissing, initCollection, loadHomeSigner, pushTaggedImages, signInProcess, startOcitrust } from './helpers/ocitrust.js';
import { timeOk } from './helpers/process.js';
import { fmtMs, fmtRatio, markdownTable, median, numberOption } from './helpers/stats.js';
import { environmentLine } from './harness.js';

const RUNS = numberOption('runs', 'BENCH_RUNS', 3);
const SMALL = numberOption('small', 'BENCH_SMALL', 100);
const MIB = numberOption('mib', 'BENCH_MIB', 100);
const log = (s: string): void => void process.stderr.write(`airgap: ${s}\n`);

async function main(): Promise<void> {
  const lines = [`Reproduce: \`npm run build && node --import tsx bench/airgap.bench.ts --runs ${RUNS} --small ${SMALL} --mib ${MIB}\` (${environmentLine()}).`, ''];
  const why = cliMissing();
  if (why) {
    process.stdout.write(lines.concat([`**pending CLI:** ${why}.`]).join('\n') + '\n');
    return;
  }
  const oc = await startOcitrust();
  const work = mkdtempSync(join(tmpdir(), 'ocitrust-bench-airgap-'));
  try {
    const owner = oc.cli('airgap');
    const creds = `ocitrust:${oc.token}`;
    const skopeo = (args: string[]) => timeOk('skopeo', ['--insecure-policy', 'copy', '--all', '--preserve-digests', '-q', ...args]);
    // One image with MIB MiB of incompressible layers (4 layers).
    const big = `${oc.host}/airgap/big`;
    await initCollection(owner, big);
    const ref = parseReference(`${big}:v1`);
    const layers = [];
    for (let i = 0; i < 4; i++) {
      const b = new Uint8Array(randomBytes(Math.floor((MIB * 1024 * 1024) / 4)));
      await oc.registry.pushBlob(ref, b);
      layers.push({ mediaType: OCI_LAYER_GZIP, digest: digestOf(b), size: b.length });
    }
    const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    await oc.registry.pushBlob(ref, config);
    const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.length }, layers }));
    await oc.registry.putManifest(ref, 'v1', manifest, OCI_MANIFEST);
    await owner.run(['sign', `${big}:v1`]);
    // SMALL small images in one repository, signed.
    const small = `${oc.host}/airgap/small`;
    await initCollection(owner, small);
    const tags = Array.from({ length: SMALL }, (_, i) => `t${i}`);
    await pushTaggedImages(oc.registry, small, tags, 16);
    await signInProcess(oc.registry, small, tags, await loadHomeSigner(owner, 'alice'), 'alice', 8);

    const rows: string[][] = [];
    const measure = async (what: string, trust: (run: number) => Promise<number>, sko: (run: number) => Promise<number>): Promise<void> => {
      const t: number[] = [];
      const s: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        t.push(await trust(run));
        s.push(await sko(run));
        log(`${what} run ${run + 1}: trust ${fmtMs(t[run]!)}, skopeo ${fmtMs(s[run]!)}`);
      }
      rows.push([what, fmtMs(median(t)), fmtMs(median(s)), fmtRatio(median(t) / median(s))]);
    };
    const tarOf = (kind: string, run: number) => join(work, `${kind}-${run}.tar`);
    await measure(
      `save 1 image, ${MIB} MiB`,
      async (run) => (await owner.run(['save', '-q', '--out', tarOf('trust-big', run), `${big}:v1`])).ms,
      async (run) => (await skopeo(['--src-tls-verify=false', '--src-creds', creds, `docker://${big}:v1`, `oci-archive:${tarOf('skopeo-big', run)}:${big}:v1`])).ms,
    );
    await measure(
      `load 1 image, ${MIB} MiB`,
      async (run) => (await owner.run(['load', '-q', tarOf('trust-big', run), '--to', `${oc.host}/tl${run}`])).ms,
      async (run) => (await skopeo(['--dest-tls-verify=false', '--dest-creds', creds, `oci-archive:${tarOf('skopeo-big', run)}:${big}:v1`, `docker://${oc.host}/sl${run}/airgap/big:v1`])).ms,
    );
    await measure(
      `save ${SMALL} small images`,
      async (run) => (await owner.run(['save', '-q', '--out', tarOf('trust-small', run), ...tags.map((t) => `${small}:${t}`)])).ms,
      async (run) => {
        // skopeo copies one image per invocation; all into one layout folder.
        const dir = join(work, `skopeo-small-${run}`);
        let ms = 0;
        for (const t of tags) ms += (await skopeo(['--src-tls-verify=false', '--src-creds', creds, `docker://${small}:${t}`, `oci:${dir}:${small}:${t}`])).ms;
        return ms;
      },
    );
    await measure(
      `load ${SMALL} small images`,
      async (run) => (await owner.run(['load', '-q', tarOf('trust-small', run), '--to', `${oc.host}/tsl${run}`])).ms,
      async (run) => {
        const dir = join(work, `skopeo-small-${run}`);
        let ms = 0;
        for (const t of tags) ms += (await skopeo(['--dest-tls-verify=false', '--dest-creds', creds, `oci:${dir}:${small}:${t}`, `docker://${oc.host}/ssl${run}/airgap/small:${t}`])).ms;
        return ms;
      },
    );
    lines.push(markdownTable(['transfer', 'trust (median)', 'skopeo (median)', 'trust / skopeo'], rows, ['left', 'right', 'right', 'right']));
    lines.push('', `trust save also carries every signature and the trust data of each collection, and trust load pushes the signatures; skopeo copies images only (one process per image for the small ones, as it has no multi-image copy into one archive). ${RUNS} runs each.`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await oc.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
