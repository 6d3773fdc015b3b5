// The live summary's latency quantiles, read from histogram buckets as Prometheus' histogram_quantile reads them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantileMs } from '../../src/server/live-summary.js';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01];

test('quantiles interpolate inside the bucket that holds the rank', () => {
  // 10 under 1 ms, 10 between 1 and 2.5 ms: the median is the top of the first bucket, p75 halfway through the second.
  assert.equal(quantileMs(0.5, [10, 10, 0, 0, 0], BOUNDS), 1);
  assert.equal(quantileMs(0.75, [10, 10, 0, 0, 0], BOUNDS), 1.75);
  assert.equal(quantileMs(0.25, [10, 10, 0, 0, 0], BOUNDS), 0.5);
});

test('empty buckets are skipped, the +Inf bucket answers the largest bound, no observations answer null', () => {
  assert.equal(quantileMs(0.5, [0, 0, 4, 0, 0], BOUNDS), 3.75);
  assert.equal(quantileMs(0.99, [1, 0, 0, 0, 99], BOUNDS), 10);
  assert.equal(quantileMs(0.5, [0, 0, 0, 0, 0], BOUNDS), null);
});
