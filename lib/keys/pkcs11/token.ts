import type * as Pkcs11Types from 'pkcs11js';
import { OcitrustError } from '../../errors/index.js';
import type { Pkcs11Uri } from './uri.js';

/*
 * The PKCS#11 module and token of a URI: loading the module (once per process and path),
 * choosing the one token the URI names, a session, login, and the translation of CKR_ values
 * into catalogue codes that say what to check. Uses pkcs11js (PeculiarVentures: N-API, so one
 * prebuilt binary per platform works across Node versions; a thin 1:1 mapping of the Cryptoki
 * functions, which keeps every CKR_ visible for the error mapping; README says why over
 * graphene-pk11). Loaded lazily: commands that never touch a token never load the native addon.
 */

type PKCS11 = Pkcs11Types.PKCS11;
type Handle = Pkcs11Types.Handle;
type PkcsModule = typeof Pkcs11Types;

/** The pkcs11js module (CommonJS with a native addon). */
let binding: Promise<PkcsModule> | undefined;
async function pkcs11js(): Promise<PkcsModule> {
  binding ??= import('pkcs11js').then((m) => ((m as { default?: PkcsModule }).default ?? m) as PkcsModule);
  return binding;
}

/** Loaded modules by path: a module is initialized once per process. */
const modules = new Map<string, PKCS11>();

/** An open session on the token a URI names. */
export interface TokenSession {
  readonly p: PkcsModule;
  readonly lib: PKCS11;
  readonly slot: Handle;
  readonly session: Handle;
  /** The token's label, blanks trimmed (for messages). */
  readonly label: string;
  /** Whether the token wants a user login before private key operations. */
  readonly loginRequired: boolean;
  /** The mechanisms the token offers. */
  readonly mechanisms: ReadonlySet<number>;
}

/** The CKR_ name of a pkcs11js error, or undefined when it is not one. */
export function ckrName(e: unknown): string | undefined {
  const m = e instanceof Error ? /\b(CKR_[A-Z_0-9]+)\b/.exec(e.message) : null;
  return m ? m[1] : undefined;
}

/** Translates a PKCS#11 failure into a catalogue error; `doing` says what was attempted. */
export function pkcs11Error(e: unknown, doing: string, hint?: string): OcitrustError {
  if (e instanceof OcitrustError) return e;
  const ckr = ckrName(e);
  const msg = (e as Error)?.message ?? String(e);
  switch (ckr) {
    case 'CKR_PIN_INCORRECT':
    case 'CKR_PIN_INVALID':
    case 'CKR_PIN_LEN_RANGE':
      return new OcitrustError('PKCS11_PIN_INCORRECT', `${doing}: the token refused the PIN (${ckr}); check --pin-file or OCITRUST_PKCS11_PIN`, { cause: e });
    case 'CKR_PIN_LOCKED':
    case 'CKR_PIN_EXPIRED':
      return new OcitrustError('PKCS11_PIN_INCORRECT', `${doing}: the user PIN is locked or expired (${ckr}); the token's security officer must reset it`, { cause: e });
    case 'CKR_MECHANISM_INVALID':
    case 'CKR_MECHANISM_PARAM_INVALID':
    case 'CKR_KEY_FUNCTION_NOT_PERMITTED':
    case 'CKR_KEY_TYPE_INCONSISTENT':
    case 'CKR_DOMAIN_PARAMS_INVALID':
    case 'CKR_CURVE_NOT_SUPPORTED':
    case 'CKR_TEMPLATE_INCONSISTENT':
      return new OcitrustError('PKCS11_MECHANISM_UNSUPPORTED', `${doing}: the token refused (${ckr})${hint ? `; ${hint}` : ''}`, { cause: e });
    case 'CKR_TOKEN_NOT_PRESENT':
    case 'CKR_DEVICE_REMOVED':
    case 'CKR_SLOT_ID_INVALID':
      return new OcitrustError('PKCS11_TOKEN_NOT_FOUND', `${doing}: the token is not present (${ckr}); plug it in`, { cause: e });
    default:
      return new OcitrustError('PKCS11_FAILED', `${doing}: ${ckr ?? msg.split('\n')[0]!.slice(0, 200)}${hint ? ` (${hint})` : ''}`, { cause: e });
  }
}

/** The module path of a URI: its module-path, else OCITRUST_PKCS11_MODULE. @throws PKCS11_MODULE_MISSING */
export function modulePathOf(uri: Pkcs11Uri, env: NodeJS.ProcessEnv = process.env): string {
  if (uri.modulePath) return uri.modulePath;
  const fromEnv = env.OCITRUST_PKCS11_MODULE;
  if (fromEnv && fromEnv.startsWith('/')) return fromEnv;
  throw new OcitrustError(
    'PKCS11_MODULE_MISSING',
    `${uri.uri.slice(0, 200)}: expected a module-path query attribute (e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so) or OCITRUST_PKCS11_MODULE, got neither${uri.moduleName ? ' (module-name is not resolved by ocitrust)' : ''}`,
  );
}

