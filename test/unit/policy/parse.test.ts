import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy, policyFromValue, type PolicyProblem } from '../../../lib/policy/index.js';
import { isOcitrustError, type OcitrustError } from '../../../lib/errors/index.js';

const GOOD_YAML = `# production policy
version: 1
description: images we run
defaults:
  server: https://trust.example.com/
  denyTags: [latest, "*-dev"]
  multiArch: all-children
rules:
  - name: team            # the team's own images
    images:
      - registry.example.com/team/*
      - registry.example.com/team/tools/**
    requiredRoles:
      allOf: [release]
      anyOf: [alice, bob]
    bindTag: true
  - name: mirror
    images: ["mirror.example.com/dockerhub/**"]
    identityRemap: {from: mirror.example.com/dockerhub, to: docker.io}
    root: ./roots/dockerhub.json
    mode: warn
    clockSkewSeconds: 60
    maxSignatures: 50
  - name: system
    images: ["**"]
    namespaces:
      names: [kube-system, "kube-*"]
      labels: {ocitrust.dev/enforce: "off"}
    mode: skip
unmatched: deny
`;

/** The problems a policy text produces (it must be invalid). */
function problems(text: string): PolicyProblem[] {
  try {
    parsePolicy(text);
  } catch (e) {
    assert.ok(isOcitrustError(e, 'POLICY_FILE_INVALID'), `expected POLICY_FILE_INVALID, got ${String(e)}`);
    return (e as OcitrustError).details?.['problems'] as PolicyProblem[];
  }
  return assert.fail('policy unexpectedly valid');
}

function oneProblem(text: string, pointer: string, message: RegExp): PolicyProblem {
  const ps = problems(text);
  const p = ps.find((x) => x.pointer === pointer);
  assert.ok(p, `no problem at ${pointer}; got ${JSON.stringify(ps)}`);
  assert.match(p.message, message);
  return p;
}

const wrap = (rule: string, extra = '') => `version: 1\n${extra}rules:\n  - name: r\n    images: [registry.example.com/a/*]\n${rule}`;

