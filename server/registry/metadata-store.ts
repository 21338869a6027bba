/**
 * The registry's rows in the shared database: repositories, blob links, manifests with their
 * referrers fields, tags and upload sessions. Writes that race (the same blob, manifest or tag
 * pushed concurrently) are idempotent upserts, so every racer succeeds and the state is one of
 * theirs, never a mix.
 */
import { OcitrustError } from '../../lib/errors/index.js';
import type { Db, Queryable } from '../storage/index.js';

/** A stored manifest. */
export interface ManifestRow {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly content: Buffer;
  readonly artifactType: string | null;
  readonly subject: string | null;
}

/** What is stored for a new manifest. */
export interface NewManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly content: Uint8Array;
  readonly artifactType: string | undefined;
  readonly subject: string | undefined;
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

/** A referrer as listed by the referrers API. */
export interface ReferrerRow {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | null;
  readonly annotations: string | null;
}

/** An upload session. */
export interface UploadRow {
  readonly id: string;
  readonly repository: string;
  readonly size: number;
  readonly updatedAt: number;
  /** Set once a finishing PUT verified the bytes: the session is finished as this blob. */
  readonly digest?: string;
}

/** Tag condition of a manifest push (HTTP If-Match / If-None-Match on the tag's ETag). */
export type TagCondition = { readonly ifMatch: string } | { readonly ifNoneMatch: '*' } | undefined;

// IN lists are bound in chunks so that huge manifests never exceed parameter limits.
const IN_CHUNK = 500;

function placeholders(from: number, n: number): string {
  return Array.from({ length: n }, (_, i) => `$${from + i}`).join(', ');
}

/** SQL access for the embedded registry. */
export class MetadataStore {
  constructor(private readonly db: Db) {}

  private async ensureRepository(q: Queryable, name: string, now: number): Promise<void> {
    await q.exec('INSERT INTO registry_repositories (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, now]);
  }

  /** True when the repository exists (something was pushed to it). */
  async repositoryExists(name: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM registry_repositories WHERE name = $1', [name])).length > 0;
  }

  /** Links a verified blob into a repository (idempotent). */
  async linkBlob(repository: string, digest: string, size: number): Promise<void> {
    const now = Date.now();
    await this.db.transaction(async (tx) => {
      await this.ensureRepository(tx, repository, now);
      await tx.exec(
        'INSERT INTO registry_blobs (repository, digest, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (repository, digest) DO NOTHING',
        [repository, digest, size, now],
      );
    });
  }

  /** Size of a blob linked into `repository`, or undefined. */
  async blobSize(repository: string, digest: string): Promise<number | undefined> {
    const rows = await this.db.query<{ size: number }>('SELECT size FROM registry_blobs WHERE repository = $1 AND digest = $2', [repository, digest]);
    return rows[0]?.size;
  }

  /** Sizes of those `digests` that are linked into `repository`. */
  async blobSizes(repository: string, digests: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const unique = [...new Set(digests)];
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const part = unique.slice(i, i + IN_CHUNK);
      const rows = await this.db.query<{ digest: string; size: number }>(
        `SELECT digest, size FROM registry_blobs WHERE repository = $1 AND digest IN (${placeholders(2, part.length)})`,
        [repository, ...part],
      );
      for (const r of rows) out.set(r.digest, r.size);
    }
    return out;
  }

