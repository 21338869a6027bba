// The faces agree (issue 13, first "Done means" bullet): one table of scenarios, each decided
// by the five faces of "decide one image under a policy" — the library (createGate), `trust
// verify -o json`, `trust verify-manifests -o json`, the validating admission webhook and the
// verifying proxy — through their external interfaces only. Every face must give the
// scenario's decision and main failure code. All five go through the one gate (lib/gate); a
// scenario carries a `known` entry only where a face differs ON PURPOSE (docs/gate.md "Where
// the faces differ"): the CLI and a library user with a home may trust a root on first use
// where a service may not, the CLI fails closed on stale trust data without
// `trustMaxAgeSeconds`, and the proxy cannot serve what the registry cannot give it. The test
// asserts the face's answer there too (so a change is noticed) and prints the list.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicyFile, OcitrustHome, type Policy } from '../../lib/index.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { CliSession } from '../helpers/cli.js';
import { makeImage } from '../helpers/oci-layout.js';
import { closedPort, shiftedClock, startFacesWorld, type FacesWorld } from '../helpers/faces-world.js';
import { admissionFace, collapse, FACES, libraryFace, manifestsFace, proxyFace, reportsCodes, verifyFace, type Decision, type Face, type Outcome } from '../helpers/faces.js';
import { startHostileRegistry, type HostileRegistry } from '../helpers/hostile-registry.js';
import { plainClient, publishCollection, startProxyServer, type ProxyServer } from '../helpers/proxy.js';

/** What a face says today where it disagrees with the table (asserted, and printed). */
interface Known {
  readonly decision: Decision;
  readonly code?: string;
  readonly reason: string;
}

interface Scenario {
  readonly name: string;
  /** The image, built once the world runs. */
  readonly image: () => string;
  /** When it runs: with the main policy, after the trust server was blocked, or with `unmatched: allow`. */
  readonly phase?: 'main' | 'blocked' | 'alt';
  /** Which proxy answers (its upstream). */
  readonly proxy?: 'main' | 'regdown' | 'garbage';
  readonly expect: { readonly decision: Decision; readonly code?: string };
  readonly known?: Partial<Record<Face, Known>>;
}

const DISCOVER = process.env.FACES_DISCOVER === '1';

