// Fuses the vector and keyword (BM25) rankings of a hybrid query into one ranking.

/** One document of a hybrid query, scored on both sides. */
export interface FusionCandidate {
  /** The record id. */
  id: string;
  /**
   * Its vector similarity or distance (see `higherVectorIsBetter`); undefined or non-finite means
   * "no vector signal" and ranks it below every scored candidate on the vector side.
   */
  vectorScore: number | undefined;
  /** Its BM25 score; 0 means it does not match the query text. */
  textScore: number;
  /**
   * Its place in the vector search's own tie order (the engine passes the record's slot): equal vector scores rank in
   * this order, as they do in a vector query. Without it, such ties fall back to id order.
   */
  tieOrder?: number;
}

/** `linear`: weighted sum of min-max normalised scores; `rrf`: weighted reciprocal rank fusion. */
export type FusionMethod = 'linear' | 'rrf';

/** How {@link fuseCandidates} combines the two sides. */
export interface FusionOptions {
  /** Weight of the vector side in [0, 1]; the text side gets 1 − alpha. Validated by the caller. */
  alpha: number;
  method: FusionMethod;
  /** How many fused hits to return at most. */
  limit: number;
  /** RRF rank offset (default 60, as in Cormack et al.); ignored by `linear`. */
  rrfK?: number;
  /** True for similarities (cosine, dot product), false for distances (euclidean). */
  higherVectorIsBetter: boolean;
}

/** One fused hit. */
export interface FusedHit {
  id: string;
  /** The fused score: in [0, 1] for `linear`; a weighted sum of reciprocal ranks for `rrf`. */
  score: number;
}

/** A candidate with its vector score oriented so that higher is always better (-Infinity: none). */
interface Scored {
  id: string;
  vector: number;
  text: number;
  fused: number;
  tieOrder: number;
}

/**
 * Combines vector and text scores of the union of both sides' candidates into one ranking.
 *
 * The caller scores every candidate on both sides, so neither side is missing a value it could have.
 *
 * - `linear`: each side is min-max normalised over the candidate set, `(s − min) / (max − min)`, after
 *   flipping distances so that higher is better; the fused score is `alpha · v + (1 − alpha) · t`.
 *   When a side's values are all equal the ratio is undefined: every value becomes 1 if the side has
 *   a signal (the vector side: any vector score; the text side: a score > 0), otherwise 0. Candidates
 *   without a vector score get v = 0.
 * - `rrf`: `alpha / (rrfK + rank_v) + (1 − alpha) / (rrfK + rank_t)`, with 1-based ordinal ranks within
 *   the candidate set (equal scores ranked by id ascending). A candidate with text score 0 (or no
 *   vector score) has no rank on that side and gets 0 from it.
 *
 * Order: fused score descending, then id ascending. To make the extremes exact rankings rather than
 * near-ties at the mercy of rounding, alpha = 1 breaks fused-score ties by the raw vector score, and
 * alpha = 0 breaks them by the raw text score and then, among candidates with text score 0, by the
 * vector score. So alpha = 1 returns exactly the vector ranking (score, then `tieOrder`, then id) and alpha = 0 exactly
 * the BM25 ranking (score, then id) followed by the non-matching candidates in vector order.
 *
 * @param cands - The candidates; ids should be unique.
 * @param opts - See {@link FusionOptions}; alpha is not validated here.
 * @returns At most `limit` hits, best first.
 */
export function fuseCandidates(cands: FusionCandidate[], opts: FusionOptions): FusedHit[] {
  const limit = Math.floor(opts.limit);
  if (!(limit > 0) || cands.length === 0) return [];
  const { alpha } = opts;

  const scored: Scored[] = cands.map((c) => ({
    id: c.id,
    vector: orientVector(c.vectorScore, opts.higherVectorIsBetter),
    text: c.textScore,
    fused: 0,
    tieOrder: c.tieOrder ?? 0,
  }));

  if (opts.method === 'rrf') fuseRrf(scored, alpha, opts.rrfK ?? 60);
  else fuseLinear(scored, alpha);

  scored.sort((x, y) => {
    if (x.fused !== y.fused) return y.fused - x.fused;
    if (alpha === 1) {
      if (x.vector !== y.vector) return y.vector > x.vector ? 1 : -1;
      if (x.tieOrder !== y.tieOrder) return x.tieOrder - y.tieOrder;
    }
    if (alpha === 0) {
      if (x.text !== y.text) return y.text - x.text;
      if (x.text === 0 && x.vector !== y.vector) return y.vector > x.vector ? 1 : -1;
    }
    return compareIds(x.id, y.id);
  });
  const out: FusedHit[] = [];
  for (let i = 0; i < scored.length && i < limit; i++) out.push({ id: scored[i]!.id, score: scored[i]!.fused });
  return out;
}

/** Higher-is-better vector score; distances are negated, a missing or non-finite score is -Infinity. */
function orientVector(score: number | undefined, higherIsBetter: boolean): number {
  if (score === undefined || !Number.isFinite(score)) return -Infinity;
  return higherIsBetter ? score : -score;
}

function fuseLinear(scored: Scored[], alpha: number): void {
  let vMin = Infinity;
  let vMax = -Infinity;
  let tMin = Infinity;
  let tMax = -Infinity;
  for (const s of scored) {
    if (s.vector !== -Infinity) {
      if (s.vector < vMin) vMin = s.vector;
      if (s.vector > vMax) vMax = s.vector;
    }
    if (s.text < tMin) tMin = s.text;
    if (s.text > tMax) tMax = s.text;
  }
  const vRange = vMax - vMin;
  const tRange = tMax - tMin;
  for (const s of scored) {
    let v = 0;
    if (s.vector !== -Infinity) v = vRange > 0 ? (s.vector - vMin) / vRange : 1;
    const t = tRange > 0 ? (s.text - tMin) / tRange : tMax > 0 ? 1 : 0;
    // Skip the zero-weight side entirely so the extremes are exactly one side's normalised score.
    s.fused = alpha === 1 ? v : alpha === 0 ? t : alpha * v + (1 - alpha) * t;
  }
}

function fuseRrf(scored: Scored[], alpha: number, rrfK: number): void {
  // Ranks live on the objects rather than in an id-keyed map, so duplicate ids cannot share a rank.
  const vRank = new Map<Scored, number>();
  const byVector = scored.filter((s) => s.vector !== -Infinity);
  byVector.sort((x, y) => (x.vector !== y.vector ? (y.vector > x.vector ? 1 : -1) : x.tieOrder - y.tieOrder || compareIds(x.id, y.id)));
  byVector.forEach((s, i) => vRank.set(s, i + 1));

  const tRank = new Map<Scored, number>();
  const byText = scored.filter((s) => s.text > 0);
  byText.sort((x, y) => (x.text !== y.text ? y.text - x.text : compareIds(x.id, y.id)));
  byText.forEach((s, i) => tRank.set(s, i + 1));

  for (const s of scored) {
    const rv = vRank.get(s);
    const rt = tRank.get(s);
    const v = rv === undefined ? 0 : 1 / (rrfK + rv);
    const t = rt === undefined ? 0 : 1 / (rrfK + rt);
    s.fused = alpha === 1 ? v : alpha === 0 ? t : alpha * v + (1 - alpha) * t;
  }
}

/** Code-unit order, as the text index uses; deliberately not locale-dependent so rankings are reproducible. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
