// The principal directions of a sample of rows, found by randomized subspace iteration: the basis of row sketches.
import { simsimd } from '../distance/simsimd-native.js';

/**
 * `m` orthonormal directions (rows of the returned `m × d` matrix) that capture as much of the sample's energy
 * (uncentred second moment, which is what dot products see) as randomized subspace iteration finds. Deterministic
 * for a given sample. Any orthonormal basis keeps the sketch bound exact; a good one makes it tight.
 */
export function principalBasis(sample: Float32Array[], d: number, m: number): Float64Array {
  const l = Math.min(d, m + 8);
  const s = sample.length;
  // Z: d × l, column-major (column c at c * d). A fixed pseudo-random start keeps the basis reproducible.
  let z: Float64Array = new Float64Array(d * l);
  let seed = 0x9e3779b9;
  for (let i = 0; i < z.length; i++) {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    z[i] = seed / 4294967296 - 0.5;
  }
  orthonormalizeColumns(z, d, l);
  // The products with the sample (all but a few percent of the work: ~200 M multiply-adds at 1,024 × 768) run as
  // simsimd dot products on float32 copies, summed in double: ~10× faster than JavaScript loops, and this runs on
  // the front thread when a collection reaches 1,024 rows. The iteration only needs good directions; orthonormality
  // and the Rayleigh-Ritz step stay in float64.
  const products = new SampleProducts(sample, d, l);
  const y = new Float64Array(s * l);
  for (let iteration = 0; iteration < 3; iteration++) {
    products.times(z, y);
    z = products.transposeTimes(y);
    orthonormalizeColumns(z, d, l);
  }
  // Rayleigh-Ritz: eigenvectors of (XZ)ᵀ(XZ) order the l directions by the energy they capture.
  products.times(z, y);
  const gram = new Float64Array(l * l);
  for (let r = 0; r < s; r++) {
    for (let a = 0; a < l; a++) {
      const ya = y[r * l + a];
      for (let b = a; b < l; b++) gram[a * l + b] += ya * y[r * l + b];
    }
  }
  for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) gram[a * l + b] = gram[b * l + a];
  const { values, vectors } = symmetricEigen(gram, l);
  const order = [...values.keys()].sort((a, b) => values[b] - values[a]).slice(0, m);
  const basis = new Float64Array(m * d);
  order.forEach((e, out) => {
    for (let c = 0; c < l; c++) {
      const w = vectors[c * l + e];
      for (let i = 0; i < d; i++) basis[out * d + i] += w * z[c * d + i];
    }
  });
  orthonormalizeRows(basis, m, d);
  return basis;
}

/** X (s × d, the sample) times a d × l matrix and Xᵀ times an s × l one, as simsimd dot products over float32 views. */
class SampleProducts {
  /** Xᵀ row by row (row i: the sample's component i), for Xᵀ·Y. */
  private readonly columns: Float32Array[];
  /** Float32 copies of the current Z's columns and of Y's columns, reused between iterations. */
  private readonly z32: Float32Array[];
  private readonly y32: Float32Array[];

  constructor(private readonly sample: Float32Array[], private readonly d: number, private readonly l: number) {
    const s = sample.length;
    const transposed = new Float32Array(d * s);
    for (let r = 0; r < s; r++) {
      const row = sample[r];
      for (let i = 0; i < d; i++) transposed[i * s + r] = row[i];
    }
    this.columns = Array.from({ length: d }, (_, i) => transposed.subarray(i * s, (i + 1) * s));
    this.z32 = Array.from({ length: l }, () => new Float32Array(d));
    this.y32 = Array.from({ length: l }, () => new Float32Array(s));
  }

  /** y (s × l, row-major) = X · Z (d × l, column-major). */
  times(z: Float64Array, y: Float64Array): void {
    const { d, l, sample, z32 } = this;
    for (let c = 0; c < l; c++) z32[c].set(z.subarray(c * d, (c + 1) * d));
    for (let r = 0; r < sample.length; r++) {
      const row = sample[r];
      for (let c = 0; c < l; c++) y[r * l + c] = simsimd.dot(row, z32[c]);
    }
  }

  /** Xᵀ · y as a new d × l column-major matrix. */
  transposeTimes(y: Float64Array): Float64Array {
    const { d, l, columns, y32 } = this;
    const s = this.sample.length;
    for (let c = 0; c < l; c++) for (let r = 0; r < s; r++) y32[c][r] = y[r * l + c];
    const out = new Float64Array(d * l);
    for (let c = 0; c < l; c++) {
      const yc = y32[c];
      for (let i = 0; i < d; i++) out[c * d + i] = simsimd.dot(columns[i], yc);
    }
    return out;
  }
}

/** Modified Gram-Schmidt on the l columns (each d long) of a column-major matrix; a degenerate column becomes 0. */
function orthonormalizeColumns(z: Float64Array, d: number, l: number): void {
  for (let c = 0; c < l; c++) {
    const cb = c * d;
    for (let p = 0; p < c; p++) {
      const pb = p * d;
      let dot = 0;
      for (let i = 0; i < d; i++) dot += z[cb + i] * z[pb + i];
      for (let i = 0; i < d; i++) z[cb + i] -= dot * z[pb + i];
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += z[cb + i] * z[cb + i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < d; i++) z[cb + i] = norm > 1e-12 ? z[cb + i] / norm : 0;
  }
}

/** The same for the rows of a row-major m × d matrix (rows and columns of the same memory layout). */
function orthonormalizeRows(basis: Float64Array, m: number, d: number): void {
  orthonormalizeColumns(basis, d, m);
}

/** Cyclic Jacobi eigen-decomposition of a small symmetric matrix: eigenvalues and eigenvectors (column e at [i*n+e]). */
function symmetricEigen(matrix: Float64Array, n: number): { values: number[]; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(a[i * n + i]);
  return { values, vectors: v };
}
