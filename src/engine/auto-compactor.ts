// Background compaction: reclaims the slots left by updates and hard deletes once they pass a share of the used slots.

/** What the auto-compactor reads of a store. */
export interface SlotUsage {
  /** Slots of the current layout in use, garbage included. */
  readonly slotCount: number;
  /** Records held (live and soft-deleted): every other used slot is garbage. */
  readonly recordCount: number;
}

export interface AutoCompactorOptions {
  /** Compact once garbage slots pass this share of the used slots; 0 turns auto-compaction off. */
  ratio: number;
  /** Stores smaller than this are never auto-compacted (their garbage costs little, compacting them often would not). */
  minSlots?: number;
  usage: () => SlotUsage;
  /** Runs one compaction (logged like a manual one). */
  compact: () => Promise<{ removedCount: number; freedBytes: number }>;
  /** Told about each finished (or failed) automatic compaction, for metrics and logs. */
  onCompacted?: (outcome: { removedCount: number; freedBytes: number } | { error: Error }) => void;
}

/**
 * Checked after every write; at most one compaction runs or waits at a time, started on a later turn of the event loop
 * so the write that crossed the threshold is answered first. Compaction swaps in new segments while running scans keep
 * reading the old ones, so queries do not stop.
 */
export class AutoCompactor {
  private readonly options: Required<Omit<AutoCompactorOptions, 'onCompacted'>> & Pick<AutoCompactorOptions, 'onCompacted'>;
  private busy = false;

  constructor(options: AutoCompactorOptions) {
    this.options = { minSlots: 1024, ...options };
  }

  /** Starts a background compaction if garbage passed the threshold and none is running. */
  afterWrite(): void {
    const { ratio, minSlots } = this.options;
    if (ratio <= 0 || this.busy) return;
    const { slotCount, recordCount } = this.options.usage();
    if (slotCount < minSlots || slotCount - recordCount <= ratio * slotCount) return;
    this.busy = true;
    setImmediate(() => {
      this.options
        .compact()
        .then(
          (result) => this.options.onCompacted?.(result),
          (err: Error) => this.options.onCompacted?.({ error: err }),
        )
        .finally(() => {
          this.busy = false;
        });
    });
  }
}
