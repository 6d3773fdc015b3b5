// Loads simsimd's native binding directly (never its silent JavaScript fallback) so callers skip a wrapper call per pair.
import { createRequire } from 'node:module';
import path from 'node:path';

type PairFn = (a: Float32Array, b: Float32Array) => number;

/** The three simsimd kernels VecStore uses. */
export interface SimsimdKernels {
  dot: PairFn;
  sqeuclidean: PairFn;
  cosine: PairFn;
}

const require = createRequire(import.meta.url);

function loadNative(): { kernels: SimsimdKernels; native: boolean } {
  // simsimd's entry point swallows a load failure and returns a slow fallback; load its prebuilt binary ourselves
  // so that a missing native module is visible (and reported by `simsimdIsNative`).
  const entry = require.resolve('simsimd');
  const root = path.resolve(path.dirname(entry), '..', '..', '..');
  try {
    const build = require('node-gyp-build') as (dir: string) => SimsimdKernels;
    const binding = build(root);
    return { kernels: { dot: binding.dot, sqeuclidean: binding.sqeuclidean, cosine: binding.cosine }, native: true };
  } catch (err) {
    process.emitWarning(`simsimd native module did not load (${(err as Error).message}); using the slow JavaScript kernels`);
    const fallback = require('simsimd') as SimsimdKernels;
    return { kernels: fallback, native: false };
  }
}

const loaded = loadNative();

/** The simsimd kernels: native SIMD when the prebuilt binary loads. */
export const simsimd: SimsimdKernels = loaded.kernels;

/** True when the native simsimd binary is in use (tests assert it). */
export const simsimdIsNative: boolean = loaded.native;
