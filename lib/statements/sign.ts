import { signEnvelope, type Envelope } from './dsse.js';
import { INTOTO_PAYLOAD_TYPE, statementBytes } from './statement.js';
import type { Signer } from '../keys/signer.js';

/**
 * Signs an in-toto statement (built with `buildSignatureStatement` or `buildStatement`) as a
 * DSSE envelope of payloadType `application/vnd.in-toto+json`, payload = its JCS bytes.
 *
 * @throws CANONICAL_JSON_UNSUPPORTED for non-canonical values; INVALID_ARGUMENT for bad signers.
 */
export function signStatement(statement: Readonly<Record<string, unknown>>, signers: readonly Signer[]): Promise<Envelope> {
  return signEnvelope(INTOTO_PAYLOAD_TYPE, statementBytes(statement), signers);
}
