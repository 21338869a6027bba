import type { CodeSpec } from './spec.js';
import { coreCodes } from './codes/core.js';
import { cryptoCodes } from './codes/crypto.js';
import { keysCodes } from './codes/keys.js';
import { signersCodes } from './codes/signers.js';
import { metadataCodes } from './codes/metadata.js';
import { tufCodes } from './codes/tuf.js';
import { notaryCodes } from './codes/notary.js';
import { statementsCodes } from './codes/statements.js';
import { verifyCodes } from './codes/verify.js';
import { policyCodes } from './codes/policy.js';
import { ociCodes } from './codes/oci.js';
import { registryCodes } from './codes/registry.js';
import { serverCodes } from './codes/server.js';
import { cliCodes } from './codes/cli.js';
import { hookCodes } from './codes/hook.js';
import { webhooksCodes } from './codes/webhooks.js';
import { sigstoreCodes } from './codes/sigstore.js';
import { notationCodes } from './codes/notation.js';
import { airgapCodes } from './codes/airgap.js';

/** Every area's table, in the order docs/errors.md lists them. */
export const AREAS = {
  core: coreCodes,
  crypto: cryptoCodes,
  keys: keysCodes,
  signers: signersCodes,
  metadata: metadataCodes,
  tuf: tufCodes,
  notary: notaryCodes,
  statements: statementsCodes,
  verify: verifyCodes,
  policy: policyCodes,
  oci: ociCodes,
  registry: registryCodes,
  server: serverCodes,
  cli: cliCodes,
  hook: hookCodes,
  webhooks: webhooksCodes,
  sigstore: sigstoreCodes,
  notation: notationCodes,
  airgap: airgapCodes,
} as const;

type Areas = typeof AREAS;
/** Every stable error code ocitrust can produce. */
export type ErrorCode = { [A in keyof Areas]: keyof Areas[A] }[keyof Areas] & string;

const all: Record<string, CodeSpec> = {};
for (const table of Object.values(AREAS)) Object.assign(all, table);
/** The merged catalogue, code → spec. */
export const CATALOGUE: Readonly<Record<ErrorCode, CodeSpec>> = Object.freeze(all) as Record<ErrorCode, CodeSpec>;
