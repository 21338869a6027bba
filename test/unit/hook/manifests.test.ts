import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { scanManifests, pinManifests, pinnedReference } from '../../../hook/manifests.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

const DIG = 'sha256:' + 'e'.repeat(64);
const pin = (...images: string[]) => new Map(images.map((i) => [i, pinnedReference(i, DIG)]));
const brief = (text: string) => scanManifests(text).map((o) => `${o.kind}/${o.name} ${o.path} ${o.image}`);

describe('scanManifests', () => {
  it('finds containers, initContainers and ephemeralContainers of every workload kind', () => {
    const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job'];
    const docs = kinds.map(
      (k) => `apiVersion: x\nkind: ${k}\nmetadata: {name: ${k.toLowerCase()}}\nspec:\n  template:\n    spec:\n      initContainers: [{name: i, image: "i/${k.toLowerCase()}:1"}]\n      containers: [{name: c, image: "c/${k.toLowerCase()}:1"}]\n`,
    );
    docs.push('kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: c/pod}]\n  ephemeralContainers: [{name: e, image: e/pod}]\n');
    docs.push('kind: CronJob\nmetadata: {name: cj}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: c, image: c/cron}]\n');
    docs.push('kind: PodTemplate\nmetadata: {name: pt}\ntemplate:\n  spec:\n    containers: [{name: c, image: c/podtemplate}]\n');
    docs.push('apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: ro}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: c/rollout}]\n');
    docs.push('kind: ConfigMap\nmetadata: {name: cm}\ndata: {image: not-an-image}\n');
    const found = brief(docs.join('---\n'));
    assert.deepEqual(found, [
      ...kinds.flatMap((k) => [`${k}/${k.toLowerCase()} spec.template.spec.initContainers[0] i/${k.toLowerCase()}:1`, `${k}/${k.toLowerCase()} spec.template.spec.containers[0] c/${k.toLowerCase()}:1`]),
      'Pod/p spec.containers[0] c/pod',
      'Pod/p spec.ephemeralContainers[0] e/pod',
      'CronJob/cj spec.jobTemplate.spec.template.spec.containers[0] c/cron',
      'PodTemplate/pt template.spec.containers[0] c/podtemplate',
      'Rollout/ro spec.template.spec.containers[0] c/rollout',
    ]);
  });

  it('reports each occurrence with file, document index, kind, name, namespace, container, line and normalized reference', () => {
    const [o] = scanManifests('# c\n---\n---\nkind: Pod\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n', { file: 'app.yaml' });
    assert.deepEqual(o, {
      file: 'app.yaml',
      documentIndex: 1, // the comment and the first --- open document 0, which is empty
      kind: 'Pod',
      name: 'p',
      namespace: 'ns',
      path: 'spec.containers[0]',
      imageSegments: ['spec', 'containers', 0, 'image'],
      container: 'web',
      image: 'nginx:1.27',
      reference: 'docker.io/library/nginx:1.27',
      repository: 'docker.io/library/nginx',
      tag: '1.27',
      line: 11,
      column: 12,
    });
  });

  it('reports invalid references (ko://, uppercase, non-strings) with their error instead of dropping them', () => {
    const out = scanManifests('kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: "ko://github.com/acme/app"}\n  - {name: b, image: Registry.example.com/Team/App}\n');
    assert.deepEqual(
      out.map((o) => [o.container, o.image, o.error?.code, o.reference]),
      [
        ['a', 'ko://github.com/acme/app', 'REFERENCE_INVALID', undefined],
        ['b', 'Registry.example.com/Team/App', 'REFERENCE_INVALID', undefined],
      ],
    );
    assert.match(out[1]?.error?.message ?? '', /lowercase/);
  });

  it('refuses a workload whose pod spec has the wrong shape instead of finding no image in it (HOOK_MANIFEST_INVALID)', () => {
    const pod = (spec: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: ${spec}\n`;
    const deploy = (spec: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: ${spec}}}\n`;
    const cases: [string, RegExp][] = [
      [pod('{containers: {c: {image: nginx:1}}}'), /spec\.containers: expected a list of containers, got an object/],
      [pod('{containers: "nginx:1"}'), /spec\.containers: expected a list of containers/],
      [pod('{initContainers: ["nginx:1"], containers: []}'), /spec\.initContainers\[0\]: expected a container object/],
      [pod('{containers: [{name: c, image: 42}]}'), /spec\.containers\[0\]\.image: expected an image reference string, got number 42/],
      [pod('{containers: [{name: c, image: [nginx]}]}'), /spec\.containers\[0\]\.image: expected an image reference string, got a list/],
      [pod('{containers: [{name: c}]}'), /spec\.containers\[0\]\.image: expected an image reference string, got nothing/],
      [pod('[]'), /Pod p: spec: expected a pod spec object, got a list/],
      [deploy('{containers: {c: {image: nginx:1}}}'), /Deployment d: spec\.template\.spec\.containers: expected a list/],
      ['apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n', /spec\.template\.spec: expected a pod spec object, got nothing/],
      ['apiVersion: v1\nkind: List\nitems:\n- ' + pod('{containers: {}}').replace(/\n(?=.)/g, '\n  '), /items\[0\]\.spec\.containers: expected a list/],
    ];
    for (const [text, re] of cases) {
      for (const run of [() => scanManifests(text, { file: 'x.yaml' }), () => pinManifests(text, new Map(), { file: 'x.yaml' })]) {
        assert.throws(run, (e) => isOcitrustError(e, 'HOOK_MANIFEST_INVALID') && re.test(e.message) && e.message.startsWith('x.yaml: document 0: '), text);
      }
    }
    // A CRD reusing a built-in kind name in its own group is not read as the built-in kind.
    assert.deepEqual(brief('apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 2}\n'), []);
  });

  it('walks List kinds (and typed lists such as DeploymentList)', () => {
    const text = `apiVersion: v1
kind: List
items:
- kind: Pod
  metadata: {name: a}
  spec: {containers: [{name: c, image: a/a}]}
- kind: DeploymentList
  items:
  - kind: Deployment
    metadata: {name: b}
    spec: {template: {spec: {containers: [{name: c, image: b/b}]}}}
`;
    assert.deepEqual(brief(text), ['Pod/a items[0].spec.containers[0] a/a', 'Deployment/b items[1].items[0].spec.template.spec.containers[0] b/b']);
  });

  it('reads JSON (kubectl get -o json) as well', () => {
    const json = JSON.stringify({ kind: 'Pod', metadata: { name: 'j' }, spec: { containers: [{ name: 'c', image: 'ghcr.io/a/b:1' }] } }, null, 2);
    assert.deepEqual(brief(json), ['Pod/j spec.containers[0] ghcr.io/a/b:1']);
  });

  it('resolves anchors, aliases and << merge keys as kubectl does', () => {
    const text = `x-common: &common
  image: &img registry.example.com/team/app:1.0
  imagePullPolicy: IfNotPresent
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      initContainers:
      - <<: *common
        name: init
      containers:
      - <<: *common
        name: app
      - name: side
        image: *img
      - <<: *common
        name: override
        image: busybox:1.36
`;
    assert.deepEqual(brief(text), [
      'Deployment/d spec.template.spec.initContainers[0] registry.example.com/team/app:1.0',
      'Deployment/d spec.template.spec.containers[0] registry.example.com/team/app:1.0',
      'Deployment/d spec.template.spec.containers[1] registry.example.com/team/app:1.0',
      'Deployment/d spec.template.spec.containers[2] busybox:1.36',
    ]);
  });

  const invalid: [string, string, RegExp][] = [
    ['a syntax error', 'kind: Pod\nspec: [\n', /-: document 0: .*line/],
    ['duplicate keys', 'kind: Pod\nkind: Pod\n', /unique/],
    ['an unknown tag', 'kind: !Ref Pod\n', /tag/i],
    ['an alias bomb', 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n', /alias/i],
  ];
  for (const [label, text, msg] of invalid) {
    it(`refuses ${label} with HOOK_YAML_INVALID`, () => {
      assert.throws(() => scanManifests(text), (e) => isOcitrustError(e, 'HOOK_YAML_INVALID') && msg.test(e.message));
    });
  }

  it('names the document of a syntax error in a stream', () => {
    assert.throws(
      () => scanManifests('kind: A\n---\nkind: B\n---\nkind: [\n', { file: 'all.yaml' }),
      (e) => isOcitrustError(e, 'HOOK_YAML_INVALID') && /^all\.yaml: document 2: /.test(e.message),
    );
  });

  it('handles an empty stream and comment-only documents', () => {
    assert.deepEqual(scanManifests(''), []);
    assert.deepEqual(scanManifests('# nothing\n---\n# still nothing\n'), []);
  });
});

describe('pinManifests', () => {
  it('rewrites only the image scalars, keeping comments, quoting and layout', () => {
    const text = `# deploy
apiVersion: apps/v1   # trailing comment
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: 'busybox:1.36'     # single quoted
      containers:
        - {name: app, image: "registry.example.com/team/app:1.0", args: ["--image=nginx"]}
        - name: proxy
          image: envoyproxy/envoy:v1.30 # plain
        - name: untouched
          image: ghcr.io/other/tool:2
`;
    const out = pinManifests(text, pin('busybox:1.36', 'registry.example.com/team/app:1.0', 'envoyproxy/envoy:v1.30'));
    assert.equal(
      out,
      text
        .replace(`'busybox:1.36'`, `'busybox:1.36@${DIG}'`)
        .replace(`"registry.example.com/team/app:1.0"`, `"registry.example.com/team/app:1.0@${DIG}"`)
        .replace(`envoyproxy/envoy:v1.30 # plain`, `envoyproxy/envoy:v1.30@${DIG} # plain`),
    );
  });

  it('rewrites an anchored image once, at its anchor, for every alias', () => {
    const text = 'x: &img nginx:1.27\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: *img}\n  - {name: b, image: *img}\n';
    const out = pinManifests(text, pin('nginx:1.27'));
    assert.equal(out, text.replace('&img nginx:1.27', `&img nginx:1.27@${DIG}`));
    assert.deepEqual(scanManifests(out).map((o) => o.image), [`nginx:1.27@${DIG}`, `nginx:1.27@${DIG}`]);
  });

  it('rewrites a merged image at its source map', () => {
    const text = 'x: &c {image: nginx:1.27}\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - <<: *c\n    name: a\n';
    assert.equal(pinManifests(text, pin('nginx:1.27')), text.replace('{image: nginx:1.27}', `{image: nginx:1.27@${DIG}}`));
  });

  it('keeps CRLF line endings and block scalars', () => {
    const crlf = 'kind: Pod\r\nmetadata: {name: p}\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: nginx:1.27\r\n';
    assert.equal(pinManifests(crlf, pin('nginx:1.27')), crlf.replace('nginx:1.27', `nginx:1.27@${DIG}`));
    const block = 'kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: >-\n      nginx:1.27\n    tty: true\n';
    const out = pinManifests(block, pin('nginx:1.27'));
    assert.deepEqual(scanManifests(out).map((o) => o.image), [`nginx:1.27@${DIG}`]);
    assert.ok(out.endsWith('    tty: true\n'));
  });

  it('leaves the text byte-identical when nothing is pinned', () => {
    const text = 'kind: Pod # x\nmetadata: {name: p}\nspec: {containers: [{name: a, image: nginx}]}\n';
    assert.equal(pinManifests(text, new Map()), text);
    assert.equal(pinManifests(text, pin('other:1')), text);
  });

  it('pins images inside List items and multi-document streams', () => {
    const text = 'kind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n  spec: {containers: [{name: c, image: a/a:1}]}\n---\nkind: Job\nmetadata: {name: j}\nspec: {template: {spec: {containers: [{name: c, image: a/a:1}]}}}\n';
    assert.equal(pinManifests(text, pin('a/a:1')), text.split('a/a:1').join(`a/a:1@${DIG}`));
  });

  it('changes nothing but the image scalars, whatever their quoting and the surrounding layout (property)', () => {
    // Names start with a letter: as YAML 1.1 (what kubectl reads), a plain `00` or `1:20` is a number.
    const comp = fc.stringMatching(/^[a-z0-9]{0,5}$/).map((s) => `img${s}`);
    const image = fc.tuple(fc.constantFrom('', 'ghcr.io/', 'localhost:5000/', 'registry.example.com/team/'), comp, fc.option(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,6}$/), { nil: undefined }))
      .map(([host, name, tag]) => `${host}${name}${tag ? ':' + tag : ''}`);
    const style = fc.constantFrom('plain', 'single', 'double', 'flow');
    fc.assert(
      fc.property(fc.array(fc.tuple(image, style, fc.boolean()), { minLength: 1, maxLength: 6 }), (containers) => {
        const lines = ['# generated', 'kind: Pod', 'metadata: {name: p}', 'spec:', '  containers:'];
        containers.forEach(([img, st, comment], i) => {
          const q = st === 'single' ? `'${img}'` : st === 'double' ? `"${img}"` : img;
          const c = comment ? '   # note' : '';
          lines.push(st === 'flow' ? `  - {name: c${i}, image: ${img}}${c}` : `  - name: c${i}\n    image: ${q}${c}`);
        });
        const text = lines.join('\n') + '\n';
        const pins = pin(...new Set(containers.map(([img]) => img)));
        const out = pinManifests(text, pins);
        assert.deepEqual(scanManifests(out).map((o) => o.image), containers.map(([img]) => pins.get(img)));
        let undone = out;
        for (const [from, to] of pins) undone = undone.split(to).join(from);
        assert.equal(undone, text);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses pins that are not digest references', () => {
    const text = 'kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: nginx}]}\n';
    assert.throws(() => pinManifests(text, new Map([['nginx', 'nginx:1.27']])), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => pinManifests(text, new Map([['nginx', 'ko://x']])), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => pinManifests(text, {} as Map<string, string>), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
  });
});

describe('pinnedReference', () => {
  it('keeps the name and tag as written and appends the digest', () => {
    assert.equal(pinnedReference('nginx', DIG), `nginx@${DIG}`);
    assert.equal(pinnedReference('nginx:1.27', DIG), `nginx:1.27@${DIG}`);
    assert.equal(pinnedReference('localhost:5000/a/b:v1', DIG), `localhost:5000/a/b:v1@${DIG}`);
    assert.equal(pinnedReference(`nginx:1.27@${DIG}`, DIG), `nginx:1.27@${DIG}`);
  });

  it('refuses a contradicting digest, a bad digest and a bad reference', () => {
    assert.throws(() => pinnedReference(`nginx@${'sha256:' + 'a'.repeat(64)}`, DIG), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => pinnedReference('nginx', 'sha256:abc'), (e) => isOcitrustError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => pinnedReference('ko://x', DIG), (e) => isOcitrustError(e, 'REFERENCE_INVALID'));
  });
});
