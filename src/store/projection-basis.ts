// The principal directions of a sample of rows, found by randomized subspace iteration: the basis of row sketches.

/**
 * `m` orthonormal directions (rows of the returned `m × d` matrix) that capture as much of the sample's energy
 * (uncentred second moment, which is what dot products see) as randomized subspace iteration finds. Deterministic
 * for a given sample. Any orthonormal basis keeps the sketch bound exact; a good one makes it tight.
 */
export function principalBasis(sample: Float32Array[], d: number, m: number): Float64Array {
  const l = Math.min(d, m + 8);
  const s = sample.length;
  // Z: d × l, column-major (column c at c * d). A fixed pseudo-random start keeps the basis reproducible.
  let z = new Float64Array(d * l);
  let seed = 0x9e3779b9;
  for (let i = 0; i < z.length; i++) {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    z[i] = seed / 4294967296 - 0.5;
  }
  orthonormalizeColumns(z, d, l);
  const y = new Float64Array(s * l);
  for (let iteration = 0; iteration < 3; iteration++) {
    multiplySample(sample, z, y, d, l);
    const next = new Float64Array(d * l);
    for (let r = 0; r < s; r++) {
      const row = sample[r];
      for (let c = 0; c < l; c++) {
        const w = y[r * l + c];
        if (w === 0) continue;
        const base = c * d;
        for (let i = 0; i < d; i++) next[base + i] += w * row[i];
      }
    }
    z = next;
    orthonormalizeColumns(z, d, l);
  }
  // Rayleigh-Ritz: eigenvectors of (XZ)ᵀ(XZ) order the l directions by the energy they capture.
  multiplySample(sample, z, y, d, l);
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

/** y (s × l) = X (s × d) · Z (d × l, column-major). */
function multiplySample(sample: Float32Array[], z: Float64Array, y: Float64Array, d: number, l: number): void {
  for (let r = 0; r < sample.length; r++) {
    const row = sample[r];
    for (let c = 0; c < l; c++) {
      let acc = 0;
      const base = c * d;
      for (let i = 0; i < d; i++) acc += row[i] * z[base + i];
      y[r * l + c] = acc;
    }
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
