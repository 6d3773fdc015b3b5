// The write-ahead log: binary round trip, group commit, and recovery from a torn or corrupt tail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodePayload, encodeRecord, listWalFiles, replayWalFile, RECORD_HEADER_BYTES, WriteAheadLog } from '../../src/persistence/wal.js';
import type { Mutation } from '../../src/engine/mutation.js';
import { tempDir } from '../helpers/durable-state.js';

const sample: Mutation[] = [
  { type: 'upsert', records: [{ id: 'a', vector: Float32Array.from([1, -2.5, 3.25]), metadata: { k: 'v', n: [1, 2] }, text: 'héllo wörld' }] },
  { type: 'upsert', records: [{ id: 'ü-ñ-字', vector: Float32Array.from([0, 0, 1]) }, { id: 'b', vector: Float32Array.from([Number.MIN_VALUE, 1e30, -0]), metadata: {} }] },
  { type: 'delete', id: 'a' },
  { type: 'soft_delete', id: 'b' },
  { type: 'restore', id: 'b' },
  { type: 'compact' },
  { type: 'compact', keepSoftDeleted: true },
  { type: 'delete_many', ids: ['a', 'ü-ñ-字', ''] },
  { type: 'delete_many', ids: [] },
  { type: 'patch', id: 'b', metadata: { k: { nested: [1, null] } } },
  { type: 'patch', id: 'b', text: 'new text' },
  { type: 'patch', id: 'b', metadata: {}, text: null },
];

function plain(m: Mutation): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v)));
}

test('every mutation type round-trips through the binary encoding', () => {
  for (const m of sample) {
    const frame = encodeRecord(m);
    assert.equal(frame.readUInt32LE(0), frame.length - RECORD_HEADER_BYTES);
    assert.deepEqual(plain(decodePayload(frame.subarray(RECORD_HEADER_BYTES))), plain(m));
  }
  const decoded = decodePayload(encodeRecord(sample[1]).subarray(RECORD_HEADER_BYTES)) as Extract<Mutation, { type: 'upsert' }>;
  assert.ok(decoded.records[1].vector instanceof Float32Array);
  assert.ok(Object.is(decoded.records[1].vector[2], -0));
});

async function writeSample(dir: string, policy: 'always' | 'off'): Promise<string> {
  const wal = new WriteAheadLog(dir, 1, { mode: policy });
  await Promise.all(sample.map((m) => wal.append(m)));
  await wal.close();
  return listWalFiles(dir)[0].path;
}

test('a log written under each policy replays in order', async () => {
  for (const policy of ['always', 'off'] as const) {
    const dir = tempDir('wal');
    const file = await writeSample(dir, policy);
    const seen: Mutation[] = [];
    const result = replayWalFile(file, (m) => seen.push(m));
    assert.equal(result.records, sample.length);
    assert.equal(result.droppedBytes, 0);
    assert.deepEqual(seen.map(plain), sample.map(plain));
  }
});

test('group commit: many concurrent appends under always all resolve and are all on disk', async () => {
  const dir = tempDir('wal-group');
  const wal = new WriteAheadLog(dir, 7, { mode: 'always' });
  const writes: Array<Promise<void>> = [];
  for (let i = 0; i < 500; i++) writes.push(wal.append({ type: 'upsert', records: [{ id: `v${i}`, vector: Float32Array.from([i, i + 1]) }] }));
  await Promise.all(writes);
  await wal.close();
  let n = 0;
  replayWalFile(path.join(dir, 'wal-000000000007.log'), () => n++);
  assert.equal(n, 500);
});

test('interval policy resolves at once and fsyncs on its timer', async () => {
  const dir = tempDir('wal-interval');
  const wal = new WriteAheadLog(dir, 1, { mode: 'interval', ms: 5 });
  await wal.append(sample[0]);
  await new Promise((r) => setTimeout(r, 20));
  await wal.close();
  assert.equal(replayWalFile(wal.currentPath, () => {}).records, 1);
});

test('a torn last record is dropped, the file truncated to the last good record, and appends continue cleanly', async () => {
  const dir = tempDir('wal-torn');
  const file = await writeSample(dir, 'off');
  const size = fs.statSync(file).size;
  const last = encodeRecord(sample[sample.length - 1]).length;
  fs.truncateSync(file, size - 3);
  const seen: Mutation[] = [];
  const result = replayWalFile(file, (m) => seen.push(m));
  assert.equal(result.records, sample.length - 1);
  assert.equal(result.droppedBytes, last - 3);
  assert.equal(fs.statSync(file).size, size - last);
  assert.deepEqual(seen.map(plain), sample.slice(0, -1).map(plain));
  // Appending after the truncation yields a clean log.
  const wal = new WriteAheadLog(dir, 1, { mode: 'always' });
  await wal.append({ type: 'delete', id: 'z' });
  await wal.close();
  assert.equal(replayWalFile(file, () => {}).records, sample.length);
});

test('a flipped byte stops replay at the last good record before it', async () => {
  const frames = sample.map((m) => encodeRecord(m));
  for (const target of [frames.length - 1, 2]) {
    const dir = tempDir('wal-flip');
    const file = await writeSample(dir, 'off');
    const offset = frames.slice(0, target).reduce((s, f) => s + f.length, 0) + RECORD_HEADER_BYTES;
    const bytes = fs.readFileSync(file);
    bytes[offset] ^= 0x40;
    fs.writeFileSync(file, bytes);
    const seen: Mutation[] = [];
    const result = replayWalFile(file, (m) => seen.push(m));
    assert.equal(result.records, target);
    assert.equal(result.stopReason, 'checksum mismatch');
    assert.deepEqual(seen.map(plain), sample.slice(0, target).map(plain));
    assert.equal(fs.statSync(file).size, frames.slice(0, target).reduce((s, f) => s + f.length, 0));
  }
});

test('a corrupt length field is treated as a torn tail, not a huge allocation', async () => {
  const dir = tempDir('wal-len');
  const file = await writeSample(dir, 'off');
  const bytes = fs.readFileSync(file);
  bytes.writeUInt32LE(0xfffffff0, 0);
  fs.writeFileSync(file, bytes);
  const result = replayWalFile(file, () => assert.fail('nothing should replay'));
  assert.equal(result.records, 0);
  assert.equal(result.droppedBytes, bytes.length);
});

test('rotation: records before the switch are in the old file, after it in the new one', async () => {
  const dir = tempDir('wal-rotate');
  const wal = new WriteAheadLog(dir, 1, { mode: 'always' });
  const a = wal.append(sample[0]);
  wal.rotate(2);
  const b = wal.append(sample[2]);
  await Promise.all([a, b]);
  await wal.settled();
  await wal.close();
  const files = listWalFiles(dir);
  assert.deepEqual(files.map((f) => f.seq), [1, 2]);
  assert.equal(replayWalFile(files[0].path, () => {}).records, 1);
  assert.equal(replayWalFile(files[1].path, () => {}).records, 1);
});
