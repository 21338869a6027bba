// Attack (issue 12 item 7): reserved role names in another case. `root`, `targets`,
// `snapshot` and `timestamp` are refused as delegation names, and `releases` is the role
// `trust signer add` maintains — but `Targets`, `ROOT` or `Releases` were accepted. Role names
// become file names (`<role>.json` in TUF clients) on case-insensitive file systems and are
// what policies and revocations name, so a name that differs from a reserved or existing one
// only in case must be refused wherever the name itself would be: `trust signer add` (the real
// binary), the trust server's publish API (a real HTTP server) and metadata parsing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes } from '../../lib/crypto/canonical.js';
import { toHex } from '../../lib/crypto/hash.js';
import type { SeedSigner } from '../../lib/keys/signer.js';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { Owner, call, strangers, type ServerKeysDoc } from '../helpers/trust-server.js';

/** Names that differ from a reserved one only in case. */
const RESERVED_VARIANTS = ['Targets', 'ROOT', 'Snapshot', 'timeStamp', 'Releases', 'RELEASES'];

function signRaw(signed: Record<string, unknown>, signers: readonly SeedSigner[]): object {
  const bytes = canonicalBytes(signed);
  return { signed, signatures: signers.map((s) => ({ keyid: s.keyid, sig: toHex(s.signSync(bytes)) })) };
}

describe('attack: reserved role names in another case (issue 12 item 7)', { timeout: 300_000 }, () => {
  let ts: TestTrustServer;
  let token: string;
  let s: CliSession;
  let work: string;
  let n = 0;
  const run = (args: string[]): Promise<TrustRun> => s.run(args, { dist: true });

  before(async () => {
    ts = await startTrustServer();
    token = await ts.token();
    s = new CliSession({ server: ts.url, token });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-attack-roles-'));
    const k = await run(['key', 'generate', 'alice', '--dir', work]);
    assert.equal(k.code, 0, k.stderr);
  });
  after(async () => {
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A collection with root v1 and targets v1 published through the HTTP API. */
  async function published(): Promise<{ name: string; owner: Owner }> {
    const name = `reg.example.com/roles/c${++n}`;
    const created = await call(`${ts.url}/v1/collections`, { token, body: { name } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const owner = new Owner(name, created.json as ServerKeysDoc);
    const first = await call(`${ts.url}/v1/collections/${name}/metadata`, { token, body: await owner.initial() });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    return { name, owner };
  }

  /** Targets v2 delegating roles with exactly these names (hand-made: the builders refuse them), signed by the owner. */
  async function targetsWithRoles(owner: Owner, names: readonly string[]): Promise<object> {
    const [key] = strangers(1);
    const md = await owner.candidateTargets((t) => t.withDelegation({ name: 'placeholder', keys: [key!.publicKey], paths: [`${owner.collection}:*`] }));
    const signed = md.toJSON().signed as { delegations: { roles: Record<string, unknown>[] } } & Record<string, unknown>;
    const template = signed.delegations.roles[0]!;
    signed.delegations.roles = names.map((name) => ({ ...template, name }));
    return { targets: signRaw(signed, owner.targetsKeys) };
  }

  test('the publish API refuses a delegation named like a reserved role in another case (400 METADATA_ROLE_NAME_INVALID)', async () => {
    for (const bad of RESERVED_VARIANTS) {
      const { name, owner } = await published();
      const r = await call(`${ts.url}/v1/collections/${name}/metadata`, { token, body: await targetsWithRoles(owner, [bad]) });
      assert.equal(r.status, 400, `${bad}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.code, 'METADATA_ROLE_NAME_INVALID', `${bad}: ${JSON.stringify(r.json)}`);
    }
  });

  test('the publish API refuses two delegations whose names differ only in case', async () => {
    const { name, owner } = await published();
    const r = await call(`${ts.url}/v1/collections/${name}/metadata`, { token, body: await targetsWithRoles(owner, ['alice', 'Alice']) });
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.code, 'METADATA_ROLE_NAME_INVALID');
  });

  test('trust signer add refuses reserved names in any case, and a second name that differs only in case (exit 2)', async () => {
    const repo = 'reg.example.com/roles/cli';
    const init = await run(['init', repo]);
    assert.equal(init.code, 0, init.stderr);
    const pub = join(work, 'alice.pub');
    for (const bad of RESERVED_VARIANTS) {
      const r = await run(['signer', 'add', '--key', pub, bad, repo]);
      assert.equal(r.code, 2, `${bad}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /\[METADATA_ROLE_NAME_INVALID\]/, bad);
    }
    const ok = await run(['signer', 'add', '--key', pub, 'alice', repo]);
    assert.equal(ok.code, 0, ok.stderr);
    const twin = await run(['signer', 'add', '--key', pub, 'ALICE', repo]);
    assert.equal(twin.code, 2, `${twin.stdout}\n${twin.stderr}`);
    assert.match(twin.stderr, /\[METADATA_ROLE_NAME_INVALID\]/);
    const list = JSON.parse((await run(['signer', 'list', '-o', 'json', repo])).stdout) as { signers: { name: string }[] };
    assert.deepEqual(list.signers.map((x) => x.name), ['alice', 'releases']);
  });
});
