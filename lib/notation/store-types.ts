/**
 * The names of Notation's trust store types and store folders (trust-store-trust-policy.md
 * "Trust store"), apart from the certificate parsing in truststore.ts: the scheme lists a
 * store's files for the policy revision without loading the X.509 parser.
 */

/** The store types of the spec. */
export type StoreType = 'ca' | 'signingAuthority' | 'tsa';
export const STORE_TYPES: readonly StoreType[] = ['ca', 'signingAuthority', 'tsa'];

/** Store names: what notation accepts (letters, digits, `_`, `.`, `-`). */
export const STORE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
