import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy, resolvePolicy, effectiveTag, deniedTagGlob, remapRepository, type Resolution } from '../../../lib/policy/index.js';
import { normalizePolicy } from '../../../lib/verify/policy.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

const policy = parsePolicy(`
version: 1
defaults:
  server: https://trust.example.com
  denyTags: [latest]
  clockSkewSeconds: 120
rules:
  - name: exact-app
    images: [registry.example.com/team/app]
    requiredRoles: {allOf: [release, qa]}
  - name: team-glob
    images: ["registry.example.com/team/*"]
    bindTag: true
  - name: team-deep
    images: ["registry.example.com/team/**"]
    mode: warn
  - name: registry
    images: ["registry.example.com/**"]
    multiArch: all-children
  - name: prod-registry
    images: ["registry.example.com/**"]
    namespaces: {names: ["prod", "prod-*"]}
    denyTags: ["latest", "*-rc*"]
  - name: labelled
    images: ["registry.example.com/**"]
    namespaces: {labels: {tier: critical}}
    requiredRoles: {anyOf: [security]}
  - name: mirror
    images: ["mirror.example.com/hub/**"]
    identityRemap: {from: mirror.example.com/hub, to: docker.io}
  - name: pinned-collection
    images: ["registry.example.com/shared/*"]
    collection: registry.example.com/shared
  - name: tie-a
    images: ["registry.example.com/x/*/*c"]
  - name: tie-b
    images: ["registry.example.com/x/*c/*"]
  - name: catch-all
    images: ["**"]
    mode: warn
    namespaces: {names: [sandbox]}
unmatched: deny
`);

function rule(r: Resolution): string {
  return r.kind === 'rule' ? r.rule.name : `unmatched:${r.decision}`;
}

