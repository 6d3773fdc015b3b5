// The sketch bound: from a query's and a row's sketches (see src/store/row-sketcher.ts), a lower bound on their rank
// distance. Scans and graph walks skip the full distance of a row the bound proves cannot enter their results.

/**
 * True when the rank distance between the query whose sketch is at `qs[qo..]` and the row whose sketch is at
 * `rs[ro..]` (m projections, then the residual norm, then the squared norm) is certainly above `worst`. The margin
 * covers float32 rounding in the sketches and in simsimd, so no row that could beat `worst` is ever skipped.
 */
export function sketchExceeds(qs: Float64Array, qo: number, rs: Float32Array, ro: number, m: number, negate: boolean, worst: number): boolean {
  // Cauchy-Schwarz: q·r ≤ Pq·Pr + |q − PᵀPq|·|r − PᵀPr|.
  let dotBound = qs[qo + m] * rs[ro + m];
  for (let j = 0; j < m; j++) dotBound += qs[qo + j] * rs[ro + j];
  const squares = qs[qo + m + 1] + rs[ro + m + 1];
  const lower = negate ? -dotBound : squares - 2 * dotBound;
  return lower > worst + 1e-4 * squares;
}
