// Seeded random data for tests: the same seed gives the same vectors on every run.

/** A mulberry32 generator returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
