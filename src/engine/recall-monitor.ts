// Recall a store can promise and the recall it delivers: calibrates breadth → recall on the store's own data, and
// audits a sample of real graph answers against the exact answer, in the background.
import { EF_LADDER, RecallTable, overlap, type SavedRecallTable } from '../index/recall-table.js';

/** One search the monitor asks for: graph (with a breadth) or exact, over the store's current layout. */
export interface MonitorSearch {
  (request: { query: Float32Array; k: number; filter?: SharedArrayBuffer; ef?: number; exact: boolean; skip?: number }): Promise<{ slots: number[]; layoutVersion: number }>;
}

export interface RecallMonitorOptions {
  search: MonitorSearch;
  /** Stored rows to calibrate with when too few real queries were seen: `count` (slot, vector) pairs. */
  sampleRows: (count: number) => Array<{ slot: number; vector: Float32Array }>;
  /** Rows in the graph now. */
  indexedRows: () => number;
  /** Share of graph answers audited (0 turns audits off). */
  sampleRate: number;
  /** Most audits started per second, whatever the traffic. */
  maxAuditsPerSecond: number;
  /** Receives each audit's measured recall@k. */
  onAudit?: (type: 'vector' | 'hybrid', recall: number) => void;
  onCalibrated?: (table: RecallTable) => void;
  onError?: (err: Error) => void;
}

/** Queries per calibration, and how many go to the pool at once (small waves keep user queries from waiting long). */
const CALIBRATION_QUERIES = 100;
const CALIBRATION_WAVE = 8;
const CALIBRATION_K = 10;
/** Recent real queries kept for calibration. */
const RECENT_QUERIES = 256;
/** Audits the estimate averages over. */
const ESTIMATE_WINDOW = 500;
/**
 * Margin over the target when picking a breadth from the table: the table is itself measured on a sample, so a breadth
 * that just reaches the target there may fall just short on other queries.
 */
const TARGET_MARGIN = 0.005;

export class RecallMonitor {
  private readonly options: RecallMonitorOptions;
  private tableValue: RecallTable | undefined;
  private tableFromRealQueries = false;
  private calibrating = false;
  private calibration: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly recent: Float32Array[] = [];
  private recentNext = 0;
  private readonly audits = new Float64Array(ESTIMATE_WINDOW);
  private auditCount = 0;
  private auditsRunning = 0;
  /** Token bucket of audits per second. */
  private tokens: number;
  private tokensAt = Date.now();

  constructor(options: RecallMonitorOptions) {
    this.options = options;
    this.tokens = options.maxAuditsPerSecond;
  }

  get table(): RecallTable | undefined {
    return this.tableValue;
  }

  /** The table as a checkpoint keeps it (undefined before the first calibration). */
  saved(): SavedRecallTable | undefined {
    const table = this.tableValue;
    const source = this.tableSource;
    if (!table || !source) return undefined;
    return { points: table.points, rows: table.rows, samples: table.samples, source };
  }

  /** Takes a table a checkpoint kept: the same rows and graph promise the same recall, so there is nothing to measure. */
  adopt(saved: SavedRecallTable): void {
    if (this.tableValue || !validSavedTable(saved)) return;
    this.tableValue = new RecallTable(saved.points, saved.rows, saved.samples);
    this.tableFromRealQueries = saved.source === 'queries';
  }

  /** What the current table was measured with: stored rows (before 100 real queries were seen) or real queries. */
  get tableSource(): 'rows' | 'queries' | null {
    return this.tableValue === undefined ? null : this.tableFromRealQueries ? 'queries' : 'rows';
  }

  /**
   * The breadth for a recall target and the recall expected there; `exact` when the target is 1 or no measured breadth
   * reaches it; undefined breadth while the store has not been calibrated yet.
   */
  plan(target: number): { ef?: number; expected?: number; exact: boolean } {
    if (target >= 1) return { exact: true, expected: 1 };
    const table = this.tableValue;
    if (!table) return { exact: false };
    const point = table.breadthFor(Math.min(1, target + TARGET_MARGIN));
    if (point.recall < target) return { exact: true, expected: 1 };
    return { ef: point.ef, expected: point.recall, exact: false };
  }

  /** Recall expected at a breadth the query chose itself (undefined before calibration). */
  expectedAt(ef: number): number | undefined {
    return this.tableValue?.expectedAt(ef);
  }

  /** Remembers a real query vector: calibrations prefer the queries users actually send. */
  noteQuery(query: Float32Array): void {
    if (this.recent.length < RECENT_QUERIES) this.recent.push(query);
    else this.recent[this.recentNext] = query;
    this.recentNext = (this.recentNext + 1) % RECENT_QUERIES;
    // The first table was measured on stored rows; once enough real queries were seen, measure again on them.
    if (this.tableValue && !this.tableFromRealQueries && this.recent.length >= CALIBRATION_QUERIES) this.calibrateSoon();
  }

  /** The graph caught up with the writes: (re)calibrate when there is no table or the data grew or shrank by a fifth. */
  indexCaughtUp(): void {
    const table = this.tableValue;
    const rows = this.options.indexedRows();
    if (!table || rows > table.rows * 1.2 || rows < table.rows * 0.8) this.calibrateSoon();
  }

