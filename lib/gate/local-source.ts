/**
 * Trust metadata read from the trust server's own storage (no HTTP). One class for every face
 * hosted by a trust server (admission webhooks, verifying proxy, embedded registry): they read
 * the same consistent-snapshot files the server serves at `/v1/collections/…`.
 */
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { metadataFileName, type MetadataFile, type MetadataSource } from '../tuf/source.js';

/** The part of the trust server's storage the gate reads (its TrustService). */
export interface LocalTrustStore {
  /** A versioned file (`version` null: the newest root). @throws COLLECTION_NOT_FOUND, METADATA_NOT_FOUND */
  file(name: string, role: 'root' | 'snapshot' | 'targets', version: number | null): Promise<{ readonly body: Uint8Array }>;
  /** The current timestamp.json. @throws COLLECTION_NOT_FOUND, METADATA_NOT_FOUND */
  timestamp(name: string): Promise<{ readonly body: Uint8Array }>;
}

/**
 * A {@link MetadataSource} over a {@link LocalTrustStore}. "Not there" is `null` (it ends the
 * root walk, TUF 5.3.3); storage that cannot be asked is TUF_SOURCE_UNREACHABLE ("could not
 * decide", never "verification failed").
 */
export class LocalMetadataSource implements MetadataSource {
  readonly description: string;
  readonly #store: LocalTrustStore;
  readonly #collection: string;

  constructor(store: LocalTrustStore, collection: string) {
    this.#store = store;
    this.#collection = collection;
    this.description = `local trust data of ${collection}`;
  }

  async fetch(file: MetadataFile, maxBytes: number): Promise<Uint8Array | null> {
    let body: Uint8Array;
    try {
      body = file.role === 'timestamp' ? (await this.#store.timestamp(this.#collection)).body : (await this.#store.file(this.#collection, file.role, file.version)).body;
    } catch (e) {
      if (isOcitrustError(e, 'COLLECTION_NOT_FOUND') || isOcitrustError(e, 'METADATA_NOT_FOUND')) return null;
      throw new OcitrustError('TUF_SOURCE_UNREACHABLE', `${this.description}: ${metadataFileName(file)}: ${(e as Error).message}`, { cause: e });
    }
    if (body.length > maxBytes) throw new OcitrustError('INPUT_TOO_LARGE', `${this.description}: ${metadataFileName(file)}: expected at most ${maxBytes} bytes, got ${body.length}`);
    return new Uint8Array(body);
  }
}