  /** Removes a blob link; false when there was none. */
  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    return (await this.db.exec('DELETE FROM registry_blobs WHERE repository = $1 AND digest = $2', [repository, digest])).changes > 0;
  }

  /** Sizes of those manifest `digests` stored in `repository`. */
  async manifestSizes(repository: string, digests: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const unique = [...new Set(digests)];
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const part = unique.slice(i, i + IN_CHUNK);
      const rows = await this.db.query<{ digest: string; size: number }>(
        `SELECT digest, size FROM registry_manifests WHERE repository = $1 AND digest IN (${placeholders(2, part.length)})`,
        [repository, ...part],
      );
      for (const r of rows) out.set(r.digest, r.size);
    }
    return out;
  }

  /**
   * Stores a manifest (idempotent) and, when `tag` is given, points the tag at it, honouring
   * `cond` atomically with the write.
   * @throws OcitrustError DIST_PRECONDITION_FAILED when `cond` does not hold
   */
  async putManifest(repository: string, m: NewManifest, tag: string | undefined, cond: TagCondition, onStored?: (tx: Queryable) => Promise<void>): Promise<void> {
    const now = Date.now();
    await this.db.transaction(async (tx) => {
      await this.ensureRepository(tx, repository, now);
      const inserted = await tx.exec(
        `INSERT INTO registry_manifests (repository, digest, media_type, size, content, artifact_type, subject, annotations, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (repository, digest) DO NOTHING`,
        [
          repository,
          m.digest,
          m.mediaType,
          m.content.length,
          m.content,
          m.artifactType ?? null,
          m.subject ?? null,
          m.annotations && Object.keys(m.annotations).length > 0 ? JSON.stringify(m.annotations) : null,
          now,
        ],
      );
      // Only a manifest new to the repository is news (webhook events commit with it).
      if (inserted.changes > 0 && onStored) await onStored(tx);
      if (tag === undefined) return;
      if (cond && 'ifMatch' in cond) {
        // If-Match: * only needs the tag to exist; otherwise it must still point at the given digest.
        const r =
          cond.ifMatch === '*'
            ? await tx.exec('UPDATE registry_tags SET digest = $1, updated_at = $2 WHERE repository = $3 AND tag = $4', [m.digest, now, repository, tag])
            : await tx.exec('UPDATE registry_tags SET digest = $1, updated_at = $2 WHERE repository = $3 AND tag = $4 AND digest = $5', [
                m.digest,
                now,
                repository,
                tag,
                cond.ifMatch,
              ]);
        if (r.changes === 0) throw new OcitrustError('DIST_PRECONDITION_FAILED', `tag ${tag} does not point at ${cond.ifMatch} any more`);
        return;
      }
      if (cond && 'ifNoneMatch' in cond) {
        const r = await tx.exec(
          'INSERT INTO registry_tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (repository, tag) DO NOTHING',
          [repository, tag, m.digest, now],
        );
        if (r.changes === 0) throw new OcitrustError('DIST_PRECONDITION_FAILED', `tag ${tag} already exists`);
        return;
      }
      await tx.exec(
        `INSERT INTO registry_tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
        [repository, tag, m.digest, now],
      );
    });
  }

  /** The manifest `digest` of `repository`, or undefined. */
  async getManifest(repository: string, digest: string): Promise<ManifestRow | undefined> {
    const rows = await this.db.query<{ digest: string; media_type: string; size: number; content: Buffer; artifact_type: string | null; subject: string | null }>(
      'SELECT digest, media_type, size, content, artifact_type, subject FROM registry_manifests WHERE repository = $1 AND digest = $2',
      [repository, digest],
    );
    const r = rows[0];
    if (!r) return undefined;
    return { digest: r.digest, mediaType: r.media_type, size: r.size, content: r.content, artifactType: r.artifact_type, subject: r.subject };
  }

  /** The digest `tag` points at, or undefined. */
  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const rows = await this.db.query<{ digest: string }>('SELECT digest FROM registry_tags WHERE repository = $1 AND tag = $2', [repository, tag]);
    return rows[0]?.digest;
  }

  /** Deletes a manifest and every tag pointing at it; false when it did not exist. */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.exec('DELETE FROM registry_tags WHERE repository = $1 AND digest = $2', [repository, digest]);
      return (await tx.exec('DELETE FROM registry_manifests WHERE repository = $1 AND digest = $2', [repository, digest])).changes > 0;
    });
  }

  /** Deletes a tag; false when it did not exist. */
  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return (await this.db.exec('DELETE FROM registry_tags WHERE repository = $1 AND tag = $2', [repository, tag])).changes > 0;
  }

  /** Up to `n` tags after `last`, in byte order. */
  async listTags(repository: string, n: number, last: string | undefined): Promise<string[]> {
    const rows =
      last === undefined
        ? await this.db.query<{ tag: string }>('SELECT tag FROM registry_tags WHERE repository = $1 ORDER BY tag LIMIT $2', [repository, n])
        : await this.db.query<{ tag: string }>('SELECT tag FROM registry_tags WHERE repository = $1 AND tag > $2 ORDER BY tag LIMIT $3', [
            repository,
            last,
            n,
          ]);
    return rows.map((r) => r.tag);
  }

  /** Up to `n` repository names after `last`, in byte order. */
  async listRepositories(n: number, last: string | undefined): Promise<string[]> {
    const rows =
      last === undefined
        ? await this.db.query<{ name: string }>('SELECT name FROM registry_repositories ORDER BY name LIMIT $1', [n])
        : await this.db.query<{ name: string }>('SELECT name FROM registry_repositories WHERE name > $1 ORDER BY name LIMIT $2', [last, n]);
    return rows.map((r) => r.name);
  }

  /** Up to `n` manifests of `repository` whose subject is `subject`, after digest `last`, by digest. */
  async referrers(repository: string, subject: string, artifactType: string | undefined, n: number, last: string | undefined): Promise<ReferrerRow[]> {
    const params: (string | number)[] = [repository, subject];
    let sql = 'SELECT digest, media_type, size, artifact_type, annotations FROM registry_manifests WHERE repository = $1 AND subject = $2';
    if (artifactType !== undefined) {
      params.push(artifactType);
      sql += ` AND artifact_type = $${params.length}`;
    }
    if (last !== undefined) {
      params.push(last);
      sql += ` AND digest > $${params.length}`;
    }
    params.push(n);
    sql += ` ORDER BY digest LIMIT $${params.length}`;
    const rows = await this.db.query<{ digest: string; media_type: string; size: number; artifact_type: string | null; annotations: string | null }>(sql, params);
    return rows.map((r) => ({ digest: r.digest, mediaType: r.media_type, size: r.size, artifactType: r.artifact_type, annotations: r.annotations }));
  }

  /** Records a new upload session. */
  async createUpload(id: string, repository: string): Promise<void> {
    const now = Date.now();
    await this.db.exec('INSERT INTO registry_uploads (id, repository, size, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)', [id, repository, now]);
  }

  /** The upload session `id`, or undefined. */
  async getUpload(id: string): Promise<UploadRow | undefined> {
    const rows = await this.db.query<{ id: string; repository: string; size: number; updated_at: number; digest: string | null }>(
      'SELECT id, repository, size, updated_at, digest FROM registry_uploads WHERE id = $1',
      [id],
    );
    const r = rows[0];
    return r ? { id: r.id, repository: r.repository, size: Number(r.size), updatedAt: Number(r.updated_at), ...(r.digest !== null && r.digest !== undefined ? { digest: r.digest } : {}) } : undefined;
  }

  /**
   * Marks an open upload at `from` bytes as finished: `size` bytes that hash to `digest`.
   * False when another request moved or finished it first.
   */
  async sealUpload(id: string, from: number, size: number, digest: string): Promise<boolean> {
    const r = await this.db.exec('UPDATE registry_uploads SET size = $1, digest = $2, updated_at = $3 WHERE id = $4 AND size = $5 AND digest IS NULL', [
      size,
      digest,
      Date.now(),
      id,
      from,
    ]);
    return r.changes > 0;
  }

  /** Moves an open upload from `from` to `to` bytes; false when another writer moved (or finished) it first. */
  async advanceUpload(id: string, from: number, to: number): Promise<boolean> {
    const r = await this.db.exec('UPDATE registry_uploads SET size = $1, updated_at = $2 WHERE id = $3 AND size = $4 AND digest IS NULL', [to, Date.now(), id, from]);
    return r.changes > 0;
  }

  /** Forgets an upload session; false when it was already gone. */
  async deleteUpload(id: string): Promise<boolean> {
    return (await this.db.exec('DELETE FROM registry_uploads WHERE id = $1', [id])).changes > 0;
  }

  /** Number of open upload sessions (finished ones, kept for retried PUTs, do not count). */
  async countUploads(): Promise<number> {
    const rows = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM registry_uploads WHERE digest IS NULL');
    return Number(rows[0]?.n ?? 0);
  }

  /** Ids of upload sessions untouched since `before` (epoch ms). */
  async staleUploads(before: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM registry_uploads WHERE updated_at < $1 LIMIT 1000', [before]);
    return rows.map((r) => r.id);
  }
}
