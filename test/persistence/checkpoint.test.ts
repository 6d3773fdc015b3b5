// Checkpoint files: a captured store written out and read back straight into fresh segments equals the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { VectorStore } from '../../src/store/vector-store.js';
import { loadCheckpointRows, readCheckpointDir, readManifest, writeCheckpointDir, writeManifest } from '../../src/persistence/checkpoint.js';
import { randomVectors } from '../helpers/random.js';
import { tempDir } from '../helpers/durable-state.js';

function dump(store: VectorStore) {
  return [...store.recordsInSlotOrder()].map((r) => ({ id: r.id, m: r.metadata ?? null, t: r.text ?? null, d: r.deleted, v: Array.from(store.vectorAt(r.slot)) }));
}

test('capture → files → loadRecords reproduces records, flags and vectors across segment boundaries', async () => {
  for (const metric of ['cosine', 'euclidean'] as const) {
    const store = new VectorStore({ metric, rowsPerSegment: 64 });
    const vectors = randomVectors(300, 7, 3);
    vectors.forEach((v, i) => store.upsert(`id-${i}`, v, i % 3 === 0 ? undefined : { i, tag: `t\n${i}` }, i % 4 === 0 ? `text "${i}"\n` : undefined));
    for (let i = 0; i < 300; i += 7) store.hardDelete(`id-${i}`);
    for (let i = 1; i < 300; i += 11) store.softDelete(`id-${i}`);
    store.upsert('id-2', vectors[0], { updated: true }, undefined);
    const capture = store.capture();
    // Writes after the capture must not leak into the checkpoint.
    store.upsert('late', vectors[1], undefined, undefined);
    store.compact();
    const dir = path.join(tempDir('ckpt'), 'c1');
    await writeCheckpointDir(dir, capture);
    const loaded = new VectorStore({ metric, rowsPerSegment: 50 });
    const contents = readCheckpointDir(dir, metric);
    const stats = loadCheckpointRows(contents, loaded);
    assert.equal(stats.count, capture.records.length);
    const expected = capture.records.map((r) => ({ id: r.id, m: r.metadata ?? null, t: r.text ?? null, d: r.deleted, v: Array.from(capture.segments[Math.floor(r.slot / capture.rowsPerSegment)].subarray((r.slot % capture.rowsPerSegment) * 7, (r.slot % capture.rowsPerSegment + 1) * 7)) }));
    assert.deepEqual(dump(loaded), expected);
    assert.equal(loaded.counts.deleted, capture.records.filter((r) => r.deleted).length);
    assert.equal(loaded.getRecord('late'), undefined);
  }
});

test('an empty store checkpoints and loads', async () => {
  const dir = path.join(tempDir('ckpt-empty'), 'c');
  await writeCheckpointDir(dir, new VectorStore({ metric: 'dot' }).capture());
  const loaded = new VectorStore({ metric: 'dot' });
  loadCheckpointRows(readCheckpointDir(dir, 'dot'), loaded);
  assert.equal(loaded.counts.total, 0);
});

test('a truncated vectors file or a metric mismatch is refused before anything is loaded', async () => {
  const store = new VectorStore({ metric: 'dot' });
  store.upsert('a', Float32Array.from([1, 2]), undefined, undefined);
  const dir = path.join(tempDir('ckpt-bad'), 'c');
  await writeCheckpointDir(dir, store.capture());
  assert.throws(() => readCheckpointDir(dir, 'cosine'), /configured for cosine/);
  fs.truncateSync(path.join(dir, 'vectors.f32'), 4);
  assert.throws(() => readCheckpointDir(dir, 'dot'), /vectors file has 4 bytes/);
});

test('the manifest is replaced atomically', () => {
  const root = tempDir('manifest');
  assert.equal(readManifest(root), undefined);
  writeManifest(root, { format: 1, checkpoint: 'checkpoint-000000000003', walSeq: 3 });
  assert.deepEqual(readManifest(root), { format: 1, checkpoint: 'checkpoint-000000000003', walSeq: 3 });
});
