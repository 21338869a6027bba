import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { scanManifests } from '../../../hook/manifests.js';
import { WORKLOAD_KINDS } from '../../../hook/images.js';
import { admissionDeadlineMs } from '../../../hook/admission.js';
import { parsePolicy } from '../../../lib/policy/index.js';

const dir = new URL('../../../deploy/', import.meta.url).pathname;
type Obj = Record<string, any>;

function objects(file: string): Obj[] {
  return parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJS() as Obj).filter(Boolean);
}
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => objects(f).map((o) => ({ file: f, o })));
const byKind = (k: string) => all.filter((x) => x.o.kind === k).map((x) => x.o);
const one = (k: string, name?: string) => {
  const l = byKind(k).filter((o) => name === undefined || o.metadata?.name === name);
  assert.equal(l.length, 1, `${k} ${name ?? ''}`);
  return l[0] as Obj;
};

/** Evaluates a namespaceSelector's matchExpressions (In/NotIn/Exists/DoesNotExist) against labels. */
function selects(sel: Obj, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const val = labels[e.key];
    if (e.operator === 'In' && !(has && e.values.includes(val))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(val)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const RESOURCE: Record<string, [string, string]> = {
  Pod: ['', 'pods'],
  PodTemplate: ['', 'podtemplates'],
  ReplicationController: ['', 'replicationcontrollers'],
  Deployment: ['apps', 'deployments'],
  StatefulSet: ['apps', 'statefulsets'],
  DaemonSet: ['apps', 'daemonsets'],
  ReplicaSet: ['apps', 'replicasets'],
  Job: ['batch', 'jobs'],
  CronJob: ['batch', 'cronjobs'],
};

describe('deploy/ (Kubernetes manifests for the admission webhooks)', () => {
  it('every file is valid YAML the manifest scanner reads', () => {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) scanManifests(readFileSync(join(dir, f), 'utf8'), { file: f });
    const imgs = scanManifests(readFileSync(join(dir, 'deployment.yaml'), 'utf8'));
    assert.deepEqual(imgs.map((o) => `${o.kind}/${o.name} ${o.path} ${o.reference}`), ['Deployment/ocitrust-webhook spec.template.spec.containers[0] ghcr.io/ocitrust/ocitrust:0.1.0']);
  });

  it('kustomization.yaml lists every manifest except the optional cert-manager one', () => {
    const k = one('Kustomization');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'cert-manager.yaml').sort();
    assert.deepEqual([...k.resources].sort(), files);
  });

  const svc = one('Service', 'ocitrust-webhook');
  const dep = one('Deployment', 'ocitrust-webhook');
  const container = dep.spec.template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value]));

  for (const [kind, name, path, mutating] of [
    ['ValidatingWebhookConfiguration', 'ocitrust-validate', '/admission/validate', false],
    ['MutatingWebhookConfiguration', 'ocitrust-mutate', '/admission/mutate', true],
  ] as const) {
    describe(kind, () => {
      const cfg = one(kind, name);
      const [wh] = cfg.webhooks as Obj[];
      it('fails closed, has no side effects, speaks AdmissionReview v1', () => {
        assert.equal(cfg.webhooks.length, 1);
        assert.equal(wh?.failurePolicy, 'Fail');
        assert.equal(wh?.sideEffects, 'None');
        assert.deepEqual(wh?.admissionReviewVersions, ['v1']);
        if (mutating) assert.equal(wh?.reinvocationPolicy, 'IfNeeded');
      });

      it('points at the Service and the route, with a timeout the server answers within', () => {
        assert.deepEqual(wh?.clientConfig.service, { name: svc.metadata.name, namespace: svc.metadata.namespace, path, port: svc.spec.ports[0].port });
        assert.ok(wh?.timeoutSeconds >= 1 && wh?.timeoutSeconds <= 30);
        assert.equal(Number(env.OCITRUST_ADMISSION_TIMEOUT_SECONDS), wh?.timeoutSeconds);
        assert.ok(admissionDeadlineMs({ timeoutSeconds: wh?.timeoutSeconds }) < wh?.timeoutSeconds * 1000);
        assert.equal(cfg.metadata.annotations['cert-manager.io/inject-ca-from'], 'ocitrust-system/ocitrust-webhook');
      });

      it('covers Pods, ephemeral containers and every workload kind, on CREATE and UPDATE', () => {
        const covered = new Set<string>();
        for (const r of wh?.rules ?? []) {
          assert.deepEqual(r.operations, ['CREATE', 'UPDATE']);
          for (const g of r.apiGroups) for (const res of r.resources) covered.add(`${g}/${res}`);
        }
        for (const k of WORKLOAD_KINDS) {
          const [g, res] = RESOURCE[k] as [string, string];
          assert.ok(covered.has(`${g}/${res}`), `${k} (${g}/${res}) not covered`);
        }
        assert.ok(covered.has('/pods/ephemeralcontainers'));
      });

      it('never selects its own namespace or kube-system, and honours the opt-out label', () => {
        const sel = wh?.namespaceSelector;
        assert.equal(selects(sel, { 'kubernetes.io/metadata.name': 'ocitrust-system' }), false);
        assert.equal(selects(sel, { 'kubernetes.io/metadata.name': 'kube-system' }), false);
        assert.equal(selects(sel, { 'kubernetes.io/metadata.name': 'prod' }), true);
        assert.equal(selects(sel, { 'kubernetes.io/metadata.name': 'prod', 'ocitrust.dev/admission': 'disabled' }), false);
        assert.equal(dep.metadata.namespace, 'ocitrust-system');
      });
    });
  }

  it('the Deployment serves TLS on the Service target port from the Secret the certificate steps create', () => {
    assert.equal(container.ports[0].name, svc.spec.ports[0].targetPort);
    assert.equal(String(container.ports[0].containerPort), env.OCITRUST_PORT);
    assert.equal(dep.spec.template.metadata.labels['app.kubernetes.io/name'], svc.spec.selector['app.kubernetes.io/name']);
    const tls = dep.spec.template.spec.volumes.find((v: Obj) => v.name === 'tls');
    const cert = one('Certificate', 'ocitrust-webhook');
    assert.equal(tls.secret.secretName, cert.spec.secretName);
    assert.ok(cert.spec.dnsNames.includes(`${svc.metadata.name}.${svc.metadata.namespace}.svc`));
    const gen = readFileSync(join(dir, 'gen-certs.sh'), 'utf8');
    assert.match(gen, new RegExp(`svc="\\$\\{2:-${svc.metadata.name}\\}"`));
    assert.match(gen, new RegExp(`ns="\\$\\{3:-${svc.metadata.namespace}\\}"`));
    assert.ok(dep.spec.replicas >= 2, 'more than one replica: the webhook fails closed');
  });

  it('the example policy in the ConfigMap is a valid policy file', () => {
    const cm = one('ConfigMap', 'ocitrust-policy');
    const policy = parsePolicy(cm.data['policy.yaml'], { what: 'deploy/policy-configmap.yaml' });
    assert.ok(policy.rules.length >= 3);
    assert.equal(env.OCITRUST_ADMISSION_POLICY, '/etc/ocitrust/policy/policy.yaml');
    // the webhook can read namespace labels, which the example policy uses
    assert.equal(policy.usesNamespaceLabels, true);
    const role = one('ClusterRole', 'ocitrust-webhook');
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }]);
  });
});
