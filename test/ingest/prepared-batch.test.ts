// Batches prepared in a parse worker (rows normalised and sketched there, the log record encoded there) are stored and
// logged exactly as the front thread would store and log them: real worker threads, real engines, real log files.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { VecStoreEngine } from '../../src/engine/engine.js';
import { Durability } from '../../src/engine/durability.js';
import { DEFAULT_LIMITS } from '../../src/engine/limits.js';
import { encodeArrowBatch } from '../../src/ingest/arrow-encode.js';
import { ParsePool } from '../../src/ingest/parse-pool.js';
import type { IngestTarget } from '../../src/ingest/parse-messages.js';
import { listWalFiles, replayWalFile } from '../../src/persistence/wal.js';
import { sketchView, vectorView } from '../../src/store/segment-layout.js';
import type { MetricName } from '../../src/distance/metric.js';
import { crashCopy, dumpState, memoryLogger, tempDir } from '../helpers/durable-state.js';
import { randomVectors } from '../helpers/random.js';

// Wide enough to be sketched (≥ 256 dimensions), and enough rows first for the store to find its sketch basis.
const DIM = 300;
const BASIS_ROWS = 1100;

const pool = new ParsePool({ threads: 1, maxBodyBytes: 64 << 20 });
after(() => pool.close());

const engines: VecStoreEngine[] = [];
after(async () => {
  for (const e of engines) await e.close();
});

function engine(metric: MetricName = 'cosine'): VecStoreEngine {
  const e = new VecStoreEngine({ metric, threads: 1, cacheSize: 0, rowsPerSegment: 512 });
  engines.push(e);
  return e;
}

function rows(prefix: string, vectors: Float32Array[]) {
  return vectors.map((v, i) => ({ id: `${prefix}${i}`, vector: v, metadata: { i, half: i % 2 ? 'odd' : 'even' }, text: `row ${i}` }));
}

function arrowBody(rs: ReturnType<typeof rows>): Buffer {
  const flat = new Float32Array(rs.length * DIM);
  rs.forEach((r, i) => flat.set(r.vector, i * DIM));
  const bytes = encodeArrowBatch({ ids: rs.map((r) => r.id), dimension: DIM, vectors: flat, metadata: rs.map((r) => r.metadata), texts: rs.map((r) => r.text) });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function targetOf(e: VecStoreEngine, metric: MetricName = e.metric): IngestTarget {
  return { dimension: e.dimension, metric, sketchBasis: e.sketchBasis };
}

/** Every segment's vector rows and sketches, as bytes. */
function segmentBytes(e: VecStoreEngine): { vectors: Buffer[]; sketches: Buffer[] } {
  const segments = e.store.segmentDescriptors();
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return { vectors: segments.map((s) => bytes(vectorView(s))), sketches: segments.map((s) => bytes(sketchView(s))) };
}

test('a batch prepared in a parse worker is stored bit for bit as the front thread stores it, sketches included', async () => {
  const first = rows('a', randomVectors(BASIS_ROWS, DIM, 1));
  const batch = rows('b', randomVectors(700, DIM, 2));
  const viaWorker = engine();
  const inline = engine();
  for (const e of [viaWorker, inline]) await e.batchUpsert(first);
  assert.ok(viaWorker.sketchBasis, 'the store sketches its rows by now');

  const prepared = await pool.parse('arrow', arrowBody(batch), DEFAULT_LIMITS, targetOf(viaWorker));
  assert.ok(prepared.logRecord, 'the worker encoded the log record');
  assert.ok(prepared.records.every((r) => r.prepared?.sketch), 'and sketched every row');
  const outcome = await viaWorker.batchUpsertValidated(prepared);
  assert.deepEqual(outcome, { inserted: 700, updated: 0, errors: [] });
  await inline.batchUpsert(batch);

  assert.deepEqual(segmentBytes(viaWorker), segmentBytes(inline));
  assert.deepEqual(dumpState(viaWorker), dumpState(inline));
});

test('a prepared sketch made with another basis than the store\'s current one is made again by the store', async () => {
  const e = engine();
  const twin = engine();
  for (const x of [e, twin]) await x.batchUpsert(rows('a', randomVectors(BASIS_ROWS, DIM, 3)));
  const batch = rows('b', randomVectors(50, DIM, 4));
  // Another basis (negated rows, another id): its sketches differ, so keeping them would show in the segment bytes.
  const current = e.sketchBasis!;
  const stale = { ...targetOf(e), sketchBasis: { ...current, id: current.id + 1000, rows: current.rows.map((x) => -x) } };
  await e.batchUpsertValidated(await pool.parse('arrow', arrowBody(batch), DEFAULT_LIMITS, stale));
  await twin.batchUpsert(batch);
  assert.deepEqual(segmentBytes(e), segmentBytes(twin));
});

test('the log holds the vectors as sent, and recovery gives back the rows served before the crash', async () => {
  const dir = tempDir('prepared-log');
  const live = engine();
  const durability = await Durability.open(live, { dataDir: dir, fsync: { mode: 'always' }, logger: memoryLogger() });
  try {
    const batch = rows('c', randomVectors(BASIS_ROWS + 200, DIM, 5));
    await live.batchUpsert(batch.slice(0, BASIS_ROWS));
    await live.batchUpsertValidated(await pool.parse('arrow', arrowBody(batch.slice(BASIS_ROWS)), DEFAULT_LIMITS, targetOf(live)));

    const logged = new Map<string, Float32Array>();
    for (const file of listWalFiles(dir)) {
      replayWalFile(file.path, (m) => {
        if (m.type === 'upsert') for (const r of m.records) logged.set(r.id, r.vector);
      });
    }
    for (const r of batch) assert.deepEqual(logged.get(r.id), r.vector, `${r.id} is logged as sent, not normalised`);

    const before = dumpState(live);
    const recovered = engine();
    const copy = await Durability.open(recovered, { dataDir: crashCopy(dir), fsync: { mode: 'always' }, logger: memoryLogger() });
    assert.deepEqual(dumpState(recovered), before);
    await copy.close();
  } finally {
    await durability.close();
  }
});

test('records refused on the front thread are left out of the worker\'s log record', async () => {
  const dir = tempDir('prepared-refused');
  const live = engine('cosine');
  const durability = await Durability.open(live, { dataDir: dir, fsync: { mode: 'always' }, logger: memoryLogger() });
  try {
    const batch = rows('d', randomVectors(6, DIM, 6));
    batch[2].vector = new Float32Array(DIM); // a zero vector: fine under dot, refused under cosine
    // Prepared for dot, the worker lets the zero vector through and logs all six; the cosine engine refuses it.
    const prepared = await pool.parse('arrow', arrowBody(batch), DEFAULT_LIMITS, targetOf(live, 'dot'));
    const outcome = await live.batchUpsertValidated(prepared);
    assert.equal(outcome.inserted, 5);
    assert.deepEqual(outcome.errors.map((e) => [e.index, e.code]), [[2, 'validation']]);

    const logged: string[] = [];
    replayWalFile(listWalFiles(dir)[0].path, (m) => {
      if (m.type === 'upsert') for (const r of m.records) logged.push(r.id);
    });
    assert.deepEqual(logged, ['d0', 'd1', 'd3', 'd4', 'd5']);

    const before = dumpState(live);
    const recovered = engine('cosine');
    const copy = await Durability.open(recovered, { dataDir: crashCopy(dir), fsync: { mode: 'always' }, logger: memoryLogger() });
    assert.deepEqual(dumpState(recovered), before);
    await copy.close();
  } finally {
    await durability.close();
  }
});
