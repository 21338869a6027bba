/**
 * What a plain `trust verify` loads (issue 20): a warm verify of an ocitrust-signed image, and
 * one under a policy whose rule names no other scheme, must not load the other schemes'
 * verifiers (lib/notary, lib/cosign, lib/notation beyond their small scheme.ts and config),
 * their libraries (@sigstore/*, @peculiar/*, asn1js, cbor2), the key file cipher, the
 * `--offline` guard, the oci-layout reader, node:https for plain-HTTP servers or Node's web
 * streams. Structural, not timed: the sources run under tsx with a module-load recorder
 * (test/helpers/load-recorder.mjs), so every module the process imports is listed, dynamic
 * imports and built-ins included. A real trust server with its embedded registry; skopeo
 * pushes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectProcess } from '../helpers/process.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliSession, PROJECT_ROOT, startTrustServer, type TestTrustServer } from '../helpers/cli.js';
import { makeImage, missingPrograms, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';

const skip = missingPrograms('skopeo');
const RECORDER = fileURLToPath(new URL('../helpers/load-recorder.mjs', import.meta.url));

/** Modules a verify that names no other scheme must not load, each with why. */
const OFF_PATH: readonly [RegExp, string][] = [
  [/\/node_modules\/@sigstore\//, '@sigstore/* (cosign)'],
  [/\/node_modules\/@peculiar\//, '@peculiar/* (notation, X.509)'],
  [/\/node_modules\/asn1js\//, 'asn1js (notation)'],
  [/\/node_modules\/cbor2\//, 'cbor2 (notation COSE)'],
  [/\/node_modules\/@noble\/ciphers\//, '@noble/ciphers (key file encryption)'],
  [/\/lib\/notary\/(?!scheme\.ts$)[^/]+$/, 'lib/notary beyond scheme.ts'],
  [/\/lib\/cosign\/(?!(scheme|config)\.ts$)[^/]+$/, 'lib/cosign beyond scheme.ts and config.ts'],
  [/\/lib\/notation\/(?!(scheme|store-types)\.ts$)[^/]+$/, 'lib/notation beyond scheme.ts and store-types.ts'],
  [/^builtin:(https|tls|_tls_wrap)$/, 'node:https and TLS (the trust server and the registry here are plain HTTP)'],
  [/^builtin:internal\/webstreams\/readablestream$/, "Node's web streams (a ReadableStream per response body)"],
  [/\/cli\/offline-guard\.ts$|\/cli\/offline-allowlist\.ts$/, 'the --offline guard (it patches net, dns and dgram)'],
  [/\/cli\/layout-context\.ts$|\/lib\/oci\/layout(-client|-tar|-ref)?\.ts$|\/lib\/usecases\/bundle-trust\.ts$/, 'the oci-layout reader'],
];

describe('the modules a plain trust verify loads', { skip, timeout: 300_000 }, () => {
  let ts: TestTrustServer;
  let s: CliSession;
  let work: string;
  let ref: string;

  before(async () => {
    ts = await startTrustServer({ registry: true });
    const token = await ts.token();
    s = new CliSession({ server: ts.url, token });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-load-path-'));
    const repo = `${new URL(ts.url).host}/team/app`;
    ref = `${repo}:v1`;
    await writeOciLayout(join(work, 'layout'), [{ tag: 'v1', content: makeImage() }]);
    await skopeoPush(join(work, 'layout'), 'v1', ref, `ocitrust:${token}`);
    for (const args of [['key', 'generate', 'alice', '--dir', work], ['init', repo], ['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo], ['sign', ref], ['verify', ref]]) {
      const r = await s.run(args, { dist: true });
      assert.equal(r.code, 0, `trust ${args.join(' ')}: ${r.stderr}`);
    }
  });
  after(async () => {
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs `trust args…` from the sources with the recorder; the exit, output and loaded module URLs. */
  async function recorded(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string; loaded: string[] }> {
    const record = join(work, `loaded-${Date.now()}.txt`);
    await writeFile(record, '');
    const env: Record<string, string> = { TEST_LOAD_RECORD_FILE: record };
    for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    for (const [k, v] of Object.entries(s.env)) if (v !== undefined) env[k] = v;
    const r = await collectProcess(process.execPath, ['--import', 'tsx', '--import', RECORDER, join(PROJECT_ROOT, 'cli', 'main.ts'), ...args], { cwd: PROJECT_ROOT, env });
    const loaded = (await readFile(record, 'utf8')).split('\n').filter(Boolean);
    return { ...r, loaded };
  }

  function assertOffPath(loaded: readonly string[], what: string): void {
    // The recorder saw the verify itself: otherwise an empty list would pass.
    for (const must of ['/cli/commands/verify.ts', '/lib/verify/verifier.ts', '/lib/gate/gate.ts', '/lib/schemes/index.ts', '/lib/http/fetch.ts']) {
      assert.ok(loaded.some((u) => u.endsWith(must)), `${what}: expected ${must} among the ${loaded.length} loaded modules`);
    }
    const found = OFF_PATH.flatMap(([re, why]) => loaded.filter((u) => re.test(u)).map((u) => `${why}: ${u.replace(/^file:\/\//, '')}`));
    assert.deepEqual(found, [], `${what} loaded modules it does not need`);
  }

  it('a warm verify of an ocitrust-signed image', async () => {
    const r = await recorded(['verify', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /verified/);
    assertOffPath(r.loaded, 'trust verify');
  });

  it('a verify under a policy whose rule names no other scheme (the policy and its validation load none)', async () => {
    const policy = join(work, 'policy.yaml');
    await writeFile(policy, `version: 1\nrules:\n  - name: team\n    images: ["${new URL(ts.url).host}/team/**"]\nunmatched: deny\n`);
    const r = await recorded(['verify', '--policy', policy, ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.loaded.some((u) => u.endsWith('/lib/policy/validate.ts')), 'the policy was validated');
    assertOffPath(r.loaded, 'trust verify --policy');
  });
});
