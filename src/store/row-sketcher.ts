// Row sketches: a row's projection on a few principal directions plus norms, enough to bound its distance to a query.
import { simsimd } from '../distance/simsimd-native.js';
import { principalBasis } from './projection-basis.js';

let nextBasisId = 1;

/** A sketcher's basis as plain data, so another thread (a parse worker) can sketch rows exactly as the store would. */
export interface SketchBasis {
  /** The id of the sketcher it came from: sketches made with it are valid while the store still uses that sketcher. */
  id: number;
  m: number;
  d: number;
  /** The m basis rows, back to back, as float32. */
  rows: Float32Array;
}

/**
 * Projects vectors on an orthonormal basis P (m × d). For any q and r, Cauchy-Schwarz on the part P leaves out gives
 * `q·r ≤ Pq·Pr + |q − PᵀPq|·|r − PᵀPr|`, an exact upper bound on the dot product (and so a lower bound on the squared
 * L2 distance `|q|² + |r|² − 2 q·r`) computed from m + 2 numbers per row instead of d.
 */
export class RowSketcher {
  /** Unique in the process: a segment's header names the basis its sketches were made with. */
  readonly id = nextBasisId++;
  readonly m: number;
  readonly d: number;
  /** The basis rows as float32, so each projection is one simsimd call rather than d JavaScript multiply-adds. */
  private readonly rows: Float32Array[];

  constructor(basis: Float64Array | Float32Array, m: number, d: number) {
    this.m = m;
    this.d = d;
    this.rows = Array.from({ length: m }, (_, j) => Float32Array.from(basis.subarray(j * d, (j + 1) * d)));
  }

  /** This sketcher's basis as plain data (see SketchBasis). */
  basis(): SketchBasis {
    const rows = new Float32Array(this.m * this.d);
    this.rows.forEach((row, j) => rows.set(row, j * this.d));
    return { id: this.id, m: this.m, d: this.d, rows };
  }

  /** A sketcher that sketches exactly as the one `basis` came from (its own id is new; the basis keeps the original). */
  static fromBasis(basis: SketchBasis): RowSketcher {
    return new RowSketcher(basis.rows, basis.m, basis.d);
  }

  /** A sketcher whose basis captures as much of the sample's energy as m directions can. */
  static fromSample(sample: Float32Array[], m: number, d: number): RowSketcher {
    return new RowSketcher(principalBasis(sample, d, m), m, d);
  }

  /** Writes the sketch of `v` (m projections, residual norm, squared norm) into `out` at `offset`. */
  sketch(v: Float32Array, out: Float32Array | Float64Array, offset: number): void {
    const { m, rows } = this;
    const norm2 = simsimd.dot(v, v);
    let projected2 = 0;
    for (let j = 0; j < m; j++) {
      const p = simsimd.dot(rows[j], v);
      out[offset + j] = p;
      projected2 += p * p;
    }
    out[offset + m] = Math.sqrt(Math.max(0, norm2 - projected2));
    out[offset + m + 1] = norm2;
  }
}
