// Seeded random data for tests: the same seed gives the same vectors on every run.
import { mulberry32 } from '../../bench/datasets.js';

/** A seeded generator returning floats in [0, 1) (the benchmarks' mulberry32). */
export const seededRandom = mulberry32;

/** `count` random vectors of `dim` values in [-1, 1). */
export function randomVectors(count: number, dim: number, seed: number): Float32Array[] {
  const rand = seededRandom(seed);
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const v = new Float32Array(dim);
    for (let j = 0; j < dim; j++) v[j] = rand() * 2 - 1;
    out.push(v);
  }
  return out;
}
