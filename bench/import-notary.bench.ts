// `trust import-notary` of a Notary v1 repository with N signed tags (default 1,000; issue 15
// "Done means"), next to Notary's own `notary list` of the same repository.
//
//   npm run build && node --import tsx bench/import-notary.bench.ts   (BENCH_IMPORT_TAGS=N, BENCH_RUNS=5)
//
// The DCT stack is test/helpers/notary.ts: notary-server + notary-signer (mutual TLS, memory
// storage) and docker-registry on loopback. The N images are pushed through the library (one
// config and layer, one manifest per tag), signed as `docker trust sign` does by signer alice
// into targets/releases and targets/alice (N changelist entries, one `notary publish`). The
// import is one `node dist/cli/bundle/trust.js import-notary` process against a `trust server`
// process: it verifies the Notary data, publishes the collection with its signers, checks the
// N manifests in the registry and writes 2N ocitrust signatures (releases and alice) with
// alice's key from her Notary trust dir. `notary list` runs from a fresh trust dir (cold: root,
// timestamp, snapshot, targets and both delegations downloaded and verified) and again from
// the same one (warm).
import { readFileSync } from 'node:fs';
import { buildStaleness, startOcitrust } from './helpers/ocitrust.js';
import { pushTaggedImages } from './helpers/ocitrust.js';
import { fmtMs, fmtRatio, markdownTable, median } from './helpers/stats.js';
import { environmentLine } from './harness.js';
import { HttpRegistryClient } from '../lib/oci/client.js';
import { anonymous } from '../lib/oci/credentials.js';
import { httpNotarySource } from '../lib/notary/source.js';
import { NOTARY_PASSPHRASE, dctMissing, startDct } from '../test/helpers/notary.js';

const N = Number(process.env.BENCH_IMPORT_TAGS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const missing = dctMissing() ?? buildStaleness();
if (missing) {
  console.error(`import-notary bench: ${missing}`);
  process.exit(1);
}

const w = await startDct();
const svc = await startOcitrust({ registry: false });
try {
  const REPO = 'bench/app';
  const gun = w.gun(REPO);
  await w.initRepo(REPO);
  const alice = await w.newSigner('alice');
  await w.addSigner(REPO, alice);
  const tags = Array.from({ length: N }, (_, i) => `tag-${String(i).padStart(5, '0')}`);
  const images = await pushTaggedImages(new HttpRegistryClient({ credentials: anonymous }), gun, tags);
  await w.signMany(REPO, images, alice);

  const cli = svc.cli('importer');
  cli.env.OCITRUST_ALICE_PASSPHRASE = NOTARY_PASSPHRASE;
  const args = ['import-notary', gun, '--notary-server', w.notary.url, '--notary-ca', w.notary.caPath, '--root', w.rootCertFile(REPO), '--notary-trust-dir', alice.client.trustDir, '-o', 'json'];
  const first = await cli.run(args);
  const report = JSON.parse(first.stdout) as { tags: { status: string }[]; skipped: unknown[] };
  const migrated = report.tags.filter((t) => t.status === 'migrated').length;
  if (migrated !== N || report.skipped.length !== 0) throw new Error(`expected ${N} tags migrated and none skipped, got ${migrated} and ${report.skipped.length}`);
  const again = await cli.run(args);
  const same = (JSON.parse(again.stdout) as { tags: { status: string }[] }).tags.filter((t) => t.status === 'already-migrated').length;
  if (same !== N) throw new Error(`expected the re-run to find ${N} tags migrated, got ${same}`);

  const cold: number[] = [];
  const warm: number[] = [];
  let listed = 0;
  for (let i = 0; i < RUNS; i++) {
    const reader = w.notary.client(`reader-${i}`);
    const c = await reader.list(gun);
    cold.push(c.ms);
    warm.push((await reader.list(gun)).ms);
    listed = c.stdout.split('\n').filter((l) => l.startsWith('tag-')).length;
  }
  if (listed !== N) throw new Error(`expected notary list to show ${N} tags, got ${listed}`);
  const served = await httpNotarySource(w.notary.url, gun, { ca: readFileSync(w.notary.caPath) }).get('targets/releases.json', 64 << 20);
  const targetsBytes = served?.length ?? 0;

  console.log(`${environmentLine()}`);
  console.log('');
  console.log(`A Notary v1 repository with ${N} tags signed by one signer (targets/releases and targets/alice, ${Math.round(targetsBytes / 1024)} KiB each) migrated by one \`trust import-notary\` process: verify the Notary data, publish the collection with its signers, check ${N} manifests in docker-registry, write ${2 * N} ocitrust signatures (releases and alice). Re-run: everything found migrated (${N} verifications, nothing written). \`notary list\`: the same repository from a fresh trust dir (cold) and again (warm), median of ${RUNS}.`);
  console.log('');
  console.log(markdownTable(
    ['tags', '`trust import-notary`', 're-run (idempotent)', '`notary list` cold', '`notary list` warm', 'import / list cold', 'import per tag'],
    [[String(N), fmtMs(first.ms), fmtMs(again.ms), fmtMs(median(cold)), fmtMs(median(warm)), fmtRatio(first.ms / median(cold)), fmtMs(first.ms / N)]],
  ));
} finally {
  await svc.stop();
  await w.stop();
}
