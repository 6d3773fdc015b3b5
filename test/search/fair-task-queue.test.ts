// The scan pool's fair queue (sources take turns, FIFO within one) and shard planning with a cap on rows per task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queueOptionsSymbol } from 'piscina';
import { FairTaskQueue } from '../../src/search/fair-task-queue.js';
import { planShards } from '../../src/index/flat-index.js';

const task = (source: number, name: string) => ({ name, [queueOptionsSymbol]: { source } }) as never;
const names = (queue: FairTaskQueue) => {
  const out: string[] = [];
  for (let t = queue.shift(); t !== null; t = queue.shift()) out.push((t as unknown as { name: string }).name);
  return out;
};

test('a source with one waiting task is served after at most one task of each other source', () => {
  const queue = new FairTaskQueue();
  for (let i = 0; i < 100; i++) queue.push(task(1, `big${i}`));
  queue.push(task(2, 'small'));
  assert.equal(queue.size, 101);
  assert.deepEqual(names(queue).slice(0, 3), ['big0', 'small', 'big1']);
  assert.equal(queue.size, 0);
});

test('FIFO within a source; unshift goes first; remove takes a task out', () => {
  const queue = new FairTaskQueue();
  const a1 = task(1, 'a1');
  queue.push(a1);
  queue.push(task(1, 'a2'));
  queue.push(task(2, 'b1'));
  queue.push(task(3, 'c1'));
  queue.unshift(task(3, 'c0'));
  queue.remove(a1);
  queue.remove(task(9, 'unknown'));
  assert.equal(queue.size, 4);
  assert.deepEqual(names(queue), ['c0', 'a2', 'b1', 'c1']);
});

test('planShards splits a large scan into tasks of at most maxRows rows, covering every row once', () => {
  const layout = { version: 1, slotsUsed: 10_000, rowsPerSegment: 3000, segmentIds: [7, 8, 9, 10] };
  const shards = planShards(layout, 2, 1000, 1500);
  assert.equal(shards.length, 7);
  let covered = 0;
  for (const ranges of shards) {
    const rows = ranges.reduce((sum, r) => sum + r.end - r.start, 0);
    assert.ok(rows <= 1500);
    covered += rows;
  }
  assert.equal(covered, 10_000);
  assert.equal(planShards(layout, 2, 1000).length, 2, 'without a cap: one shard per worker');
});
