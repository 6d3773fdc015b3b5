// What recall a graph search gives at each breadth on one store's data, measured there, and the breadth for a target.

/** One measured point: searching with breadth `ef` found this share of the true top k. */
export interface RecallPoint {
  ef: number;
  recall: number;
}

/** A recall table as a checkpoint keeps it (so a restart promises the same recall without measuring again). */
export interface SavedRecallTable {
  points: RecallPoint[];
  rows: number;
  samples: number;
  /** What it was measured with: stored rows or real queries. */
  source: 'rows' | 'queries';
}

/** Breadths the calibration measures, from cheap to thorough. */
export const EF_LADDER = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];

/**
 * A breadth → recall table. Measured recall can dip as the breadth grows (sampling noise); the table keeps the
 * running maximum, so a wider search never promises less.
 */
export class RecallTable {
  readonly points: RecallPoint[];
  /** Rows in the graph when the table was measured. */
  readonly rows: number;
  readonly measuredAt: number;
  /** Queries the measurement used. */
  readonly samples: number;

  constructor(points: RecallPoint[], rows: number, samples: number) {
    const sorted = [...points].sort((a, b) => a.ef - b.ef);
    let best = 0;
    this.points = sorted.map((p) => ({ ef: p.ef, recall: (best = Math.max(best, p.recall)) }));
    this.rows = rows;
    this.samples = samples;
    this.measuredAt = Date.now();
  }

  /**
   * The smallest measured breadth whose recall reaches `target`, and the recall expected there; the widest breadth
   * (with what it reached) when none does.
   */
  breadthFor(target: number): RecallPoint {
    for (const p of this.points) if (p.recall >= target) return p;
    return this.points[this.points.length - 1];
  }

  /** Recall expected at breadth `ef` (linear between measured breadths; flat past the ends). */
  expectedAt(ef: number): number {
    const pts = this.points;
    if (ef <= pts[0].ef) return pts[0].recall;
    for (let i = 1; i < pts.length; i++) {
      if (ef <= pts[i].ef) {
        const a = pts[i - 1];
        const b = pts[i];
        return a.recall + ((b.recall - a.recall) * (ef - a.ef)) / (b.ef - a.ef);
      }
    }
    return pts[pts.length - 1].recall;
  }
}

/** Share of `truth` (the exact top k) found in `found`, each a list of slots; 1 when there is nothing to find. */
export function overlap(found: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (truth.length === 0) return 1;
  const want = new Set<number>();
  for (let i = 0; i < truth.length; i++) want.add(truth[i]);
  let hit = 0;
  for (let i = 0; i < found.length; i++) if (want.has(found[i])) hit++;
  return hit / truth.length;
}
