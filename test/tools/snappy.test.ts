// The Snappy decoder of the Parquet import against an independent encoder (hyparquet-writer's): literals, short and
// long copies, copies that overlap what they write; damaged streams throw instead of writing garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';
import { snappyUncompress } from '../../src/tools/snappy.js';
import { seededRandom } from '../helpers/random.js';

function roundTrip(input: Uint8Array): void {
  const compressed = snappyCompress(input);
  const output = new Uint8Array(input.length);
  snappyUncompress(compressed, output);
  assert.deepEqual(output, input);
}

test('float pages, text, runs and repeated patterns come back byte for byte', () => {
  const rand = seededRandom(3);
  const floats = new Float32Array(50_000).map(() => rand() * 2 - 1);
  roundTrip(new Uint8Array(floats.buffer));
  roundTrip(new TextEncoder().encode('the quick brown fox jumps over the lazy dog; '.repeat(2_000)));
  roundTrip(new Uint8Array(100_000).fill(7)); // one byte repeated: copies overlapping what they write
  roundTrip(Uint8Array.from({ length: 70_000 }, (_, i) => (i % 3 === 0 ? 1 : i % 251))); // long literals, 2-byte offsets
  roundTrip(new Uint8Array(0));
});

test('a damaged stream throws: wrong length, cut short, a copy from before the start', () => {
  const input = new TextEncoder().encode('abcdabcdabcdabcd'.repeat(100));
  const compressed = snappyCompress(input);
  assert.throws(() => snappyUncompress(compressed, new Uint8Array(input.length + 1)), /page header says/);
  assert.throws(() => snappyUncompress(compressed.subarray(0, compressed.length - 3), new Uint8Array(input.length)), /snappy/);
  // A copy tag (2-byte offset) right after the length preamble: nothing to copy from yet.
  assert.throws(() => snappyUncompress(Uint8Array.from([4, 0b00001110, 1, 0]), new Uint8Array(4)), /copy outside the output/);
});
