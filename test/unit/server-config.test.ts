// The trust server's one options loader (server/config/): precedence flag > environment >
// default, strict parsing with coded errors, unknown OCITRUST_* variables, the start line, the
// generated docs, and the deployment manifest read through the same loader (issue 12 item 8).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isOcitrustError } from '../../lib/errors/index.js';
import { loadServerSettings, unknownVariableWarnings } from '../../server/config/load.js';
import { SETTINGS, isClientVariable } from '../../server/config/settings.js';
import { describeDatabase, serverOptionsFromSettings, startLine } from '../../server/config/start.js';
import { renderServerSettingsDoc, DOC_BEGIN, DOC_END } from '../../server/config/docs.js';
import { resolveAppOptions } from '../../server/options.js';
import { resolveOptions as resolveRegistryOptions } from '../../server/registry/options.js';

const root = new URL('../../', import.meta.url).pathname;
const base = { cwd: '/srv', home: '/home/op/.ocitrust' };

function configError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => isOcitrustError(e) && e.code === 'SERVER_CONFIG_INVALID' && e.exitCode === 2 && message.test(e.message));
}

describe('server settings loader', () => {
  it('defaults: 127.0.0.1:7443, no TLS, no allowlist, anonymous reads and the registry on, data in <home>/server', () => {
    const { settings, sources } = loadServerSettings({ ...base, env: {} });
    assert.equal(settings.host, '127.0.0.1');
    assert.equal(settings.port, 7443);
    assert.equal(settings.tlsCert, undefined);
    assert.equal(settings.allowIps, undefined);
    assert.equal(settings.anonymousRead, true);
    assert.equal(settings.registry, true);
    assert.equal(settings.dataDir, '/home/op/.ocitrust/server');
    assert.equal(sources.port, 'default');
  });

  it('the table defaults are the library defaults (one truth for docs and behaviour)', () => {
    const lib = resolveAppOptions({});
    const { settings } = loadServerSettings({ ...base, env: {} });
    for (const k of ['snapshotExpirySeconds', 'timestampExpirySeconds', 'timestampMaxAgeSeconds', 'resignIntervalMs', 'cacheTtlMs', 'auditRetentionDays', 'auditPruneIntervalMs', 'anonymousRead', 'registry', 'requestLogging'] as const) {
      assert.equal(settings[k], lib[k], k);
    }
    const reg = resolveRegistryOptions({ dataDir: '/d', db: { query: () => undefined, transaction: () => undefined } as never });
    assert.equal(settings.registryDelete, reg.allowDelete);
    assert.equal(settings.registryMaxBlobBytes, reg.limits.maxBlobBytes);
  });

  it('every variable is read, and a flag beats it', () => {
    const env = { OCITRUST_HOST: '0.0.0.0', OCITRUST_PORT: '8443', OCITRUST_ALLOW_IPS: '10.0.0.0/8, 127.0.0.1', OCITRUST_ANONYMOUS_READ: 'false', OCITRUST_REGISTRY: 'off', OCITRUST_TLS_CERT: 'tls/c.pem', OCITRUST_TLS_KEY: '/k.pem', OCITRUST_CLIENT_CA: '/ca.pem', OCITRUST_DATA_DIR: 'data', OCITRUST_DATABASE: 'postgres://u:p@db/oci' };
    const { settings, sources } = loadServerSettings({ ...base, env });
    assert.deepEqual([settings.host, settings.port, settings.allowIps, settings.anonymousRead, settings.registry], ['0.0.0.0', 8443, ['10.0.0.0/8', '127.0.0.1'], false, false]);
    assert.deepEqual([settings.tlsCert, settings.tlsKey, settings.clientCa, settings.dataDir, settings.database], ['/srv/tls/c.pem', '/k.pem', '/ca.pem', '/srv/data', 'postgres://u:p@db/oci']);
    assert.equal(sources.allowIps, 'env');
    const f = loadServerSettings({ ...base, env, flags: { port: '9000', registry: true, anonymousRead: true, allowIps: '192.168.0.0/16' } });
    assert.deepEqual([f.settings.port, f.settings.registry, f.settings.anonymousRead, f.settings.allowIps], [9000, true, true, ['192.168.0.0/16']]);
    assert.equal(f.sources.port, 'flag');
  });

  it('the registry name reaches the embedded registry (token patterns match <name>/<repository>)', async () => {
    const { settings } = loadServerSettings({ ...base, env: { OCITRUST_REGISTRY_NAME: 'registry.example.com:5000' } });
    assert.equal(settings.registryName, 'registry.example.com:5000');
    const o = await serverOptionsFromSettings(settings);
    assert.equal(o.registryOptions?.registryName, 'registry.example.com:5000');
    const flag = loadServerSettings({ ...base, env: { OCITRUST_REGISTRY_NAME: 'a.example' }, flags: { registryName: 'b.example' } });
    assert.equal(flag.settings.registryName, 'b.example');
  });

  it('every field the server accepts has one row (and one flag, one variable)', () => {
    const flags = new Set(SETTINGS.map((s) => s.flag));
    const envs = new Set(SETTINGS.map((s) => s.env));
    assert.equal(flags.size, SETTINGS.length);
    assert.equal(envs.size, SETTINGS.length);
    for (const s of SETTINGS) assert.match(s.env, /^OCITRUST_[A-Z0-9_]+$/);
  });

  it('malformed values are SERVER_CONFIG_INVALID naming the variable or flag, expected and got', () => {
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_PORT: 'abc' } }), /^OCITRUST_PORT: expected an integer 0-65535, got 'abc'$/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_PORT: '65536' } }), /OCITRUST_PORT: expected an integer 0-65535/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_PORT: '1e3' } }), /OCITRUST_PORT/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_PORT: 'tcp://10.0.0.7:443' } }), /Kubernetes service link: set enableServiceLinks: false/);
    configError(() => loadServerSettings({ ...base, env: {}, flags: { port: '-1' } }), /^--port: expected an integer 0-65535, got '-1'$/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_ANONYMOUS_READ: 'nope' } }), /OCITRUST_ANONYMOUS_READ: expected true or false, got 'nope'/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_REGISTRY: 'disabled' } }), /OCITRUST_REGISTRY: expected true or false/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_ALLOW_IPS: '10.0.0.0/33' } }), /OCITRUST_ALLOW_IPS: expected IP addresses or CIDR ranges.*got '10\.0\.0\.0\/33'/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_ALLOW_IPS: '127.0.0.1,,10.0.0.1' } }), /OCITRUST_ALLOW_IPS/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_ALLOW_IPS: 'localhost' } }), /OCITRUST_ALLOW_IPS.*got 'localhost'/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_LOG_LEVEL: 'verbose' } }), /OCITRUST_LOG_LEVEL: expected one of fatal, error/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_ADMISSION_POLICY: '/p.yaml', OCITRUST_ADMISSION_TIMEOUT_SECONDS: '31' } }), /OCITRUST_ADMISSION_TIMEOUT_SECONDS: expected an integer 1-30, got '31'/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_SNAPSHOT_EXPIRY_SECONDS: '59' } }), /expected an integer ≥ 60, got '59'/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_PROXY_UPSTREAM: 'ftp://x' } }), /OCITRUST_PROXY_UPSTREAM: expected an http\(s\) URL/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_PROXY_UPSTREAM: 'https://user:pw@registry.example' } }), /OCITRUST_PROXY_UPSTREAM/);
  });

  it('settings that only work together are checked together', () => {
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_TLS_CERT: '/c.pem' } }), /TLS needs both a certificate and a key: OCITRUST_TLS_CERT was given without --tls-key/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_CLIENT_CA: '/ca.pem' } }), /OCITRUST_CLIENT_CA .*needs TLS/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_PROXY_POLICY: '/p.yaml' } }), /need --proxy-upstream .*OCITRUST_PROXY_POLICY/);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_PROXY_UPSTREAM: 'http://127.0.0.1:5000' }, flags: { registry: true } }), /--registry and OCITRUST_PROXY_UPSTREAM both want \/v2\//);
    configError(() => loadServerSettings({ ...base, env: { OCITRUST_ADMISSION_TIMEOUT_SECONDS: '5' } }), /needs --admission-policy/);
    const proxy = loadServerSettings({ ...base, env: { OCITRUST_PROXY_UPSTREAM: 'http://127.0.0.1:5000/' } });
    assert.equal(proxy.settings.registry, false, 'the proxy owns /v2/');
    assert.equal(proxy.settings.proxyUpstream, 'http://127.0.0.1:5000');
  });

  it('an empty variable is unset', () => {
    const { settings } = loadServerSettings({ ...base, env: { OCITRUST_ALLOW_IPS: '', OCITRUST_PORT: '' } });
    assert.equal(settings.allowIps, undefined);
    assert.equal(settings.port, 7443);
  });

  it('secrets: the variable holds the value; the flag names a file (never the value on argv)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-config-'));
    try {
      writeFileSync(join(dir, 'secret'), 'from-file-0123456789\n');
      assert.equal(loadServerSettings({ ...base, env: { OCITRUST_SERVER_SECRET: 'from-env' } }).settings.secret, 'from-env');
      assert.equal(loadServerSettings({ ...base, cwd: dir, env: { OCITRUST_SERVER_SECRET: 'from-env' }, flags: { secret: 'secret' } }).settings.secret, 'from-file-0123456789');
      configError(() => loadServerSettings({ ...base, env: {}, flags: { secret: join(dir, 'missing') } }), /--server-secret-file: cannot read .*missing: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unknown OCITRUST_* variables are warned about, with the closest known name; client variables are known', () => {
    const w = unknownVariableWarnings({ OCITRUST_ALLOW_IP: 'x', OCITRUST_TLS_CRT: 'x', OCITRUST_FOO: '1', OCITRUST_TOKEN: 't', OCITRUST_SERVER: 'u', OCITRUST_HOME: 'h', OCITRUST_PASSPHRASE: 'p', OCITRUST_TARGETS_TEAM_A_PASSPHRASE: 'p', OCITRUST_DEBUG: '1', OCITRUST_NOTIFY_TOKEN: 'n', OCITRUST_SERVER_SECRET: 's', PATH: '/bin' });
    assert.deepEqual(w, [
      'unknown environment variable OCITRUST_ALLOW_IP is ignored (did you mean OCITRUST_ALLOW_IPS?)',
      'unknown environment variable OCITRUST_FOO is ignored',
      'unknown environment variable OCITRUST_TLS_CRT is ignored (did you mean OCITRUST_TLS_CERT?)',
    ]);
  });

  it('every OCITRUST_ variable named anywhere in the code base is known (a setting or a client variable)', () => {
    const skip = new Set(['node_modules', 'dist', '.git']);
    const files = (dir: string, out: string[] = []): string[] => {
      for (const e of readdirSync(dir)) {
        if (skip.has(e)) continue;
        const p = join(dir, e);
        if (statSync(p).isDirectory()) files(p, out);
        else if (/\.(ts|mjs|js|md|ya?ml|sh|json)$/.test(p)) out.push(p);
      }
      return out;
    };
    const unknown = new Set<string>();
    for (const f of files(root)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bOCITRUST_[A-Z0-9_]*[A-Z0-9]\b/g)) {
        const name = m[0];
        // Not variables: the bundle's version constant and the proxy's header-name constant.
        if (name === 'OCITRUST_TOKEN_HEADER' || name.startsWith('OCITRUST_VERSION')) continue;
        // The misspellings that the warning tests and docs use on purpose.
        if (['OCITRUST_ALLOW_IP', 'OCITRUST_TLS_CRT', 'OCITRUST_FOO'].includes(name)) continue;
        if (!SETTINGS.some((s) => s.env === name) && !isClientVariable(name)) unknown.add(`${name} (${relative(root, f)})`);
      }
    }
    assert.deepEqual([...unknown], []);
  });

  it('the start line states the security settings; the database without credentials', () => {
    const { settings } = loadServerSettings({ ...base, env: { OCITRUST_TLS_CERT: '/c', OCITRUST_TLS_KEY: '/k', OCITRUST_ALLOW_IPS: '10.0.0.0/8', OCITRUST_ANONYMOUS_READ: 'false', OCITRUST_DATABASE: 'postgres://admin:hunter2@db.internal:5432/ocitrust?sslmode=require', OCITRUST_ADMISSION_POLICY: '/p.yaml' } });
    const line = startLine('trust server', 'https://0.0.0.0:8443', settings);
    assert.equal(line, 'trust server listening on https://0.0.0.0:8443 (data /home/op/.ocitrust/server); TLS on; mTLS off; allowlist 10.0.0.0/8; anonymous reads off; registry on; proxy off; admission on (policy /p.yaml); database postgresql db.internal:5432/ocitrust');
    assert.doesNotMatch(line, /admin|hunter2|sslmode/);
    assert.equal(describeDatabase({ database: undefined, dataDir: '/d' }), 'sqlite /d/ocitrust.db');
  });

  it('settings become the server options (TLS, allowlist, admission, listener)', async () => {
    const { settings } = loadServerSettings({ ...base, env: { OCITRUST_TLS_CERT: '/c', OCITRUST_TLS_KEY: '/k', OCITRUST_CLIENT_CA: '/ca', OCITRUST_ALLOW_IPS: '10.0.0.1', OCITRUST_TRUST_PROXY: '10.0.0.2', OCITRUST_ADMISSION_POLICY: '/p.yaml', OCITRUST_ADMISSION_TIMEOUT_SECONDS: '5' } });
    const o = await serverOptionsFromSettings(settings);
    assert.deepEqual([o.tlsCert, o.tlsKey, o.clientCa, o.allowIps, o.trustProxy, o.admission, o.host, o.port], ['/c', '/k', '/ca', ['10.0.0.1'], ['10.0.0.2'], { policy: '/p.yaml', timeoutSeconds: 5 }, '127.0.0.1', 7443]);
  });

  it('docs/cli.md carries the generated settings table (npm run docs:server)', () => {
    const doc = readFileSync(join(root, 'docs/cli.md'), 'utf8');
    const block = doc.slice(doc.indexOf(DOC_BEGIN), doc.indexOf(DOC_END) + DOC_END.length);
    assert.equal(block, renderServerSettingsDoc(), 'docs/cli.md is stale: run npm run docs:server');
  });

  it('deploy/deployment.yaml configures, through the loader, what it means to: HTTPS on 0.0.0.0:8443, no registry, the admission webhooks', () => {
    const docs = parseAllDocuments(readFileSync(join(root, 'deploy/deployment.yaml'), 'utf8')).map((d) => d.toJS());
    const dep = docs.find((d) => d?.kind === 'Deployment');
    const c = dep.spec.template.spec.containers[0];
    assert.deepEqual(c.args, ['server']);
    assert.equal(dep.spec.template.spec.enableServiceLinks, false, 'no OCITRUST_WEBHOOK_* service-link variables in the environment');
    const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    const loaded = loadServerSettings({ ...base, env });
    assert.deepEqual(loaded.warnings, []);
    const s = loaded.settings;
    assert.deepEqual([s.host, s.port, s.tlsCert, s.tlsKey, s.registry, s.admissionPolicy, s.admissionTimeoutSeconds], ['0.0.0.0', 8443, '/etc/ocitrust/tls/tls.crt', '/etc/ocitrust/tls/tls.key', false, '/etc/ocitrust/policy/policy.yaml', 10]);
    // The probes and the Service speak to the port the server listens on, over HTTPS.
    assert.equal(c.ports[0].containerPort, s.port);
    assert.equal(c.readinessProbe.httpGet.scheme, 'HTTPS');
  });
});
