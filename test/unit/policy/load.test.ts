import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../../lib/policy/index.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

const root = (version: number) => JSON.stringify({ signed: { _type: 'root', version, spec_version: '1.0.31' }, signatures: [] });

describe('loadPolicyFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-policy-'));
    mkdirSync(join(dir, 'roots'));
    writeFileSync(join(dir, 'roots', 'team.json'), root(1));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const policyText = `version: 1
rules:
  - name: team
    images: ["registry.example.com/team/**"]
    root: roots/team.json
`;

  it('reads root files relative to the policy file and attaches their content', async () => {
    writeFileSync(join(dir, 'policy.yaml'), policyText);
    const p = await loadPolicyFile(join(dir, 'policy.yaml'));
    const r = p.rules[0]?.root;
    assert.equal(r?.kind, 'path');
    if (r?.kind !== 'path') return;
    assert.equal(r.path, join(dir, 'roots', 'team.json'));
    assert.deepEqual(r.metadata, JSON.parse(root(1)));
  });

  it('changes the revision when a root file changes, not otherwise', async () => {
    writeFileSync(join(dir, 'policy.yaml'), policyText);
    const a = await loadPolicyFile(join(dir, 'policy.yaml'));
    const b = await loadPolicyFile(join(dir, 'policy.yaml'));
    assert.equal(a.revision, b.revision);
    writeFileSync(join(dir, 'roots', 'team.json'), root(2));
    const c = await loadPolicyFile(join(dir, 'policy.yaml'));
    assert.notEqual(c.revision, a.revision);
    writeFileSync(join(dir, 'roots', 'team.json'), root(1));
  });

  it('picks the format from the extension (.json uses the strict JSON parser)', async () => {
    writeFileSync(join(dir, 'p.json'), '{"version": 1, "rules": [], "rules": []}');
    await assert.rejects(loadPolicyFile(join(dir, 'p.json')), (e) => isOcitrustError(e, 'POLICY_FILE_SYNTAX') && /duplicate/i.test(e.message));
  });

  it('reports a missing policy file or root file', async () => {
    await assert.rejects(loadPolicyFile(join(dir, 'nope.yaml')), (e) => isOcitrustError(e, 'POLICY_FILE_UNREADABLE') && /ENOENT/.test(e.message));
    await assert.rejects(loadPolicyFile(dir), (e) => isOcitrustError(e, 'POLICY_FILE_UNREADABLE') && /not a regular file/.test(e.message));
    writeFileSync(join(dir, 'missing-root.yaml'), policyText.replace('roots/team.json', 'roots/other.json'));
    await assert.rejects(
      loadPolicyFile(join(dir, 'missing-root.yaml')),
      (e) => isOcitrustError(e, 'POLICY_FILE_INVALID') && /\/rules\/0\/root: cannot read root file .*other\.json: ENOENT/.test(e.message),
    );
  });

  it('refuses a root file that is not TUF root metadata', async () => {
    writeFileSync(join(dir, 'roots', 'bad.json'), JSON.stringify({ signed: { _type: 'targets' }, signatures: [] }));
    writeFileSync(join(dir, 'bad-root.yaml'), policyText.replace('roots/team.json', 'roots/bad.json'));
    await assert.rejects(loadPolicyFile(join(dir, 'bad-root.yaml')), (e) => isOcitrustError(e, 'POLICY_FILE_INVALID') && /not TUF root metadata/.test(e.message));
  });

  it('refuses a policy that is not UTF-8', async () => {
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from([0x76, 0x3a, 0x20, 0xe9, 0x0a]));
    await assert.rejects(loadPolicyFile(join(dir, 'latin1.yaml')), (e) => isOcitrustError(e, 'POLICY_FILE_SYNTAX'));
  });
});
