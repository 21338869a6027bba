// Issue 20: a verification reads the registry and refreshes the trust data at the same time
// (neither needs the other), and still reports what it reported when they ran in turn. Proved
// structurally, not timed: a front before a real trust server with its embedded registry holds
// one side's first request until the other side's has arrived (rendezvous-front.ts). Were they
// made one after the other, the held request would only go on at the generous bound, and the
// test fails saying so. Faces: the shipped `trust verify` (its trust opening) and the in-process
// gate with a remote trust server (the pool's refresh, as the admission webhooks and the proxy).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectOk as ok, CliSession, failureCodes, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { makeImage } from '../helpers/oci-layout.js';
import { startRendezvousFront, type RendezvousFront } from '../helpers/rendezvous-front.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { OCI_MANIFEST } from '../../lib/oci/types.js';
import { createGate } from '../../lib/gate/index.js';
import { parseReference } from '../../lib/reference.js';
import type { ImageRuleOptions } from '../../lib/policy/types.js';

const isManifest = (tag: string) => (method: string, path: string) => method === 'GET' && path.startsWith('/v2/') && path.endsWith(`/manifests/${tag}`);
const isTimestamp = (method: string, path: string) => method === 'GET' && path.startsWith('/v1/collections/') && path.endsWith('/timestamp.json');

describe('trust and registry reads overlap', { timeout: 300_000 }, () => {
  let ts: TestTrustServer;
  let front: RendezvousFront;
  let s: CliSession;
  let work: string;
  let token: string;
  let repo: string;
  const run = (args: string[]): Promise<TrustRun> => s.run(args, { dist: true });
  const registry = (): HttpRegistryClient => new HttpRegistryClient({ plainHttp: true, credentials: async () => ({ username: 'ocitrust', password: token }) });
  // The front's trust server serves anonymous reads; the rule pins root v1 as a deciding process must.
  const rule = async (): Promise<ImageRuleOptions> => {
    const res = await fetch(`${front.url}/v1/collections/${repo.split('/').map(encodeURIComponent).join('/')}/1.root.json`);
    assert.equal(res.status, 200, 'root v1 is served');
    return { rule: 'overlap', policyRevision: 'r1', collection: repo, server: front.url, root: { kind: 'inline', metadata: (await res.json()) as Record<string, unknown> }, verify: {} };
  };
  const rendezvous = (what: string): string => `${what}; requests as they arrived:\n  ${front.arrived.join('\n  ')}`;

  before(async () => {
    ts = await startTrustServer({ registry: true });
    token = await ts.token();
    front = await startRendezvousFront(ts.url);
    work = await mkdtemp(join(tmpdir(), 'ocitrust-overlap-'));
    s = new CliSession({ server: front.url, token });
    repo = `${front.host}/overlap/app`;
    ok(await run(['key', 'generate', 'alice', '--dir', work]), 'key generate');
    ok(await run(['init', repo]), 'init');
    ok(await run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]), 'signer add');
    const image = makeImage();
    const client = registry();
    const ref = { registry: front.host, path: 'overlap/app' };
    for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
    ok(await run(['sign', `${repo}:v1`]), 'sign');
    // Warm: the pin and the trusted state are in the home, as in the measurement.
    ok(await run(['verify', `${repo}:v1`]), 'first verify');
  });
  after(async () => {
    await front?.close();
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /**
   * Runs `once` with each side's first request held until the other side's arrives, in both
   * orders: whichever comes first waits for the other. A round where the held side came second
   * proves nothing, so rounds repeat (at most 3) until one request was really held and released
   * by the other's arrival, which only concurrent reads pass; a time-out fails at once.
   */
  async function inBothOrders(tag: string, once: () => Promise<void>, sequentialMeans: string): Promise<void> {
    let released = 0;
    for (let round = 0; round < 3 && released === 0; round++) {
      for (const [hold, until, what] of [
        [isManifest(tag), isTimestamp, 'the manifest GET was held until the timestamp GET arrived'],
        [isTimestamp, isManifest(tag), 'the timestamp GET was held until the manifest GET arrived'],
      ] as const) {
        front.arm({ hold, until });
        try {
          await once();
        } finally {
          front.arm(undefined);
        }
        assert.equal(front.timedOut, 0, rendezvous(`${what}, and it never did: ${sequentialMeans}`));
        released += front.released;
      }
    }
    assert.ok(released > 0, "a held request was released by the other side's arrival");
  }

  test('trust verify: the manifest is read while the trust data refreshes, in either order', async () => {
    await inBothOrders(
      'v1',
      async () => {
        const r = ok(await run(['verify', '-o', 'json', `${repo}:v1`]), 'verify');
        assert.equal(JSON.parse(r.stdout).results[0].verified, true);
      },
      'the CLI makes them one after the other',
    );
  });

  test('the gate with a remote trust server: the tag resolves while the pool refreshes', async () => {
    const ruleOptions = await rule();
    await inBothOrders(
      'v1',
      async () => {
        // A new gate each time: its pool refreshes on the first check.
        const a = await createGate({ registry: registry(), cache: false }).check(`${repo}:v1`, { rule: ruleOptions });
        assert.equal(a.decision, 'allow', JSON.stringify(a));
        assert.equal(a.outcome, 'verified');
      },
      'the gate resolves the tag only after the trust refresh',
    );
  });

  test('trust server and registry both unreachable: the trust failure is the one reported, as before, and nothing is left unhandled', async () => {
    let unhandled = 0;
    const onRejection = (): void => void unhandled++;
    process.on('unhandledRejection', onRejection);
    front.blocked = true;
    try {
      // The CLI: exit 3 with the trust server's code (TUF_SOURCE_UNREACHABLE), not the registry's.
      const r = await run(['verify', '-o', 'json', `${repo}:v1`]);
      assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
      assert.deepEqual(failureCodes(r), ['TUF_SOURCE_UNREACHABLE'], r.stdout);
      assert.doesNotMatch(r.stderr, /\n\s+at |unhandled/i, 'no stack trace, no unhandled rejection');
      // The gate: inconclusive with the same code, its message naming the collection's trust data.
      const gate = createGate({ registry: registry(), cache: false });
      front.blocked = false;
      const ruleOptions = await rule();
      front.blocked = true;
      const a = await gate.check(`${repo}:v1`, { rule: ruleOptions });
      assert.equal(a.outcome, 'inconclusive', JSON.stringify(a));
      assert.equal(a.code, 'TUF_SOURCE_UNREACHABLE', JSON.stringify(a));
      assert.match(a.error?.message ?? '', /^trust data of collection /);
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(unhandled, 0, 'the abandoned registry read must not surface as an unhandled rejection');
    } finally {
      front.blocked = false;
      process.off('unhandledRejection', onRejection);
    }
  });

  test('registry unreachable alone: the registry failure is reported (exit 3), the trust refresh made no difference', async () => {
    const gate = createGate({ registry: new HttpRegistryClient({ plainHttp: true, credentials: async () => ({ username: 'ocitrust', password: token }) }), cache: false });
    const ruleOptions = await rule();
    // A reference to a registry that is not there; the trust data is the front's, reachable.
    const a = await gate.check(parseReference('127.0.0.1:1/overlap/app:v1'), { rule: ruleOptions });
    assert.equal(a.outcome, 'inconclusive', JSON.stringify(a));
    assert.equal(a.code, 'REGISTRY_UNREACHABLE', JSON.stringify(a));
  });
});
