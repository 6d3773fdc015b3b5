// Benchmark data: the vector file readers (re-exported from src/io) and a seeded synthetic generator.
import type { Dataset } from '../src/io/vector-files.js';

export {
  DatasetError,
  readBvecs,
  readFvecs,
  readGroundTruthIds,
  readIvecs,
  readNpy,
  readNpyInt,
  readVectors,
  type Dataset,
  type IntMatrix,
  type ReadOptions,
} from '../src/io/vector-files.js';

/**
 * mulberry32: a tiny, fast 32-bit PRNG. Good enough for benchmark data and, unlike Math.random, reproducible from a seed.
 * Returns floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box–Muller from a uniform source. */
function gaussian(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = rand(); // log(0) would be -Infinity
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** How synthetic vectors are drawn. */
export interface SyntheticOptions {
  count: number;
  dim: number;
  seed: number;
  /** Component distribution: standard normal (default) or uniform in [-1, 1). */
  distribution?: 'gaussian' | 'uniform';
  /**
   * When > 0, vectors are drawn around this many centres (drawn from `distribution`), with per-component noise of
   * `clusterSpread` standard deviations; real embeddings are clustered, i.i.d. data is the worst case for pruning.
   */
  clusters?: number;
  /** Noise around a centre, relative to the centre distribution (default 0.3). */
  clusterSpread?: number;
  /**
   * When > 0, vectors lie near a random `latentDim`-dimensional subspace: latent points (clustered if `clusters` > 0)
   * mapped by a fixed random linear map, plus isotropic noise of `noise`. Real embeddings have a low intrinsic
   * dimension; i.i.d. components in hundreds of dimensions make all neighbours nearly equidistant, which no real
   * dataset does (approximate indexes then fail and neighbours mean little).
   */
  latentDim?: number;
  /** Isotropic noise added to latent-model vectors (default 0.05, relative to unit-variance components). */
  noise?: number;
  /**
   * Independent stream of the same distribution: base vectors use stream 0, queries stream 1. Centres depend only on
   * `seed`, so queries land near the same clusters as the base.
   */
  stream?: number;
}

/** Generates a reproducible synthetic dataset: same options, same bytes. */
export function syntheticDataset(options: SyntheticOptions): Dataset {
  const { count, dim, seed } = options;
  const distribution = options.distribution ?? 'gaussian';
  const clusters = options.clusters ?? 0;
  const spread = options.clusterSpread ?? 0.3;
  const stream = options.stream ?? 0;
  const sampler = (rand: () => number): (() => number) =>
    distribution === 'gaussian' ? gaussian(rand) : () => rand() * 2 - 1;
  // Mix the stream into the seed so streams do not overlap (golden-ratio increment, then a 32-bit hash step).
  const pointRand = mulberry32(Math.imul((seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0, 0x85ebca6b) ^ stream);
  const draw = sampler(pointRand);
  const latentDim = options.latentDim ?? 0;
  if (latentDim > 0) {
    // Draw the latent points with this same function (same seed and stream), then project them.
    const latent = syntheticDataset({ ...options, dim: latentDim, latentDim: 0 });
    const mapRand = gaussian(mulberry32(seed ^ 0x27d4eb2f));
    // Scaled so each output component has about unit variance, like the i.i.d. case.
    const scale = 1 / Math.sqrt(latentDim * (clusters > 0 ? 1 + spread * spread : 1));
    const map = new Float32Array(dim * latentDim);
    for (let i = 0; i < map.length; i++) map[i] = mapRand() * scale;
    const noiseLevel = options.noise ?? 0.05;
    const noise = gaussian(mulberry32(Math.imul(seed + 0x3c6ef372, stream + 7) >>> 0));
    const out = new Float32Array(count * dim);
    for (let r = 0; r < count; r++) {
      const z = latent.data.subarray(r * latentDim, (r + 1) * latentDim);
      for (let j = 0; j < dim; j++) {
        let acc = 0;
        const m = j * latentDim;
        for (let t = 0; t < latentDim; t++) acc += map[m + t] * z[t];
        out[r * dim + j] = acc + noiseLevel * noise();
      }
    }
    return { dim, count, data: out };
  }
  const data = new Float32Array(count * dim);
  if (clusters > 0) {
    const centreDraw = sampler(mulberry32(seed ^ 0x5bd1e995));
    const centres = new Float32Array(clusters * dim);
    for (let i = 0; i < centres.length; i++) centres[i] = centreDraw();
    const noise = gaussian(pointRand);
    for (let r = 0; r < count; r++) {
      const c = Math.floor(pointRand() * clusters) * dim;
      for (let j = 0; j < dim; j++) data[r * dim + j] = centres[c + j] + spread * noise();
    }
  } else {
    for (let i = 0; i < data.length; i++) data[i] = draw();
  }
  return { dim, count, data };
}

/** Row `i` of a dataset as a view (no copy). */
export function rowOf(ds: Dataset, i: number): Float32Array {
  return ds.data.subarray(i * ds.dim, (i + 1) * ds.dim);
}