describe('resolvePolicy', () => {
  describe('which rule wins', () => {
    const table: [string, Record<string, unknown>, string][] = [
      ['registry.example.com/team/app', {}, 'exact-app'],
      ['registry.example.com/team/api', {}, 'team-glob'],
      ['registry.example.com/team/a/b', {}, 'team-deep'],
      ['registry.example.com/other/x', {}, 'registry'],
      ['registry.example.com/other/x', { namespace: 'prod' }, 'prod-registry'],
      ['registry.example.com/other/x', { namespace: 'prod-eu' }, 'prod-registry'],
      ['registry.example.com/other/x', { namespace: 'production' }, 'registry'],
      ['registry.example.com/team/api', { namespace: 'prod' }, 'team-glob'],
      // same pattern, both namespace rules match: the earlier one wins
      ['registry.example.com/other/x', { namespace: 'prod', labels: { tier: 'critical' } }, 'prod-registry'],
      ['registry.example.com/other/x', { namespace: 'dev', labels: { tier: 'critical' } }, 'labelled'],
      ['registry.example.com/other/x', { labels: { tier: 'critical' } }, 'registry'],
      ['mirror.example.com/hub/library/nginx', {}, 'mirror'],
      ['registry.example.com/x/ac/bc', {}, 'tie-a'],
      ['ghcr.io/a/b', {}, 'unmatched:deny'],
      ['ghcr.io/a/b', { namespace: 'sandbox' }, 'catch-all'],
      ['REGISTRY.EXAMPLE.COM/team/api', {}, 'team-glob'],
    ];
    for (const [repo, ctx, want] of table) {
      it(`${repo} ${JSON.stringify(ctx)} → ${want}`, () => assert.equal(rule(resolvePolicy(policy, repo, ctx)), want));
    }

    it('the catch-all loses to every other pattern', () => {
      assert.equal(rule(resolvePolicy(policy, 'registry.example.com/zzz', { namespace: 'sandbox' })), 'registry');
    });

    it('unmatched: allow', () => {
      const open = parsePolicy('version: 1\nrules: []\nunmatched: allow\n');
      assert.deepEqual(resolvePolicy(open, 'docker.io/library/nginx'), { kind: 'unmatched', decision: 'allow' });
    });

    it('rejects a non-string repository', () => {
      assert.throws(() => resolvePolicy(policy, undefined as unknown as string), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    });
  });

  describe('options', () => {
    it('applies defaults under the rule and defaults the collection to the repository', () => {
      const r = resolvePolicy(policy, 'registry.example.com/team/app');
      assert.equal(r.kind, 'rule');
      if (r.kind !== 'rule') return;
      assert.equal(r.mode, 'enforce');
      assert.deepEqual(r.denyTags, ['latest']);
      assert.equal(r.pattern, 'registry.example.com/team/app');
      assert.deepEqual(r.options, {
        rule: 'exact-app',
        policyRevision: policy.revision,
        collection: 'registry.example.com/team/app',
        server: 'https://trust.example.com',
        verify: { bindTag: false, multiArch: 'index', requiredRoles: { allOf: ['release', 'qa'] }, clockSkewSeconds: 120 },
      });
    });

    it('rule settings override defaults', () => {
      const r = resolvePolicy(policy, 'registry.example.com/other/x', { namespace: 'prod' });
      assert.ok(r.kind === 'rule');
      assert.deepEqual(r.denyTags, ['latest', '*-rc*']);
      const g = resolvePolicy(policy, 'registry.example.com/team/api');
      assert.ok(g.kind === 'rule');
      assert.equal(g.options.verify.bindTag, true);
      const a = resolvePolicy(policy, 'registry.example.com/other/x');
      assert.ok(a.kind === 'rule');
      assert.equal(a.options.verify.multiArch, 'all-children');
    });

    it('an identity remap also names the default collection', () => {
      const r = resolvePolicy(policy, 'mirror.example.com/hub/library/nginx');
      assert.ok(r.kind === 'rule');
      assert.equal(r.options.collection, 'docker.io/library/nginx');
      assert.deepEqual(r.options.verify.identityRemap, { from: 'mirror.example.com/hub', to: 'docker.io' });
    });

    it('an explicit collection is kept', () => {
      const r = resolvePolicy(policy, 'registry.example.com/shared/base');
      assert.ok(r.kind === 'rule');
      assert.equal(r.options.collection, 'registry.example.com/shared');
    });

    it('the verify options are accepted by lib/verify normalizePolicy for every rule', () => {
      for (const repo of ['registry.example.com/team/app', 'registry.example.com/team/api', 'mirror.example.com/hub/a/b', 'registry.example.com/other/x']) {
        const r = resolvePolicy(policy, repo, { namespace: 'dev', labels: { tier: 'critical' } });
        assert.ok(r.kind === 'rule');
        const n = normalizePolicy(r.options.verify);
        assert.equal(n.bindTag, r.options.verify.bindTag);
      }
    });
  });

  describe('tags', () => {
    it('an image without tag or digest means latest; a digest-only image has no tag', () => {
      assert.equal(effectiveTag({}), 'latest');
      assert.equal(effectiveTag({ tag: 'v1' }), 'v1');
      assert.equal(effectiveTag({ digest: 'sha256:' + 'a'.repeat(64) }), undefined);
    });

    it('denyTags globs', () => {
      assert.equal(deniedTagGlob(['latest', '*-rc*'], 'latest'), 'latest');
      assert.equal(deniedTagGlob(['latest', '*-rc*'], '1.0-rc2'), '*-rc*');
      assert.equal(deniedTagGlob(['latest', '*-rc*'], '1.0'), undefined);
      assert.equal(deniedTagGlob(['latest'], undefined), undefined);
      assert.equal(deniedTagGlob(['v1.*'], 'v1x2'), undefined, 'dots are literal');
    });
  });

  it('remapRepository matches at segment boundaries only', () => {
    const m = { from: 'mirror.local/team', to: 'registry.example.com/team' };
    assert.equal(remapRepository('mirror.local/team/app', m), 'registry.example.com/team/app');
    assert.equal(remapRepository('mirror.local/team', m), 'registry.example.com/team');
    assert.equal(remapRepository('mirror.local/teamx/app', m), 'mirror.local/teamx/app');
    assert.equal(remapRepository('mirror.local/b/app', [m, { from: 'mirror.local/b', to: 'x.io/b' }]), 'x.io/b/app');
  });
});
