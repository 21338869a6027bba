#!/usr/bin/env node
/**
 * The end-to-end demo on the embedded defaults, run by the README's first command: starts a
 * trust server (with its embedded OCI registry) in a scratch folder, pushes a small image, and
 * runs the real `trust` commands — init, key generate, signer add, sign, verify — then replaces
 * the image behind the tag (what an attacker with registry access can do) and shows `trust
 * verify` refusing it. Exit 0 when every step behaved as expected.
 *
 *   node dist/cli/demo.js [--keep]   (or: node --import tsx cli/demo.ts; `npm start -- --keep`)
 *
 * With --keep the server and the scratch folder stay after the demo, and a "try it yourself"
 * block prints the exact exports and commands to continue by hand (Ctrl-C stops the server and
 * leaves the folder); without it the folder is removed and the last line says how to keep it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { digestOf } from '../lib/crypto/hash.js';
import { HttpRegistryClient } from '../lib/oci/client.js';
import { staticCredentials } from '../lib/oci/credentials.js';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from '../lib/oci/types.js';
import { run } from './run.js';
import { tarOneFile } from './tar.js';
import type { CliIO } from './io.js';

const enc = new TextEncoder();

/** Pushes a tiny single-layer image as repo:tag; returns its manifest digest. */
async function pushImage(client: HttpRegistryClient, repo: { registry: string; path: string }, tag: string, text: string): Promise<string> {
  const layerTar = tarOneFile('hello.txt', enc.encode(text));
  const layer = new Uint8Array(gzipSync(layerTar));
  const config = enc.encode(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/hello.txt'] }, rootfs: { type: 'layers', diff_ids: [digestOf(layerTar)] } }),
  );
  await client.pushBlob(repo, layer);
  await client.pushBlob(repo, config);
  const manifest = enc.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: OCI_LAYER_GZIP, digest: digestOf(layer), size: layer.length }],
    }),
  );
  return (await client.putManifest(repo, tag, manifest, OCI_MANIFEST)).digest;
}

/** Waits for SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--keep');
  if (unknown.length > 0) {
    process.stderr.write(`demo: unknown argument ${JSON.stringify(unknown[0])}: the only option is --keep (keep the server and folder running)\n`);
    return 2;
  }
  const keep = argv.includes('--keep');
  const work = await mkdtemp(join(tmpdir(), 'ocitrust-demo-'));
  const say = (s: string): void => void process.stdout.write(`\n${s}\n`);
  const { startServer } = await import('../server/main.js');
  const { createToken } = await import('../server/tokens.js');
  const server = await startServer({ dataDir: join(work, 'server'), port: 0, logger: false, handleSignals: false });
  try {
    const host = new URL(server.url).host;
    const { secret: token } = await createToken(server.app.ocitrust.db, { role: 'admin', patterns: ['**'], name: 'demo' });
    const env = {
      ...process.env,
      OCITRUST_HOME: join(work, 'home'),
      OCITRUST_SERVER: server.url,
      OCITRUST_TOKEN: token,
      // A demo passphrase; real use: a prompt, OCITRUST_<ROLE>_PASSPHRASE or --passphrase-file.
      OCITRUST_PASSPHRASE: `demo-${randomBytes(8).toString('hex')}`,
    };
    const io: CliIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env, cwd: work };
    const trust = async (args: string[], expect: number): Promise<boolean> => {
      process.stdout.write(`\n$ trust ${args.join(' ')}\n`);
      const code = await run(args, io);
      const okay = code === expect;
      process.stdout.write(`${okay ? '' : '!! '}(exit ${code}${okay ? '' : `, expected ${expect}`})\n`);
      return okay;
    };

    const repo = `${host}/demo/hello`;
    const client = new HttpRegistryClient({ credentials: staticCredentials({ [host]: { username: 'demo', password: token } }) });
    say(`ocitrust demo: trust server with embedded registry at ${server.url} (scratch folder ${work})`);
    const original = await pushImage(client, { registry: host, path: 'demo/hello' }, 'v1', 'hello from the real image\n');
    say(`Pushed ${repo}:v1 (${original}).`);

    let ok = true;
    ok = (await trust(['init', repo], 0)) && ok;
    ok = (await trust(['key', 'generate', 'alice', '--dir', work], 0)) && ok;
    ok = (await trust(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo], 0)) && ok;
    ok = (await trust(['sign', `${repo}:v1`], 0)) && ok;
    ok = (await trust(['verify', `${repo}:v1`], 0)) && ok;

    const tampered = await pushImage(client, { registry: host, path: 'demo/hello' }, 'v1', 'hello from a tampered image\n');
    say(`An attacker with registry access replaces ${repo}:v1 with other content (${tampered}):`);
    ok = (await trust(['verify', `${repo}:v1`], 1)) && ok;
    say('The signed content is still verifiable by its digest:');
    ok = (await trust(['verify', `${repo}@${original}`], 0)) && ok;
    say(ok ? 'Demo finished: signed image verified, tampered image refused.' : 'Demo FAILED: a step did not behave as expected.');
    if (!keep) {
      say('Run `npm start -- --keep` to keep the server and its folder running and try the commands yourself.');
      return ok ? 0 : 1;
    }
    const tokenFile = join(work, 'admin-token');
    await writeFile(tokenFile, token + '\n', { mode: 0o600 });
    const bin = join(dirname(fileURLToPath(import.meta.url)), 'bundle', 'trust.js');
    say(
      [
        `Try it yourself: the server keeps running at ${server.url} until Ctrl-C here (the folder ${work} stays). In another shell:`,
        '',
        `  trust() { node ${bin} "$@"; }`,
        `  export OCITRUST_SERVER=${server.url} OCITRUST_HOME=${join(work, 'home')} OCITRUST_PASSPHRASE=${env.OCITRUST_PASSPHRASE}`,
        `  trust login "$OCITRUST_SERVER" --token-file ${tokenFile}`,
        '  trust whoami',
        `  trust verify ${repo}@${original}      # verified`,
        `  trust verify ${repo}:v1               # refused: the tag names the tampered image`,
        `  trust inspect ${repo}@${original}`,
        '',
      ].join('\n'),
    );
    await untilSignal();
    say(`Stopped the server; the folder ${work} stays (rm -rf it when done).`);
    return ok ? 0 : 1;
  } finally {
    await server.close();
    if (!keep) await rm(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 3;
  },
);