describe('the five faces agree on every scenario (issue 13)', { timeout: 600_000 }, () => {
  let w: FacesWorld;
  let R: string;
  let hostile: HostileRegistry;
  let regDownHost: string;
  let proxies: Record<'main' | 'regdown' | 'garbage', ProxyServer>;
  let policyFile: string;
  let altPolicyFile: string;
  let policy: Policy;
  let altPolicy: Policy;
  let current: Policy;
  let cli: { verify: CliSession; manifests: CliSession };
  let libHome: OcitrustHome;
  const digests = new Map<string, string>();
  const results = new Map<string, Record<Face, Outcome>>();
  const img = (path: string, tag = 'v1') => () => `${R}/${path}:${tag}`;

  const scenarios: Scenario[] = [
    { name: 'signed (release)', image: img('main/signed'), expect: { decision: 'allow' } },
    { name: 'signed by another delegated role (qa)', image: img('main/qa'), expect: { decision: 'allow' } },
    { name: 'signed, pulled by digest', image: () => `${R}/main/signed@${digests.get('main/signed')}`, expect: { decision: 'allow' } },
    { name: 'unsigned', image: img('main/unsigned'), expect: { decision: 'deny', code: 'NO_SIGNATURES' } },
    { name: 'moved tag (now an unsigned manifest)', image: img('main/moved'), expect: { decision: 'deny', code: 'NO_SIGNATURES' } },
    { name: 'signed by a key nobody delegated', image: img('main/stranger'), expect: { decision: 'deny', code: 'SIG_KEY_NOT_DELEGATED' } },
    { name: 'revoked digest', image: img('main/revoked'), expect: { decision: 'deny', code: 'SIG_REVOKED' } },
    { name: 'expired statement', image: img('main/expired'), expect: { decision: 'deny', code: 'STATEMENT_EXPIRED' } },
    { name: 'future-dated statement', image: img('main/future'), expect: { decision: 'deny', code: 'STATEMENT_FUTURE' } },
    { name: 'missing tag', image: img('main/missing'), expect: { decision: 'undecided', code: 'MANIFEST_NOT_FOUND' } },
    { name: 'required role signed', image: img('rel/signed'), expect: { decision: 'allow' } },
    { name: 'wrong role (qa where release is required)', image: img('rel/wrongrole'), expect: { decision: 'deny', code: 'REQUIRED_ROLE_MISSING' } },
    { name: 'revoked role (release) where release is required', image: img('rel/revsig'), expect: { decision: 'deny', code: 'SIG_REVOKED' } },
    { name: 'revoked single signature (by envelope) where its role is required', image: img('rel/revenv'), expect: { decision: 'deny', code: 'SIG_REVOKED' } },
    { name: 'revoked role, another role still signed', image: img('main/revsig'), expect: { decision: 'allow' } },
    { name: 'threshold short (1 of 2)', image: img('pair/short'), expect: { decision: 'deny', code: 'THRESHOLD_NOT_MET' } },
    { name: 'threshold met (2 of 2)', image: img('pair/met'), expect: { decision: 'allow' } },
    { name: 'other required role signed (qa)', image: img('strict/qa'), expect: { decision: 'allow' } },
    { name: 'bindTag: signed for this tag', image: img('bind/same'), expect: { decision: 'allow' } },
    { name: 'bindTag: signed for another tag', image: img('bind/other', 'v2'), expect: { decision: 'deny', code: 'STATEMENT_TAG_MISMATCH' } },
    ...(['index', 'all', 'platform'] as const).flatMap((m): Scenario[] => [
      { name: `multiArch ${m}: index and amd64 signed, arm64 unsigned`, image: img(`ma-${m}/armless`), expect: { decision: m === 'all' ? 'deny' : 'allow' } },
      { name: `multiArch ${m}: index and arm64 signed, amd64 unsigned`, image: img(`ma-${m}/amdless`), expect: { decision: m === 'index' ? 'allow' : 'deny' } },
      { name: `multiArch ${m}: children signed, index unsigned`, image: img(`ma-${m}/bare`), expect: { decision: 'deny', code: 'NO_SIGNATURES' } },
    ]),
    { name: 'mirror remap: signed original', image: img('mirror/app'), expect: { decision: 'allow' } },
    { name: 'mirror remap: unsigned copy', image: img('mirror/app', 'v2'), expect: { decision: 'deny', code: 'NO_SIGNATURES' } },
    { name: 'denied tag', image: img('denied/app', 'latest'), expect: { decision: 'deny', code: 'POLICY_FILE_TAG_DENIED' } },
    { name: 'denyTags rule, allowed tag, signed', image: img('denied/app'), expect: { decision: 'allow' } },
    { name: 'warn rule, unsigned', image: img('warn/unsigned'), expect: { decision: 'warn', code: 'NO_SIGNATURES' } },
    { name: 'warn rule, signed', image: img('warn/signed'), expect: { decision: 'allow' } },
    { name: 'warn rule, denied tag', image: img('warndeny/app', 'latest'), expect: { decision: 'warn', code: 'POLICY_FILE_TAG_DENIED' } },
    { name: 'skip rule, unsigned', image: img('skip/unsigned'), expect: { decision: 'skip' } },
    { name: 'unmatched (deny)', image: img('other/app'), expect: { decision: 'deny', code: 'POLICY_FILE_NO_MATCH' } },
    { name: 'unmatched (allow)', image: img('other/app'), phase: 'alt', expect: { decision: 'allow' } },
    { name: 'removed signer', image: img('gone/app'), expect: { decision: 'deny', code: 'SIG_KEY_NOT_DELEGATED' } },
    { name: 'expired trust data (targets expired)', image: img('old/app'), expect: { decision: 'deny', code: 'TUF_EXPIRED' } },
    { name: 'warn rule, expired trust data', image: img('oldwarn/app'), expect: { decision: 'warn', code: 'TUF_EXPIRED' } },
    { name: 'no collection for the repository', image: img('nocoll/app'), expect: { decision: 'deny', code: 'NOT_SIGNED' },
      // The one first-use rule (issue 13): a service never trusts a remote root on first use, so
      // without `root:` it cannot learn anything from that server (could not decide); the CLI
      // may trust on first use and learns that the server has no such collection (a verdict).
      known: {
        admission: {
          decision: 'undecided',
          code: 'TRUST_ROOT_NOT_PINNED',
          reason: 'deliberate (the one first-use rule): services never trust a remote root on first use: a rule naming a remote server needs root:, so the webhook cannot ask it; the CLI may trust on first use and gets NOT_SIGNED',
        },
        proxy: {
          decision: 'undecided',
          code: 'TRUST_ROOT_NOT_PINNED',
          reason: 'deliberate (the one first-use rule): services never trust a remote root on first use: as the webhook (403, could not verify)',
        },
      } },
    { name: 'trust server down, no usable trust data', image: img('down/app'), expect: { decision: 'undecided', code: 'TUF_SOURCE_UNREACHABLE' } },
    { name: 'trust server answers garbage', image: img('trustgarbage/app'), expect: { decision: 'undecided', code: 'TUF_SOURCE_BAD_RESPONSE' } },
    { name: 'warn rule, trust server down', image: img('warndown/app'), expect: { decision: 'warn', code: 'TUF_SOURCE_UNREACHABLE' } },
    { name: 'trust server up (warm-up for the blocked run), signed', image: img('cached/signed'), expect: { decision: 'allow' } },
    { name: 'trust server up (warm-up for the blocked run), unsigned', image: img('cached/unsigned'), expect: { decision: 'deny', code: 'NO_SIGNATURES' } },
    { name: 'trust server down, usable trust data, signed', image: img('cached/signed'), phase: 'blocked', expect: { decision: 'allow' } },
    { name: 'trust server down, usable trust data, unsigned', image: img('cached/unsigned'), phase: 'blocked', expect: { decision: 'deny', code: 'NO_SIGNATURES' } },
    { name: 'trust server up (warm-up), rule without trustMaxAgeSeconds, signed', image: img('cached0/signed'), expect: { decision: 'allow' } },
    {
      name: 'trust server down, usable trust data, rule without trustMaxAgeSeconds, signed',
      image: img('cached0/signed'),
      phase: 'blocked',
      expect: { decision: 'allow' },
      known: {
        library: { decision: 'undecided', code: 'TUF_SOURCE_UNREACHABLE', reason: 'deliberate (DESIGN §3 Freeze): without trustMaxAgeSeconds the CLI fails closed when the trust server cannot be reached (DESIGN §3 Freeze); the services keep their last good trust data until it expires and ignore trustMaxAgeSeconds (docs/policy.md)' },
        verify: { decision: 'undecided', code: 'TUF_SOURCE_UNREACHABLE', reason: 'deliberate (DESIGN §3 Freeze): without trustMaxAgeSeconds the CLI fails closed when the trust server cannot be reached (DESIGN §3 Freeze); the services keep their last good trust data until it expires and ignore trustMaxAgeSeconds (docs/policy.md)' },
        manifests: { decision: 'undecided', code: 'TUF_SOURCE_UNREACHABLE', reason: 'deliberate (DESIGN §3 Freeze): without trustMaxAgeSeconds the CLI fails closed when the trust server cannot be reached (DESIGN §3 Freeze); the services keep their last good trust data until it expires and ignore trustMaxAgeSeconds (docs/policy.md)' },
      },
    },
    { name: 'registry down', image: () => `${regDownHost}/app/x:v1`, proxy: 'regdown', expect: { decision: 'undecided', code: 'REGISTRY_UNREACHABLE' } },
    { name: 'registry answers garbage', image: () => `${hostile.host}/app/x:v1`, proxy: 'garbage', expect: { decision: 'undecided', code: 'REGISTRY_BAD_RESPONSE' } },
    { name: 'skip rule, registry down', image: () => `${regDownHost}/skip/x:v1`, proxy: 'regdown', expect: { decision: 'skip' },
      known: {
        proxy: {
          decision: 'undecided',
          code: 'REGISTRY_UNREACHABLE',
          reason: 'deliberate (the face): the proxy must fetch a manifest to serve it, so a skip rule cannot help when the registry is down (502)',
        },
      } },
  ];

  before(async () => {
    w = await startFacesWorld();
    R = w.host;
    const S = w.url;
    const main = `${R}/main`;
    const rootMain = await w.createCollection(main);
    const [release] = await w.delegate(main, 'release');
    const [qa] = await w.delegate(main, 'qa');
    const pair = await w.delegate(main, 'pair', 2, 2);
    const gone = `${R}/gone`;
    const rootGone = await w.createCollection(gone);
    const [old] = await w.delegate(gone, 'old');

    const sign = (path: string, signers: SeedSigner[], role = 'release', o = {}) => w.sign(`${R}/${path}`, signers, role, o);
    const push = async (path: string, tag = 'v1') => {
      const d = await w.pushImage(path, tag);
      digests.set(path, d);
      return d;
    };
    await push('denied/app', 'latest');
    for (const p of ['main/signed', 'main/revoked', 'rel/signed', 'bind/same', 'bind/other', 'denied/app', 'warn/signed', 'cached/signed', 'cached0/signed', 'main/expired', 'main/future']) await push(p);
    await push('warndeny/app', 'latest');
    await push('trustgarbage/app');
    for (const p of ['main/unsigned', 'main/moved', 'warn/unsigned', 'skip/unsigned', 'other/app', 'cached/unsigned', 'nocoll/app', 'down/app', 'warndown/app']) await push(p);
    await push('main/qa');
    await sign('main/qa:v1', [qa!], 'qa');
    for (const p of ['main/signed', 'main/revoked', 'rel/signed', 'bind/same', 'bind/other', 'denied/app', 'warn/signed', 'cached/signed', 'cached0/signed', 'down/app', 'warndown/app', 'nocoll/app']) await sign(`${p}:v1`, [release!]);
    await sign('denied/app:latest', [release!]);
    {
      const restore = await w.saveSignatures('main/revoked', digests.get('main/revoked')!);
      await w.revoke(main, `${R}/main/revoked:v1`);
      await restore();
    }
    await sign('main/expired:v1', [release!], 'release', { clock: shiftedClock(-2 * 24 * 3600), expires: new Date(Date.now() - 24 * 3600 * 1000) });
    await sign('main/future:v1', [release!], 'release', { clock: shiftedClock(2 * 24 * 3600) });
    // Moved tag: v1 was signed, then repointed at a new manifest nobody signed.
    await sign('main/moved:v1', [release!]);
    await push('main/moved');
    await push('main/stranger');
    await sign('main/stranger:v1', [new SeedSigner(randomSecretSeed())]);
    // bind/other: the manifest signed as v1 is also tagged v2.
    {
      const man = await w.client.getManifest({ registry: R, path: 'bind/other' } as never, 'v1');
      await w.client.putManifest({ registry: R, path: 'bind/other' } as never, 'v2', man.bytes, man.mediaType);
    }
    await push('rel/wrongrole');
    await sign('rel/wrongrole:v1', [qa!], 'qa');
    for (const p of ['rel/revsig', 'main/revsig']) {
      await push(p);
      await sign(`${p}:v1`, [release!]);
      await sign(`${p}:v1`, [qa!], 'qa');
      const restore = await w.saveSignatures(p, digests.get(p)!);
      await w.revoke(main, `${R}/${p}:v1`, { role: 'release' });
      await restore();
    }
    // One signature revoked by its envelope (key + PAE), the other role's signature stays.
    {
      const d = await push('rel/revenv');
      await sign('rel/revenv:v1', [release!]);
      const [envelope] = await w.envelopes('rel/revenv', d);
      await sign('rel/revenv:v1', [qa!], 'qa');
      const restore = await w.saveSignatures('rel/revenv', d);
      await w.revoke(main, `${R}/rel/revenv:v1`, { envelope: envelope! });
      await restore();
    }
    await push('pair/short');
    await sign('pair/short:v1', [pair[0]!], 'pair');
    await push('pair/met');
    await sign('pair/met:v1', pair, 'pair');
    await push('strict/qa');
    await sign('strict/qa:v1', [qa!], 'qa');
    for (const m of ['index', 'all', 'platform']) {
      for (const kind of ['armless', 'amdless', 'bare']) {
        const path = `ma-${m}/${kind}`;
        const { children } = await w.pushIndex(path, 'v1');
        if (kind !== 'bare') await sign(`${path}:v1`, [release!]);
        if (kind !== 'amdless') await sign(`${path}@${children[0]}`, [release!]);
        if (kind !== 'armless') await sign(`${path}@${children[1]}`, [release!]);
      }
    }
    // Mirror: the original R/main/app:v1 is signed and copied with its signature to R/mirror/app.
    await push('main/app');
    await sign('main/app:v1', [release!]);
    await w.copy('main/app:v1', 'mirror/app:v1');
    await push('mirror/app', 'v2');
    await push('gone/app');
    await sign('gone/app:v1', [old!], 'old');
    await w.removeSigner(gone, 'old');

    // Expired trust data: targets published with a one-second lifetime (the server serves
    // them; they have expired by the time anyone asks, setup takes longer than that).
    const oldColl = await publishCollection(w.server.app, `${R}/old/app`, ['release']);
    await w.server.app.ocitrust.trust.publish(`${R}/old/app`, { targets: await oldColl.owner.nextTargets((t) => t, undefined, 1) }, { actor: 'test', tokenId: null, source: null });
    const rootOld = join(w.dir, 'old-app.root.json');
    writeFileSync(rootOld, JSON.stringify(oldColl.owner.root.toJSON()));
    await push('old/app');
    await push('oldwarn/app');
    await sign('old/app:v1', [oldColl.signers.get('release')!]);
    hostile = await startHostileRegistry((req, res) => {
      if ((req.url ?? '').includes('/manifests/')) {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        res.end('{"schemaVersion": 2, "garbage": [[[');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    regDownHost = `127.0.0.1:${await closedPort()}`;
    const trustDown = `http://127.0.0.1:${await closedPort()}`;

    const rule = (name: string, images: string[], extra: string[] = []) => [`  - name: ${name}`, `    images: [${images.map((i) => JSON.stringify(i)).join(', ')}]`, ...extra.map((l) => `    ${l}`)];
    const onMain = (name: string, path: string, extra: string[] = []) => rule(name, [`${R}/${path}/*`], [`collection: ${main}`, `root: ${rootMain}`, ...extra]);
    const lines = (unmatched: 'deny' | 'allow') => [
      'version: 1',
      `unmatched: ${unmatched}`,
      'defaults:',
      `  server: ${S}`,
      'rules:',
      ...onMain('main', 'main'),
      ...onMain('rel', 'rel', ['requiredRoles: {allOf: [release]}']),
      ...onMain('strict', 'strict', ['requiredRoles: {allOf: [qa]}']),
      ...onMain('pair', 'pair', ['requiredRoles: {allOf: [pair]}']),
      ...onMain('bind', 'bind', ['bindTag: true']),
      ...onMain('ma-index', 'ma-index', ['multiArch: index']),
      ...onMain('ma-all', 'ma-all', ['multiArch: all-children']),
      ...onMain('ma-platform', 'ma-platform', ['multiArch: platform']),
      ...onMain('mirror', 'mirror', [`identityRemap: {from: "${R}/mirror/app", to: "${R}/main/app"}`]),
      ...onMain('denied', 'denied', ['denyTags: [latest]']),
      ...onMain('warn', 'warn', ['mode: warn']),
      ...onMain('skip', 'skip', ['mode: skip']),
      ...onMain('warndeny', 'warndeny', ['mode: warn', 'denyTags: [latest]']),
      ...onMain('trustgarbage', 'trustgarbage', [`server: ${hostile.url}`]),
      ...onMain('cached', 'cached', [`server: ${w.front.url}`, 'trustMaxAgeSeconds: 3600']),
      ...onMain('cached0', 'cached0', [`server: ${w.front.url}`]),
      ...onMain('down', 'down', [`server: ${trustDown}`]),
      ...onMain('warndown', 'warndown', [`server: ${trustDown}`, 'mode: warn']),
      ...rule('gone', [`${R}/gone/*`], [`collection: ${gone}`, `root: ${rootGone}`]),
      ...rule('old', [`${R}/old/*`], [`root: ${rootOld}`]),
      ...rule('oldwarn', [`${R}/oldwarn/*`], [`collection: ${R}/old/app`, `root: ${rootOld}`, 'mode: warn']),
      ...rule('nocoll', [`${R}/nocoll/*`]),
      ...rule('regdown-skip', [`${regDownHost}/skip/*`], ['mode: skip']),
      ...rule('regdown', [`${regDownHost}/*/*`], [`collection: ${main}`, `root: ${rootMain}`]),
      ...rule('garbage', [`${hostile.host}/*/*`], [`collection: ${main}`, `root: ${rootMain}`]),
      '',
    ];
    policyFile = join(w.dir, 'policy.yaml');
    writeFileSync(policyFile, lines('deny').join('\n'));
    altPolicyFile = join(w.dir, 'policy-allow.yaml');
    writeFileSync(altPolicyFile, lines('allow').join('\n'));
    policy = await loadPolicyFile(policyFile);
    altPolicy = await loadPolicyFile(altPolicyFile);
    current = policy;
    w.setAdmissionPolicy(policy);
    const proxyOf = (upstream: string) => startProxyServer({ upstream, policy: () => current });
    proxies = { main: await proxyOf(w.registry.url), regdown: await proxyOf(`http://${regDownHost}`), garbage: await proxyOf(hostile.url) };
    cli = { verify: new CliSession(), manifests: new CliSession() };
    libHome = new OcitrustHome(join(w.dir, 'library-home'));

    const registry = plainClient();
    const CLI_CONCURRENCY = 4;
    async function runPhase(phase: 'main' | 'blocked' | 'alt'): Promise<void> {
      const file = phase === 'alt' ? altPolicyFile : policyFile;
      const list = scenarios.filter((s) => (s.phase ?? 'main') === phase);
      // Services first, one scenario at a time (they share trust pools and caches, as in production).
      const services = new Map<string, Pick<Record<Face, Outcome>, 'library' | 'admission' | 'proxy'>>();
      for (const s of list) {
        const image = s.image();
        const [library, admission, proxy] = await Promise.all([
          libraryFace({ policy: current, image, home: libHome, registry }),
          admissionFace((review) => w.validate(review), image),
          proxyFace(proxies[s.proxy ?? 'main'].url, image),
        ]);
        services.set(s.name, { library, admission, proxy });
      }
      // The CLI faces: child processes, a few at a time.
      const cliOut = new Map<string, { verify: Outcome; manifests: Outcome }>();
      let next = 0;
      await Promise.all(
        Array.from({ length: CLI_CONCURRENCY }, async () => {
          while (next < list.length) {
            const s = list[next++]!;
            const image = s.image();
            const verify = await verifyFace(cli.verify, file, image);
            const manifests = await manifestsFace(cli.manifests, file, image, w.dir, `${phase}-${list.indexOf(s)}`);
            cliOut.set(s.name, { verify, manifests });
          }
        }),
      );
      for (const s of list) results.set(`${phase}:${s.name}`, { ...services.get(s.name)!, ...cliOut.get(s.name)! } as Record<Face, Outcome>);
    }
    await runPhase('main');
    w.front.blocked = true;
    await runPhase('blocked');
    current = altPolicy;
    w.setAdmissionPolicy(altPolicy);
    await runPhase('alt');
  });

  after(async () => {
    cli?.verify.cleanup();
    cli?.manifests.cleanup();
    for (const p of Object.values(proxies ?? {})) await p.close().catch(() => undefined);
    await hostile?.stop().catch(() => undefined);
    await w?.close();
  });

  it('has at least 40 scenarios, each run through the five faces', () => {
    assert.ok(scenarios.length >= 40, `${scenarios.length} scenarios`);
    assert.equal(results.size, scenarios.length);
  });

  const disagreements: string[] = [];
  for (const s of scenarios) {
    it(s.name, () => {
      const r: Record<Face, Outcome> | undefined = results.get(`${s.phase ?? 'main'}:${s.name}`);
      assert.ok(r, 'the scenario ran');
      if (DISCOVER) {
        console.log(`\n## ${s.name}`);
        for (const f of FACES) console.log(`  ${f.padEnd(9)} ${r[f].decision.padEnd(9)} ${r[f].codes.join(',')}   ${r[f].raw.slice(0, 300)}`);
      }
      for (const face of FACES) {
        const got: Outcome = r[face];
        const known = s.known?.[face];
        const want = known ? { decision: known.decision, code: known.code } : { decision: collapse(face, s.expect.decision), code: s.expect.code };
        const where = `${face}: ${got.raw}`;
        assert.equal(got.decision, want.decision, where);
        if (want.code !== undefined && reportsCodes(face, want.decision)) assert.equal(got.codes[0], want.code, where);
        if (known) disagreements.push(`${s.name} × ${face}: says ${known.decision}${known.code ? ` ${known.code}` : ''}, table says ${s.expect.decision}${s.expect.code ? ` ${s.expect.code}` : ''} — ${known.reason}`);
      }
      // The faces that report codes for this decision name the same main code.
      const mains = FACES.filter((f) => !s.known?.[f] && reportsCodes(f, r[f].decision)).map((f) => `${f}=${r[f].codes[0] ?? '-'}`);
      assert.equal(new Set(mains.map((m) => m.split('=')[1])).size <= 1, true, `main codes differ: ${mains.join(' ')}`);
      // The faces that list every failure (the library and both commands) list the same ones.
      const lists = (['library', 'verify', 'manifests'] as const).filter((f) => !s.known?.[f]).map((f) => `${f}=${r[f].codes.join(',')}`);
      assert.equal(new Set(lists.map((l) => l.split('=')[1])).size <= 1, true, `failure lists differ: ${lists.join(' ')}`);
    });
  }

  it('prints the deliberate differences of the faces (docs/gate.md)', () => {
    if (disagreements.length) console.log(`faces-agree: ${disagreements.length} deliberate differences\n  ${disagreements.join('\n  ')}`);
    // Every known entry of the table was met (each scenario test records the ones it checked).
    assert.equal(disagreements.length, scenarios.reduce((n, s) => n + Object.keys(s.known ?? {}).length, 0));
  });
});
