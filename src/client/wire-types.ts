// PROVISIONAL wire types, until src/api/schemas.ts lands: replaced by type-only re-exports of the API's schemas.

export type Metadata = Record<string, unknown>;

export interface UpsertRequest { id: string; vector: number[]; metadata?: Metadata; text?: string }
export interface UpsertAnswer { success: true }
export interface BatchUpsertAnswer { inserted: number; updated: number; errors: Array<{ index: number; id?: string; error: string; code: string }> }

export interface QueryRequest {
  vector: number[];
  limit?: number;
  k?: number;
  filter?: string;
  include_vectors?: boolean;
  include_text?: boolean;
  include_metadata?: boolean;
  score_threshold?: number;
  ef?: number;
  recall?: number;
  exact?: boolean;
}
export interface HybridQueryRequest extends QueryRequest { text_query: string; alpha?: number; fusion?: 'linear' | 'rrf' }
export interface QueryHit { id: string; score: number; metadata?: Metadata; vector?: number[]; text?: string }
export interface QueryAnswer { results: QueryHit[]; stats: Record<string, unknown> }

export interface StoredRecord { id: string; vector: number[]; metadata: Metadata; text?: string; deleted: boolean }
export interface GetManyAnswer { records: StoredRecord[]; missing: string[] }
export interface PatchRequest { metadata?: Metadata; text?: string | null }
export interface PatchAnswer { found: true; updated: true }
export interface DeleteAnswer { found: true; deleted: true }
export interface SoftDeleteAnswer { found: true; marked_deleted: true }
export interface RestoreAnswer { found: true; restored: true }
export interface DeleteByFilterAnswer { deleted_count: number }
export interface CountAnswer { count: number }

export interface ScrollRequest { filter?: string; limit?: number; cursor?: string; include_vectors?: boolean; include_text?: boolean }
export interface ScrolledRecord { id: string; metadata: Metadata; vector?: number[]; text?: string }
export interface ScrollAnswer { records: ScrolledRecord[]; next_cursor: string | null }

export interface CompactAnswer { removed_count: number; freed_bytes: number }
export type StatsAnswer = Record<string, unknown> & { total_vectors: number; active_vectors: number; deleted_vectors: number; dimension: number | null; metric: string };

export interface SnapshotInfo { name: string; created_at: number; size_bytes: number }
export interface CreateSnapshotAnswer { success: true; name: string; path: string }
export interface ListSnapshotsAnswer { snapshots: SnapshotInfo[] }
export interface RestoreSnapshotAnswer { success: true; vectors_restored: number }

export interface CollectionSettings { dimension?: number; metric?: string; index?: 'hnsw' | 'flat'; hnsw?: { m?: number; ef_construction?: number; ef?: number } }
export interface CollectionSummary { name: string; dimension: number | null; metric: string; index: string; active_vectors: number; deleted_vectors: number }
export interface ListCollectionsAnswer { collections: CollectionSummary[] }
export type CollectionInfo = StatsAnswer & { name: string; index: string; hnsw: { m: number; ef_construction: number; ef: number } };
export interface DropCollectionAnswer { deleted: true }
