// A SoftHSM2 token per test run (issue 19): its own configuration and token folder in a temp
// directory (SOFTHSM2_CONF points at it), initialized with softhsm2-util. Nothing touches the
// machine's own tokens. Tests that need SoftHSM fail (not skip) under CI=true.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingPrograms } from './oci-layout.js';

/** Debian's module path (`dpkg -L libsofthsm2`). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** Why SoftHSM tests cannot run here, or undefined (throws under CI=true). */
export function softhsmMissing(): string | undefined {
  const missing = missingPrograms('softhsm2-util');
  if (missing) return missing;
  if (!existsSync(SOFTHSM_MODULE)) {
    if (process.env.CI === 'true') throw new Error(`CI=true but ${SOFTHSM_MODULE} is missing (apt-get install softhsm2)`);
    return `${SOFTHSM_MODULE} missing`;
  }
  return undefined;
}

/** A temporary SoftHSM installation with initialized tokens. */
export interface SoftHsm {
  readonly dir: string;
  /** SOFTHSM2_CONF for processes that use the tokens. */
  readonly env: { SOFTHSM2_CONF: string };
  readonly pin: string;
  /** A file holding the PIN (for --pin-file). */
  readonly pinFile: string;
  /** `pkcs11:token=<token>;object=<object>?module-path=…` */
  uri(object: string, token?: string): string;
  /** Initializes another token. */
  addToken(label: string): void;
  cleanup(): void;
}

/** Creates a SoftHSM configuration in a temp folder and initializes token `label` (user PIN `pin`). */
export function createSoftHsm(label = 'ci', pin = '1234-test-pin'): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const pinFile = join(dir, 'pin.txt');
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  const env = { SOFTHSM2_CONF: conf };
  const addToken = (l: string): void => {
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', l, '--pin', pin, '--so-pin', 'so-5678'], { env: { ...process.env, ...env }, stdio: 'pipe' });
  };
  addToken(label);
  return {
    dir,
    env,
    pin,
    pinFile,
    uri: (object, token = label) => `pkcs11:token=${token};object=${object}?module-path=${SOFTHSM_MODULE}`,
    addToken,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
