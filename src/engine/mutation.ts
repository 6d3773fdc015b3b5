// The mutations that change a store: what the write-ahead log records and what recovery replays, in order.
import type { RecordInput } from './record-validation.js';

/** Metadata as stored: a JSON object (declared here too so this module imports nothing of ours but record inputs). */
type MetadataObject = Record<string, unknown>;

/** One logged change. A batch is one mutation, so it is replayed whole or not at all. */
export type Mutation =
  /** `encoded`: the log record of exactly these records, encoded ahead (by a parse worker), written as it is. */
  | { type: 'upsert'; records: RecordInput[]; encoded?: Buffer }
  | { type: 'delete'; id: string }
  | { type: 'soft_delete'; id: string }
  | { type: 'restore'; id: string }
  /**
   * Records deleted for good together (delete-by-filter): the ids the filter matched when the request ran, so replay
   * removes exactly those, and one log record means all or none of them survive a crash.
   */
  | { type: 'delete_many'; ids: string[] }
  /**
   * A record's metadata and/or text replaced without touching its vector (PATCH). The log holds the values after the
   * merge patch, not the patch: `metadata` undefined = unchanged; `text` undefined = unchanged, null = removed.
   */
  | { type: 'patch'; id: string; metadata?: MetadataObject; text?: string | null }
  /** `keepSoftDeleted`: an automatic compaction, which reclaims garbage but keeps soft-deleted records restorable. */
  | { type: 'compact'; keepSoftDeleted?: boolean };

/**
 * Where mutations are made durable. `write` stores the mutation synchronously (so log order is apply order) and throws
 * a `storage` VecStoreError when it cannot; the promise settles once it is durable under the fsync policy.
 */
export interface Journal {
  write(mutation: Mutation): Promise<void>;
}

/** A journal that keeps nothing (an in-memory store, and tests of the engine alone). */
export const NO_JOURNAL: Journal = { write: () => Promise.resolve() };
