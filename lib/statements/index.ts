/** DSSE envelopes and in-toto statements (DESIGN §4). */
export {
  pae,
  parseEnvelope,
  signEnvelope,
  verifyEnvelope,
  envelopeToJSON,
  serializeEnvelope,
  DEFAULT_ENVELOPE_LIMITS,
  type Envelope,
  type EnvelopeJSON,
  type EnvelopeSignature,
  type EnvelopeLimits,
  type VerifyEnvelopeOptions,
} from './dsse.js';
export {
  STATEMENT_TYPE,
  INTOTO_PAYLOAD_TYPE,
  SIGNATURE_PREDICATE_TYPE,
  buildSignatureStatement,
  buildStatement,
  statementBytes,
  parseStatement,
  type Statement,
  type SignatureStatement,
  type Attestation,
  type StatementSubject,
  type SignaturePredicate,
  type SignatureStatementInput,
} from './statement.js';
export { signStatement } from './sign.js';