  /** Mean recall of the recent audits, and how many it averages. */
  estimate(): { value: number | null; audits: number } {
    const n = Math.min(this.auditCount, ESTIMATE_WINDOW);
    if (n === 0) return { value: null, audits: 0 };
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.audits[i];
    return { value: sum / n, audits: n };
  }

  /**
   * Maybe audits a graph answer: runs the same query exactly in the background and records the overlap. Never delays
   * the caller; skipped past the rate cap.
   */
  maybeAudit(type: 'vector' | 'hybrid', query: Float32Array, k: number, filter: SharedArrayBuffer | undefined, found: { slots: number[]; layoutVersion: number }): void {
    if (this.closed || this.options.sampleRate <= 0 || Math.random() >= this.options.sampleRate || !this.takeToken()) return;
    this.auditsRunning++;
    setImmediate(() => {
      this.options
        .search({ query, k, filter, exact: true })
        .then((exact) => {
          // Slots of two layouts (a compaction in between) cannot be compared.
          if (exact.layoutVersion !== found.layoutVersion) return;
          const recall = overlap(found.slots.slice(0, k), exact.slots.slice(0, k));
          this.audits[this.auditCount % ESTIMATE_WINDOW] = recall;
          this.auditCount++;
          this.options.onAudit?.(type, recall);
        })
        .catch((err: Error) => this.options.onError?.(err))
        .finally(() => this.auditsRunning--);
    });
  }

  private takeToken(): boolean {
    const now = Date.now();
    const max = this.options.maxAuditsPerSecond;
    this.tokens = Math.min(max, this.tokens + ((now - this.tokensAt) / 1000) * max);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  private calibrateSoon(): void {
    if (this.calibrating || this.closed) return;
    this.calibrating = true;
    this.calibration = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (this.closed ? undefined : this.calibrate()))
      .catch((err: Error) => this.options.onError?.(err))
      .finally(() => {
        this.calibrating = false;
      });
  }

  /** Starts no more work and resolves once the calibration and audits under way have finished (the pool may then close). */
  async close(): Promise<void> {
    this.closed = true;
    await this.calibration;
    while (this.auditsRunning > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /**
   * Measures recall@10 at every breadth of the ladder on a sample of queries: recent real ones when there are enough,
   * otherwise stored rows (each excluded from its own answers, so that finding itself does not count).
   */
  private async calibrate(): Promise<void> {
    const rows = this.options.indexedRows();
    if (rows === 0) return;
    const fromReal = this.recent.length >= CALIBRATION_QUERIES;
    const samples: Array<{ vector: Float32Array; self: number }> = fromReal
      ? this.recent.slice(0, CALIBRATION_QUERIES).map((vector) => ({ vector, self: -1 }))
      : this.options.sampleRows(CALIBRATION_QUERIES).map(({ slot, vector }) => ({ vector, self: slot }));
    if (samples.length === 0) return;
    const k = CALIBRATION_K;
    const ask = k + (fromReal ? 0 : 1);
    const withoutSelf = (slots: number[], self: number) => slots.filter((s) => s !== self).slice(0, k);
    const truth: Array<{ slots: number[]; layoutVersion: number }> = [];
    for (let i = 0; i < samples.length; i += CALIBRATION_WAVE) {
      const wave = samples.slice(i, i + CALIBRATION_WAVE);
      truth.push(...(await Promise.all(wave.map((s) => this.options.search({ query: s.vector, k: ask, exact: true })))));
    }
    const points = [];
    for (const ef of EF_LADDER) {
      if (this.closed) return;
      let sum = 0;
      let counted = 0;
      for (let i = 0; i < samples.length; i += CALIBRATION_WAVE) {
        const wave = samples.slice(i, i + CALIBRATION_WAVE);
        // A stored row walks the graph as if it were not in it: through its own links it would reach its neighbours
        // directly, and the table would promise more than held-out queries get.
        const found = await Promise.all(wave.map((s) => this.options.search({ query: s.vector, k: ask, ef: Math.max(ef, ask), exact: false, ...(s.self >= 0 ? { skip: s.self } : {}) })));
        found.forEach((f, j) => {
          const t = truth[i + j];
          if (f.layoutVersion !== t.layoutVersion) return;
          sum += overlap(withoutSelf(f.slots, wave[j].self), withoutSelf(t.slots, wave[j].self));
          counted++;
        });
      }
      if (counted > 0) points.push({ ef, recall: sum / counted });
      // Past a breadth that finds everything, wider ones cost more and cannot find more.
      if (counted > 0 && sum === counted) break;
    }
    if (points.length === 0) return;
    this.tableValue = new RecallTable(points, rows, samples.length);
    this.tableFromRealQueries = fromReal;
    this.options.onCalibrated?.(this.tableValue);
  }
}

/** A saved table is only advice: one that is not a list of sensible points (a damaged or foreign file) is ignored. */
function validSavedTable(saved: SavedRecallTable): boolean {
  return (
    Array.isArray(saved.points) &&
    saved.points.length > 0 &&
    saved.points.every((p) => Number.isInteger(p?.ef) && p.ef > 0 && typeof p.recall === 'number' && p.recall >= 0 && p.recall <= 1) &&
    Number.isInteger(saved.rows) &&
    Number.isInteger(saved.samples)
  );
}
