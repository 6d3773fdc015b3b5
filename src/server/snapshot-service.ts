// What the HTTP API needs from the durability layer for named snapshots.

/** Named, consistent, restorable copies of the whole store. */
export interface SnapshotService {
  createSnapshot(name: string): Promise<{ name: string; path: string }>;
  listSnapshots(): Promise<Array<{ name: string; created_at: number; size_bytes: number }>>;
  restoreSnapshot(name: string): Promise<{ vectors_restored: number }>;
}
