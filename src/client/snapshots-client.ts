// A collection's named snapshots: create, list, restore, delete, and their files (download, upload) for backups that
// leave the machine and collections that move between servers. Only list and download are retried.
import type { CallOptions, HttpTransport } from './http-transport.js';
import type {
  CreateSnapshotAnswer, DeleteSnapshotAnswer, RestoreSnapshotAnswer, SnapshotInfo, SnapshotListAnswer, UploadSnapshotAnswer,
} from '../api/schemas.js';

/** A snapshot file to upload: bytes, or a Blob (Node's `fs.openAsBlob(path)` is streamed from disk by fetch). */
export type SnapshotFile = Uint8Array | ArrayBuffer | Blob;

export class SnapshotsClient {
  constructor(private readonly transport: HttpTransport, private readonly prefix: string) {}

  /** Takes a consistent snapshot under `name` (409 `conflict` when the name is taken). Not retried. */
  create(name: string, call?: CallOptions): Promise<CreateSnapshotAnswer> {
    return this.transport.json({ method: 'POST', path: `${this.prefix}/snapshots`, json: { name }, idempotent: false, ...call });
  }

  /** Every complete snapshot, oldest first. */
  async list(call?: CallOptions): Promise<SnapshotInfo[]> {
    const answer = await this.transport.json<SnapshotListAnswer>({ method: 'GET', path: `${this.prefix}/snapshots`, idempotent: true, ...call });
    return answer.snapshots;
  }

  /** Replaces the collection's contents with the snapshot's. Not retried. */
  restore(name: string, call?: CallOptions): Promise<RestoreSnapshotAnswer> {
    return this.transport.json({ method: 'POST', path: `${this.snapshotPath(name)}/restore`, idempotent: false, ...call });
  }

  /** Deletes the snapshot's files (404 `not_found` for an unknown name). Not retried: a repeat would be a 404. */
  delete(name: string, call?: CallOptions): Promise<DeleteSnapshotAnswer> {
    return this.transport.json({ method: 'DELETE', path: this.snapshotPath(name), idempotent: false, ...call });
  }

  /** The snapshot as one file (checksummed archive), in memory; the client's `timeoutMs` covers the whole download. */
  download(name: string, call?: CallOptions): Promise<Uint8Array> {
    return this.transport.bytes({ method: 'GET', path: `${this.snapshotPath(name)}/download`, idempotent: true, ...call });
  }

  /**
   * The same file as a stream, for files too large to hold: resolves once the server starts answering (`size` from
   * its exact Content-Length); the deadline does not cover the body. Read it to the end or cancel it.
   */
  downloadStream(name: string, call?: CallOptions): Promise<{ body: ReadableStream<Uint8Array>; size: number | undefined }> {
    return this.transport.stream({ method: 'GET', path: `${this.snapshotPath(name)}/download`, idempotent: true, ...call });
  }

  /**
   * Stores a downloaded snapshot file as snapshot `name` of this collection, after the server has checked it whole
   * (400 `invalid_snapshot` for a damaged or foreign file, 409 `conflict` when the name is taken); `restore(name)`
   * then loads it. Not retried (a repeat after a lost answer would be a 409).
   */
  upload(name: string, file: SnapshotFile, call?: CallOptions): Promise<UploadSnapshotAnswer> {
    return this.transport.json({
      method: 'PUT', path: `${this.snapshotPath(name)}/upload`, bytes: { body: file, contentType: 'application/octet-stream' }, idempotent: false, ...call,
    });
  }

  private snapshotPath(name: string): string {
    return `${this.prefix}/snapshots/${encodeURIComponent(name)}`;
  }
}
