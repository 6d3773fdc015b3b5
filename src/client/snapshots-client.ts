// A collection's named snapshots: create, list, restore. None is retried (a repeated create answers 409 conflict).
import type { HttpTransport } from './http-transport.js';
import type { CreateSnapshotAnswer, RestoreSnapshotAnswer, SnapshotInfo, SnapshotListAnswer } from '../api/schemas.js';

export class SnapshotsClient {
  constructor(private readonly transport: HttpTransport, private readonly prefix: string) {}

  /** Takes a consistent snapshot under `name` (409 `conflict` when the name is taken). */
  create(name: string): Promise<CreateSnapshotAnswer> {
    return this.transport.json({ method: 'POST', path: `${this.prefix}/snapshots`, json: { name }, idempotent: false });
  }

  async list(): Promise<SnapshotInfo[]> {
    const answer = await this.transport.json<SnapshotListAnswer>({ method: 'GET', path: `${this.prefix}/snapshots`, idempotent: true });
    return answer.snapshots;
  }

  /** Replaces the collection's contents with the snapshot's. */
  restore(name: string): Promise<RestoreSnapshotAnswer> {
    return this.transport.json({ method: 'POST', path: `${this.prefix}/snapshots/${encodeURIComponent(name)}/restore`, idempotent: false });
  }
}