/** Loads and initializes a module once. @throws PKCS11_MODULE_LOAD_FAILED */
async function loadModule(path: string): Promise<{ p: PkcsModule; lib: PKCS11 }> {
  const p = await pkcs11js();
  const have = modules.get(path);
  if (have) return { p, lib: have };
  const lib = new p.PKCS11();
  try {
    lib.load(path);
  } catch (e) {
    throw new OcitrustError('PKCS11_MODULE_LOAD_FAILED', `cannot load the PKCS#11 module ${path}: ${((e as Error).message ?? '').split('\n')[0]!.slice(0, 200)}; check the path (dpkg -L libsofthsm2)`, { cause: e });
  }
  try {
    lib.C_Initialize();
  } catch (e) {
    if (ckrName(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      throw new OcitrustError('PKCS11_MODULE_LOAD_FAILED', `the PKCS#11 module ${path} failed to initialize (${ckrName(e) ?? (e as Error).message}); check its configuration (SoftHSM: SOFTHSM2_CONF and its tokendir)`, { cause: e });
    }
  }
  modules.set(path, lib);
  return { p, lib };
}

const trim = (s: string): string => s.replace(/[\s\u0000]+$/, '');

/**
 * Opens a read-write session on the one present token the URI names.
 * @throws PKCS11_MODULE_MISSING, PKCS11_MODULE_LOAD_FAILED, PKCS11_TOKEN_NOT_FOUND, PKCS11_FAILED
 */
export async function openToken(uri: Pkcs11Uri, env: NodeJS.ProcessEnv = process.env): Promise<TokenSession> {
  const path = modulePathOf(uri, env);
  const { p, lib } = await loadModule(path);
  let slots: Handle[];
  try {
    slots = lib.C_GetSlotList(true);
  } catch (e) {
    throw pkcs11Error(e, `listing the tokens of ${path}`);
  }
  const present: { slot: Handle; label: string }[] = [];
  const matching: { slot: Handle; label: string; flags: number }[] = [];
  for (const slot of slots) {
    let info: Pkcs11Types.TokenInfo;
    try {
      info = lib.C_GetTokenInfo(slot);
    } catch {
      continue; // a slot whose token vanished meanwhile
    }
    const label = trim(info.label);
    present.push({ slot, label });
    const slotId = slot.length >= 4 ? slot.readUInt32LE(0) : -1;
    if (uri.token !== undefined && label !== uri.token) continue;
    if (uri.manufacturer !== undefined && trim(info.manufacturerID) !== uri.manufacturer) continue;
    if (uri.serial !== undefined && trim(info.serialNumber) !== uri.serial) continue;
    if (uri.model !== undefined && trim(info.model) !== uri.model) continue;
    if (uri.slotId !== undefined && slotId !== uri.slotId) continue;
    matching.push({ slot, label, flags: info.flags });
  }
  const names = present.map((t) => JSON.stringify(t.label)).join(', ') || 'none';
  if (matching.length === 0) {
    throw new OcitrustError('PKCS11_TOKEN_NOT_FOUND', `no token present in ${path} matches ${describeToken(uri)}; tokens present: ${names}`);
  }
  if (matching.length > 1) {
    throw new OcitrustError('PKCS11_TOKEN_NOT_FOUND', `${matching.length} tokens in ${path} match ${describeToken(uri)} (${names}); expected exactly one: add token=, serial= or slot-id= to the URI`);
  }
  const { slot, label, flags } = matching[0]!;
  let session: Handle;
  let mechanisms: number[];
  try {
    session = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    mechanisms = lib.C_GetMechanismList(slot);
  } catch (e) {
    throw pkcs11Error(e, `opening a session on token ${JSON.stringify(label)}`);
  }
  return { p, lib, slot, session, label, loginRequired: (flags & p.CKF_LOGIN_REQUIRED) !== 0, mechanisms: new Set(mechanisms) };
}

function describeToken(uri: Pkcs11Uri): string {
  const parts = [
    uri.token !== undefined ? `token=${JSON.stringify(uri.token)}` : '',
    uri.manufacturer !== undefined ? `manufacturer=${JSON.stringify(uri.manufacturer)}` : '',
    uri.serial !== undefined ? `serial=${JSON.stringify(uri.serial)}` : '',
    uri.model !== undefined ? `model=${JSON.stringify(uri.model)}` : '',
    uri.slotId !== undefined ? `slot-id=${uri.slotId}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : 'any token';
}

/** Logs the user in (a token-wide state: once per process). @throws PKCS11_PIN_INCORRECT, PKCS11_FAILED */
export function login(t: TokenSession, pin: string): void {
  try {
    t.lib.C_Login(t.session, t.p.CKU_USER, pin);
  } catch (e) {
    if (ckrName(e) === 'CKR_USER_ALREADY_LOGGED_IN') return;
    throw pkcs11Error(e, `logging in to token ${JSON.stringify(t.label)}`);
  }
}

/** Closes a session that is no longer needed (errors ignored: the token may be gone already). */
export function closeSession(t: TokenSession): void {
  try {
    t.lib.C_CloseSession(t.session);
  } catch {
    /* closed or removed */
  }
}

/** Closes every loaded module (benchmarks and tests that stay in one process). */
export function closeAllModules(): void {
  for (const [path, lib] of modules) {
    try {
      lib.C_Finalize();
    } catch {
      /* already finalized */
    }
    try {
      lib.close();
    } catch {
      /* unloaded */
    }
    modules.delete(path);
  }
}