describe('policy file', () => {
  describe('#parsePolicy on a valid file', () => {
    it('reads YAML with comments into the typed model', () => {
      const p = parsePolicy(GOOD_YAML);
      assert.equal(p.version, 1);
      assert.equal(p.unmatched, 'deny');
      assert.equal(p.rules.length, 3);
      assert.deepEqual(p.defaults.denyTags, ['latest', '*-dev']);
      assert.equal(p.defaults.server, 'https://trust.example.com', 'trailing slash dropped');
      const [team, mirror, system] = p.rules;
      assert.deepEqual(team?.images.map((i) => i.text), ['registry.example.com/team/*', 'registry.example.com/team/tools/**']);
      assert.deepEqual(team?.requiredRoles, { allOf: ['release'], anyOf: ['alice', 'bob'] });
      assert.equal(team?.bindTag, true);
      assert.deepEqual(mirror?.identityRemap, { from: 'mirror.example.com/dockerhub', to: 'docker.io' });
      assert.deepEqual(mirror?.root, { kind: 'path', path: './roots/dockerhub.json' });
      assert.equal(mirror?.mode, 'warn');
      assert.equal(system?.mode, 'skip');
      assert.deepEqual(system?.namespaces, { names: ['kube-system', 'kube-*'], labels: { 'ocitrust.dev/enforce': 'off' } });
      assert.equal(p.usesNamespaceLabels, true);
      assert.match(p.revision, /^sha256:[0-9a-f]{64}$/);
    });

    it('reads the same policy as JSON with the same revision (format and comments do not matter)', () => {
      const y = parsePolicy(GOOD_YAML);
      const j = parsePolicy(JSON.stringify(y.document, null, 2));
      assert.equal(j.revision, y.revision);
      const reformatted = parsePolicy(GOOD_YAML.replace(/#.*$/gm, '').replace('description: images we run', 'description: other words'));
      assert.equal(reformatted.revision, y.revision);
    });

    it('changes the revision whenever the meaning changes', () => {
      const base = parsePolicy(GOOD_YAML).revision;
      for (const [from, to] of [
        ['mode: warn', 'mode: enforce'],
        ['unmatched: deny', 'unmatched: allow'],
        ['bindTag: true', 'bindTag: false'],
        ['anyOf: [alice, bob]', 'anyOf: [alice]'],
        ['registry.example.com/team/*', 'registry.example.com/team2/*'],
      ] as const) {
        assert.notEqual(parsePolicy(GOOD_YAML.replace(from, to)).revision, base, `${from} → ${to}`);
      }
    });

    it('normalizes exact Docker Hub names in patterns, so `nginx` and `docker.io/library/nginx` are one pattern', () => {
      const p = parsePolicy('version: 1\nrules:\n  - {name: a, images: [nginx]}\n');
      assert.equal(p.rules[0]?.images[0]?.text, 'docker.io/library/nginx');
      oneProblem('version: 1\nrules:\n  - {name: a, images: [nginx]}\n  - {name: b, images: [docker.io/library/nginx]}\n', '/rules/1/images/0', /ambiguous: \/rules\/0\/images\/0 declares the same pattern/);
    });

    it('accepts inline root metadata and a list of remaps', () => {
      const p = policyFromValue({
        version: 1,
        rules: [
          {
            name: 'a',
            images: ['registry.example.com/**'],
            root: { signed: { _type: 'root', version: 1 }, signatures: [] },
            identityRemap: [
              { from: 'mirror.example.com/a', to: 'registry.example.com/a' },
              { from: 'mirror.example.com/b', to: 'registry.example.com/b' },
            ],
          },
        ],
      });
      assert.equal(p.rules[0]?.root?.kind, 'inline');
      assert.equal(Array.isArray(p.rules[0]?.identityRemap), true);
    });

    it('allows the same pattern for different namespace selectors', () => {
      const p = parsePolicy(`version: 1
rules:
  - {name: prod, images: ["registry.example.com/**"], namespaces: {names: [prod]}}
  - {name: dev, images: ["registry.example.com/**"], namespaces: {names: [dev]}, mode: warn}
`);
      assert.equal(p.rules.length, 2);
      assert.equal(p.unmatched, 'deny', 'deny is the default');
    });
  });

  describe('skipKinds (admission kinds admitted untouched)', () => {
    it('reads Kind and group/Kind entries, and leaves the revision of policies without it unchanged', () => {
      const base = parsePolicy('version: 1\nrules: []\n');
      const p = parsePolicy('version: 1\nrules: []\nskipKinds: [ConfigMap, example.com/Widget]\n');
      assert.deepEqual(p.skipKinds, ['ConfigMap', 'example.com/Widget']);
      assert.equal(base.skipKinds, undefined);
      assert.equal(base.revision, parsePolicy('version: 1\nrules: []\nunmatched: deny\n').revision);
      assert.notEqual(p.revision, base.revision);
    });
    it('refuses entries that are not kinds, duplicates and an empty list', () => {
      for (const bad of ['[configmap]', '["apps/"]', '[ConfigMap, ConfigMap]', '[]', 'ConfigMap', '[42]']) {
        assert.throws(() => parsePolicy(`version: 1\nrules: []\nskipKinds: ${bad}\n`), (e) => isOcitrustError(e, 'POLICY_FILE_INVALID') && /\/skipKinds/.test(e.message), bad);
      }
    });
  });

  describe('#parsePolicy on mistakes', () => {
    it('reports every mistake at once, each with pointer, line and column, in reading order', () => {
      const text = `version: 2
rules:
  - name: x
    images: ["bitnami/*", "nginx:1"]
    mode: enforced
    denytags: [latest]
    requiredRoles: {allOf: []}
  - name: x
    images: ["**"]
    mode: skip
unmatched: maybe
`;
      const ps = problems(text);
      assert.deepEqual(
        ps.map((p) => [p.pointer, p.line]),
        [
          ['/version', 1],
          ['/rules/0/images/0', 4],
          ['/rules/0/images/1', 4],
          ['/rules/0/mode', 5],
          ['/rules/0/denytags', 6],
          ['/rules/0/requiredRoles/allOf', 7],
          ['/rules/1/name', 8],
          ['/rules/1/mode', 10],
          ['/unmatched', 11],
        ],
      );
      try {
        parsePolicy(text, { what: 'policy.yaml' });
      } catch (e) {
        const msg = (e as Error).message;
        assert.match(msg, /^policy\.yaml is invalid \(9 problems\):/);
        assert.match(msg, /\/rules\/0\/mode \(line 5, column 11\): expected one of enforce, warn, skip, got "enforced"/);
        assert.match(msg, /\/rules\/0\/denytags \(line 6, column \d+\): unknown key 'denytags' \(did you mean 'denyTags'\?\)/);
        assert.match(msg, /did you mean 'docker\.io\/bitnami\/\*'/);
        assert.match(msg, /duplicate rule name 'x' \(also \/rules\/0\)/);
        assert.match(msg, /mode 'skip' is not allowed on the catch-all pattern/);
      }
    });

    const cases: [string, string, string, RegExp][] = [
      ['missing version', 'rules: []\n', '/version', /version is required/],
      ['missing rules', 'version: 1\n', '/rules', /rules is required/],
      ['rules not a list', 'version: 1\nrules: {}\n', '/rules', /expected a list of rules, got an object/],
      ['unknown top-level key', 'version: 1\nrules: []\nrule: []\n', '/rule', /unknown key 'rule' \(did you mean 'rules'\?\)/],
      ['rule without name', 'version: 1\nrules:\n  - images: ["**"]\n', '/rules/0/name', /expected a rule name/],
      ['bad rule name', 'version: 1\nrules:\n  - {name: "has space", images: ["**"]}\n', '/rules/0/name', /1-63 characters/],
      ['empty images', 'version: 1\nrules:\n  - {name: a, images: []}\n', '/rules/0/images', /non-empty list of image patterns, got an empty list/],
      ['image not a string', 'version: 1\nrules:\n  - {name: a, images: [3]}\n', '/rules/0/images/0', /expected an image pattern string, got number 3/],
      ['bad mode type', wrap('    mode: 3\n'), '/rules/0/mode', /got number 3/],
      ['bindTag string', wrap('    bindTag: "yes"\n'), '/rules/0/bindTag', /expected true or false/],
      ['multiArch unknown', wrap('    multiArch: every\n'), '/rules/0/multiArch', /index, all-children, platform/],
      ['server not http', wrap('    server: ftp://x\n'), '/rules/0/server', /scheme 'ftp'/],
      ['server with credentials', wrap('    server: https://u:p@trust.example.com\n'), '/rules/0/server', /must not contain credentials/],
      ['server garbage', wrap('    server: "::"\n'), '/rules/0/server', /expected an http\(s\) URL/],
      ['requiredRoles empty', wrap('    requiredRoles: {}\n'), '/rules/0/requiredRoles', /needs allOf and\/or anyOf/],
      ['requiredRoles unknown key', wrap('    requiredRoles: {oneOf: [a]}\n'), '/rules/0/requiredRoles/oneOf', /unknown key 'oneOf'/],
      ['duplicate role', wrap('    requiredRoles: {allOf: [a, a]}\n'), '/rules/0/requiredRoles/allOf/1', /duplicate entry "a"/],
      ['remap to itself', wrap('    identityRemap: {from: a.io/x, to: a.io/x}\n'), '/rules/0/identityRemap', /to itself/],
      ['remap without host', wrap('    identityRemap: {from: library/nginx, to: docker.io/library}\n'), '/rules/0/identityRemap/from', /must be a registry host/],
      ['remap uppercase path', wrap('    identityRemap: {from: mirror.example.com/Hub, to: docker.io}\n'), '/rules/0/identityRemap/from', /lowercase path components/],
      ['remap wildcard', wrap('    identityRemap: {from: "a.io/*", to: b.io/x}\n'), '/rules/0/identityRemap/from', /cannot contain wildcards/],
      ['collection wildcard', wrap('    collection: "registry.example.com/*"\n'), '/rules/0/collection', /cannot contain wildcards/],
      ['denyTags bad tag', wrap('    denyTags: ["-x"]\n'), '/rules/0/denyTags/0', /tags \(globs with \*\)/],
      ['clock skew negative', wrap('    clockSkewSeconds: -1\n'), '/rules/0/clockSkewSeconds', /integer from 0 to 86400/],
      ['clock skew float', wrap('    clockSkewSeconds: 1.5\n'), '/rules/0/clockSkewSeconds', /got number 1\.5/],
      ['maxSignatures zero', wrap('    maxSignatures: 0\n'), '/rules/0/maxSignatures', /integer from 1/],
      ['root not metadata', wrap('    root: {signed: {}}\n'), '/rules/0/root', /TUF root metadata/],
      ['root number', wrap('    root: 7\n'), '/rules/0/root', /path to a root\.json file or inline root metadata/],
      ['namespaces empty', wrap('    namespaces: {}\n'), '/rules/0/namespaces', /needs names and\/or labels/],
      ['namespace name invalid', wrap('    namespaces: {names: [Prod]}\n'), '/rules/0/namespaces/names/0', /namespace names/],
      ['label key invalid', wrap('    namespaces: {labels: {"a b": x}}\n'), '/rules/0/namespaces/labels/a b', /not a valid Kubernetes label name/],
      ['label value invalid', wrap('    namespaces: {labels: {env: 3}}\n'), '/rules/0/namespaces/labels/env', /label value/],
      ['defaults with images', 'version: 1\ndefaults: {images: [x]}\nrules: []\n', '/defaults/images', /unknown key 'images'/],
      ['defaults not an object', 'version: 1\ndefaults: []\nrules: []\n', '/defaults', /expected an object, got an empty list/],
      ['catch-all skip in defaults', 'version: 1\ndefaults: {mode: skip}\nrules:\n  - {name: a, images: ["**"]}\n', '/rules/0/mode', /catch-all/],
    ];
    for (const [label, text, pointer, message] of cases) {
      it(`reports ${label} at ${pointer}`, () => {
        const p = oneProblem(text, pointer, message);
        assert.equal(typeof p.line, 'number');
      });
    }

    it('escapes JSON pointer tokens (RFC 6901)', () => {
      oneProblem(wrap('    namespaces: {labels: {"example.com/tier": 3}}\n'), '/rules/0/namespaces/labels/example.com~1tier', /label value/);
    });

    it('gives line numbers for JSON input too', () => {
      const p = oneProblem('{\n  "version": 1,\n  "rules": [\n    {"name": "a", "images": ["**"], "mode": "off"}\n  ]\n}\n', '/rules/0/mode', /got "off"/);
      assert.equal(p.line, 4);
    });

    const syntax: [string, string, RegExp][] = [
      ['duplicate YAML keys', 'version: 1\nversion: 1\nrules: []\n', /Map keys must be unique \(line 2, column 1\)/],
      ['two YAML documents', 'version: 1\nrules: []\n---\nversion: 1\n', /multiple documents/],
      ['bad YAML', 'version: 1\nrules: [\n', /line \d+/],
      ['duplicate JSON keys', '{"version": 1, "rules": [], "rules": []}', /duplicate/i],
      ['broken JSON', '{"version": 1,', /offset/],
      ['unknown YAML tag', 'version: !secret 1\nrules: []\n', /tag/i],
      ['alias bomb', 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n', /alias/i],
    ];
    for (const [label, text, message] of syntax) {
      it(`rejects ${label} as POLICY_FILE_SYNTAX`, () => {
        assert.throws(
          () => parsePolicy(text),
          (e) => isOcitrustError(e, 'POLICY_FILE_SYNTAX') && message.test(e.message),
        );
      });
    }

    it('rejects input larger than 1 MiB', () => {
      assert.throws(() => parsePolicy('#'.repeat(1024 * 1024 + 1)), (e) => isOcitrustError(e, 'INPUT_TOO_LARGE'));
    });

    it('rejects a document that is not an object', () => {
      for (const text of ['[]', '42', '"x"', '']) oneProblem(text, '', /expected a policy object/);
    });
  });
});
