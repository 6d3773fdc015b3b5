// Plain JavaScript reference distances, used by tests and benchmarks to check and compare the simsimd kernels.
import type { MetricName } from './metric.js';

/** Rank distance (lower is better) computed in float64 with a plain loop. */
export function referenceRankDistance(metric: MetricName, a: Float32Array, b: Float32Array): number {
  let acc = 0;
  if (metric === 'euclidean') {
    for (let i = 0; i < a.length; i++) {
      const d = a[i] - b[i];
      acc += d * d;
    }
    return acc;
  }
  for (let i = 0; i < a.length; i++) acc += a[i] * b[i];
  return -acc;
}
