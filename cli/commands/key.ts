import { access, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Argument, Option, type Command } from 'commander';
import { OcitrustError } from '../../lib/errors/index.js';
import { KEY_NAME_PATTERN } from '../../lib/keys/keystore.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { example, type CommandKit } from '../program.js';

/** Writes an output file; private material gets 0600 and never replaces an existing file. */
async function writeOut(path: string, content: string, secret: boolean): Promise<void> {
  try {
    await writeFile(path, content, { mode: secret ? 0o600 : 0o644, flag: 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // An existing file is the user's input to fix (another name), not a broken environment.
    if (code === 'EEXIST') throw new OcitrustError('CLI_OUTPUT_EXISTS', `${path}: expected a new file, got an existing one (not overwritten)`, { cause: e });
    throw new OcitrustError('CLI_OUTPUT_FAILED', `cannot write ${path}: ${code ?? (e as Error).message}`, { cause: e });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** `trust key …`: the local key store (DESIGN §2). */
export function register(program: Command, kit: CommandKit): void {
  const key = example(program.command('key').description('manage signing keys in the local key store (<home>/keys)'), 'trust key generate alice', 'trust key list');

  example(
    key
      .command('generate')
      .description('generate a signing key (Ed25519, or ECDSA P-256 with --type), in the key store or, with --pkcs11, inside a PKCS#11 token; writes <name>.pub (SPKI PEM) and prints the keyid')
      .argument('<name>', 'key name ([a-z0-9][a-z0-9._-]*)')
      .option('--dir <dir>', 'where to write <name>.pub', '.')
      .addOption(new Option('--type <type>', 'key type: ed25519, or ecdsa-p256 (e.g. to match Docker Content Trust signer keys)').choices(['ed25519', 'ecdsa-p256']).default('ed25519'))
      .option('--pkcs11 <uri>', 'generate the key pair inside this PKCS#11 token (RFC 7512 URI naming the token and the new object); PIN from --pin-file or OCITRUST_PKCS11_PIN')
      .action(
        kit.action(async (ctx: CliContext, opts, name: string) => {
          const pubPath = join(ctx.path(opts.dir as string), `${name}.pub`);
          const existing = await ctx.keys.list();
          if (existing.some((k) => k.name === name)) throw new OcitrustError('KEY_EXISTS', `a key named ${JSON.stringify(name)} already exists in ${ctx.keys.dir}`);
          if (!KEY_NAME_PATTERN.test(name)) throw new OcitrustError('KEY_NAME_INVALID', `invalid key name ${JSON.stringify(name.slice(0, 80))}: use [a-z0-9][a-z0-9._-]{0,63}`);
          // Before the key is made: a key in the store without its .pub would be a half success.
          if (await exists(pubPath)) throw new OcitrustError('CLI_OUTPUT_EXISTS', `${pubPath}: expected a new file, got an existing one (not overwritten); use --dir`);
          const type = opts.type as 'ed25519' | 'ecdsa-p256';
          let k;
          if (opts.pkcs11) {
            const uri = opts.pkcs11 as string;
            // Checked before the token is touched: a malformed URI is the command line's error.
            const { parsePkcs11Uri } = await import('../../lib/keys/pkcs11/uri.js');
            parsePkcs11Uri(uri);
            k = await ctx.keys.generateExternal(uri, name, { type });
          } else {
            const pass = await ctx.passphrase({ keyName: name, role: name, confirm: true });
            k = await ctx.keys.generate(name, pass, { type });
          }
          await writeOut(pubPath, k.publicPem, false);
          if (ctx.out.json) ctx.out.data({ name: k.name, keyid: k.keyid, type, publicKeyFile: pubPath, ...(opts.pkcs11 ? { uri: opts.pkcs11 as string } : {}) });
          else {
            ctx.out.notice(`Generated key ${k.name}${opts.pkcs11 ? ' inside the token' : ''}; public key written to ${pubPath}`);
            ctx.out.result(k.keyid);
          }
        }),
      ),
    'trust key generate alice',
    'trust key generate bob --type ecdsa-p256',
    "trust --pin-file pin.txt key generate release --type ecdsa-p256 --pkcs11 'pkcs11:token=ci;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so'",
  );

  example(
    key
      .command('add')
      .description('record a key held outside the key store (a PKCS#11 token key, or a signer plugin\'s key) under a name, reading its public key')
      .argument('<ref>', "pkcs11:… URI (RFC 7512) or plugin:NAME:KEYREF")
      .option('--name <name>', 'key name (default: derived from the reference)')
      .option('--dir <dir>', 'also write <name>.pub (SPKI PEM) into this folder')
      .action(
        kit.action(async (ctx: CliContext, opts, ref: string) => {
          const k = await ctx.keys.addReference(ref, opts.name as string | undefined);
          let pubPath: string | undefined;
          if (opts.dir) {
            pubPath = join(ctx.path(opts.dir as string), `${k.name}.pub`);
            await writeOut(pubPath, k.publicPem, false);
          }
          if (ctx.out.json) ctx.out.data({ name: k.name, keyid: k.keyid, uri: ref, existing: k.existing, ...(pubPath ? { publicKeyFile: pubPath } : {}) });
          else {
            ctx.out.notice(k.existing ? `Key ${k.name} already records this key` : `Added key ${k.name} (${ref.slice(0, 120)})`);
            ctx.out.result(k.keyid);
          }
        }),
      ),
    "trust key add 'pkcs11:token=ci;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so' --name release",
    'trust key add plugin:vault:transit/keys/release --name release',
  );

  example(
    key
      .command('import')
      .description('import an unencrypted private key PEM: Ed25519 PKCS#8, or ECDSA P-256 PKCS#8 / SEC 1 (e.g. from `openssl genpkey`)')
      .argument('<file.pem>', 'PEM file')
      .option('--name <name>', 'key name (default: the file name without extension)')
      .action(
        kit.action(async (ctx: CliContext, opts, file: string) => {
          const pem = await ctx.readInput(file, 'key file', 64 * 1024);
          const name = (opts.name as string | undefined) ?? basename(file).replace(/\.(pem|key|p8)$/i, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
          const pass = await ctx.passphrase({ keyName: name, role: name, confirm: true });
          const k = await ctx.keys.importPem(pem, name, pass);
          if (ctx.out.json) ctx.out.data({ name: k.name, keyid: k.keyid });
          else {
            ctx.out.notice(`Imported key ${k.name}`);
            ctx.out.result(k.keyid);
          }
        }),
      ),
    'openssl genpkey -algorithm ed25519 -out bob.pem && trust key import bob.pem',
  );

  example(
    key
      .command('export')
      .description('print a key as PEM: the public key (SPKI) with --public, else the private key (PKCS#8, unencrypted!)')
      .argument('<key>', 'key name, keyid or keyid prefix (≥ 6 hex)')
      .option('--public', 'export the public key only')
      .option('--out <file>', 'write to this file (0600 for private keys; never overwritten) instead of stdout')
      .option('--unencrypted', 'print the unencrypted private key even when stdout is a terminal')
      .action(
        kit.action(async (ctx: CliContext, opts, ref: string) => {
          if (opts.out && (await exists(ctx.path(opts.out as string)))) {
            throw new OcitrustError('CLI_OUTPUT_EXISTS', `--out ${opts.out as string}: expected a new file, got an existing one (not overwritten)`);
          }
          if (!opts.public && !opts.out && !opts.unencrypted && ctx.io.stdout.isTTY === true) {
            // A private key on a terminal ends up in scrollback, screen recordings and logs.
            throw new OcitrustError('CLI_USAGE', 'refusing to print an unencrypted private key to a terminal: use --out FILE, redirect stdout, or pass --unencrypted');
          }
          let pem: string;
          if (opts.public) {
            pem = await ctx.keys.exportPublicPem(ref);
          } else {
            const entry = await ctx.keys.resolve(ref);
            pem = await ctx.keys.exportPrivatePem(ref, await ctx.passphrase({ keyName: entry.name, keyid: entry.keyid, role: entry.name }));
          }
          if (opts.out) {
            await writeOut(ctx.path(opts.out as string), pem, !opts.public);
            ctx.out.notice(`Wrote ${opts.out as string}`);
          } else {
            ctx.io.stdout.write(pem);
          }
        }),
      ),
    'trust key export alice --public > alice.pub',
    'trust key export alice --out alice.pem',
  );

  example(
    key
      .command('list')
      .description('list the keys in the local key store')
      .action(
        kit.action(async (ctx: CliContext) => {
          const keys = await ctx.keys.list();
          if (ctx.out.json) return void ctx.out.data({ keys });
          if (keys.length === 0) return void ctx.out.notice(`no keys in ${ctx.keys.dir}`);
          ctx.out.result(table([['NAME', 'KEYID', 'CREATED', 'WHERE'], ...keys.map((k) => [k.name, k.keyid, k.created, k.uri ?? 'key file'])]));
        }),
      ),
    'trust key list -o json',
  );

  example(
    key
      .command('rotate')
      .description('rotate the root or targets key of a collection: new key, new root version signed by the old and new keys')
      .argument('<repo>', 'repository (collection)')
      .addArgument(new Argument('<role>', 'which key').choices(['root', 'targets']))
      .option('--key <name|uri>', 'use this key (key store name, pkcs11: URI or plugin:NAME:KEYREF) instead of generating one')
      .action(
        kit.action(async (ctx: CliContext, opts, repo: string, role: 'root' | 'targets') => {
          const collection = ctx.repository(repo);
          // The admin use cases bring the trust server client: only rotate needs them.
          const { rotateKey } = await import('../../lib/usecases/admin.js');
          const r = await rotateKey(await ctx.admin(), { collection, role, ...(opts.key ? { newKey: opts.key as string } : {}) });
          if (ctx.out.json) return void ctx.out.data({ collection, role, oldKeyids: r.oldKeyids, newKey: r.newKey, versions: r.versions });
          ctx.out.text(
            `Rotated the ${role} key of ${collection}: ${r.newKey.name} (${r.newKey.keyid.slice(0, 16)}…)${r.newKey.generated ? ' generated' : ''}\n` +
              `root version ${r.versions.root}, targets version ${r.versions.targets}; existing signatures keep verifying`,
          );
        }),
      ),
    'trust key rotate registry.example.com/app targets',
    "trust --pin-file pin.txt key rotate registry.example.com/app root --key 'pkcs11:token=ci;object=root2?module-path=/usr/lib/softhsm/libsofthsm2.so'",
  );
}
