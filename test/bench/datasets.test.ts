// Tests of the benchmark dataset readers (.fvecs, .bvecs, .ivecs, .npy), their bad-file errors and the synthetic generator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DatasetError,
  readBvecs,
  readFvecs,
  readGroundTruthIds,
  readIvecs,
  readNpy,
  readNpyInt,
  readVectors,
  syntheticDataset,
} from '../../bench/datasets.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vecstore-datasets-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function file(name: string, bytes: Buffer | Uint8Array): string {
  const p = path.join(dir, `${fileNo++}-${name}`);
  writeFileSync(p, bytes);
  return p;
}

/** Encodes rows in the *vecs layout: per row an int32 LE dimension, then the components. */
function vecs(rows: number[][], kind: 'f' | 'b' | 'i', dimOverride?: (row: number) => number): Buffer {
  const parts: Buffer[] = [];
  rows.forEach((row, r) => {
    const head = Buffer.alloc(4);
    head.writeInt32LE(dimOverride ? dimOverride(r) : row.length);
    const body = Buffer.alloc(row.length * (kind === 'b' ? 1 : 4));
    row.forEach((v, j) => {
      if (kind === 'f') body.writeFloatLE(v, 4 * j);
      else if (kind === 'i') body.writeInt32LE(v, 4 * j);
      else body[j] = v;
    });
    parts.push(head, body);
  });
  return Buffer.concat(parts);
}

/** Encodes an .npy file of the given version, dtype and shape, padding the header to 64 bytes as numpy does. */
function npy(opts: { version?: number; descr: string; shape: number[]; fortran?: boolean; data: Buffer; magic?: Buffer }): Buffer {
  const version = opts.version ?? 1;
  const shape = opts.shape.length === 1 ? `(${opts.shape[0]},)` : `(${opts.shape.join(', ')})`;
  let header = `{'descr': '${opts.descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
  const p = Buffer.alloc(pre);
  (opts.magic ?? Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])).copy(p, 0);
  p[6] = version;
  p[7] = 0;
  if (version === 1) p.writeUInt16LE(header.length, 8);
  else p.writeUInt32LE(header.length, 8);
  return Buffer.concat([p, Buffer.from(header, 'latin1'), opts.data]);
}

function f32(values: number[]): Buffer {
  return Buffer.from(new Float32Array(values).buffer);
}

/** Asserts a DatasetError whose single-line message names the file and contains `problem`. */
function assertBad(fn: () => unknown, filePath: string, problem: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DatasetError, `expected DatasetError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${filePath}: `), `message names the file: ${err.message}`);
    assert.match(err.message, problem);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.equal(err.file, filePath);
    return true;
  });
}

const rows = [
  [1.5, -2, 3.25],
  [0, 0.125, -7],
  [1e-3, 42, 5],
];

test('fvecs: rows come back row-major, and limit keeps the first rows', () => {
  const p = file('a.fvecs', vecs(rows, 'f'));
  const ds = readFvecs(p);
  assert.equal(ds.dim, 3);
  assert.equal(ds.count, 3);
  assert.deepEqual(Array.from(ds.data), Array.from(new Float32Array(rows.flat())));
  const two = readFvecs(p, { limit: 2 });
  assert.equal(two.count, 2);
  assert.deepEqual(Array.from(two.data), Array.from(new Float32Array(rows.slice(0, 2).flat())));
  assert.deepEqual(readVectors(p), ds);
});

test('bvecs: bytes widen to float32', () => {
  const p = file('a.bvecs', vecs([[0, 255, 7, 128], [1, 2, 3, 4]], 'b'));
  const ds = readBvecs(p);
  assert.equal(ds.dim, 4);
  assert.equal(ds.count, 2);
  assert.ok(ds.data instanceof Float32Array);
  assert.deepEqual(Array.from(ds.data), [0, 255, 7, 128, 1, 2, 3, 4]);
  assert.deepEqual(readVectors(p), ds);
});

test('ivecs: ground-truth ids come back as int32', () => {
  const p = file('gt.ivecs', vecs([[5, 1, 9], [0, 2, 2147483647]], 'i'));
  const m = readIvecs(p);
  assert.equal(m.dim, 3);
  assert.equal(m.count, 2);
  assert.ok(m.data instanceof Int32Array);
  assert.deepEqual(Array.from(m.data), [5, 1, 9, 0, 2, 2147483647]);
  assert.deepEqual(readGroundTruthIds(p), m);
});

test('npy: v1 <f4, v2 <f8, v3 |u1 and <i4 read as float32 rows', () => {
  const p1 = file('a.npy', npy({ descr: '<f4', shape: [2, 3], data: f32([1, 2, 3, 4, 5, 6.5]) }));
  assert.deepEqual(readNpy(p1), { dim: 3, count: 2, data: new Float32Array([1, 2, 3, 4, 5, 6.5]) });

  const f8 = Buffer.from(new Float64Array([0.5, -1, 2, 1e10]).buffer);
  const p2 = file('b.npy', npy({ version: 2, descr: '<f8', shape: [2, 2], data: f8 }));
  assert.deepEqual(readNpy(p2), { dim: 2, count: 2, data: new Float32Array([0.5, -1, 2, 1e10]) });

  const p3 = file('c.npy', npy({ version: 3, descr: '|u1', shape: [1, 4], data: Buffer.from([9, 0, 255, 3]) }));
  assert.deepEqual(readNpy(p3), { dim: 4, count: 1, data: new Float32Array([9, 0, 255, 3]) });

  const i4 = Buffer.from(new Int32Array([-3, 7, 100000, 0]).buffer);
  const p4 = file('d.npy', npy({ descr: '<i4', shape: [2, 2], data: i4 }));
  assert.deepEqual(readNpy(p4), { dim: 2, count: 2, data: new Float32Array([-3, 7, 100000, 0]) });
  assert.deepEqual(readNpyInt(p4), { dim: 2, count: 2, data: new Int32Array([-3, 7, 100000, 0]) });
  assert.deepEqual(readGroundTruthIds(p4).data, new Int32Array([-3, 7, 100000, 0]));

  assert.equal(readNpy(p1, { limit: 1 }).count, 1);
  assert.deepEqual(readVectors(p1), readNpy(p1));
});

test('npy: float16 (<f2, as numpy converts it: normal, subnormal, largest, -0) and big-endian <f4/<f8 read as float32', () => {
  const halves = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0x8000, 0x0400, 0x03ff]).buffer);
  const f2 = file('half.npy', npy({ descr: '<f2', shape: [2, 4], data: halves }));
  // The values numpy gives for these bits (`np.array(bits, '<u2').view('<f2').astype('<f4')`).
  const numpy = [1, -2, 0.333251953125, 5.960464477539063e-8, 65504, -0, 6.103515625e-5, 6.097555160522461e-5];
  assert.deepEqual(readNpy(f2), { dim: 4, count: 2, data: new Float32Array(numpy) });
  assert.ok(Object.is(readNpy(f2).data[5], -0));
  assertBad(() => readNpyInt(f2), f2, /expected integer ids, got dtype '<f2'/);

  const be4 = Buffer.alloc(16);
  [1.5, -2, 3.25, 1e-3].forEach((v, i) => be4.writeFloatBE(v, i * 4));
  assert.deepEqual(readNpy(file('be4.npy', npy({ descr: '>f4', shape: [2, 2], data: be4 }))).data, new Float32Array([1.5, -2, 3.25, 1e-3]));
  const be8 = Buffer.alloc(16);
  [0.1, -7].forEach((v, i) => be8.writeDoubleBE(v, i * 8));
  assert.deepEqual(readNpy(file('be8.npy', npy({ descr: '>f8', shape: [1, 2], data: be8 }))).data, new Float32Array([0.1, -7]));
});

test('unreadable paths: missing file, directory', () => {
  const missing = path.join(dir, 'does-not-exist.fvecs');
  assertBad(() => readFvecs(missing), missing, /cannot open: no such file/);
  const sub = path.join(dir, 'a-directory.fvecs');
  mkdirSync(sub);
  assertBad(() => readFvecs(sub), sub, /(not a regular file|is a directory)/);
});

test('vecs: empty, truncated, bad dimension header, inconsistent dimensions', () => {
  const empty = file('empty.fvecs', Buffer.alloc(0));
  assertBad(() => readFvecs(empty), empty, /empty file/);

  const tiny = file('tiny.fvecs', Buffer.from([3, 0]));
  assertBad(() => readFvecs(tiny), tiny, /truncated/);

  const full = vecs(rows, 'f');
  const cut = file('cut.fvecs', full.subarray(0, full.length - 3));
  assertBad(() => readFvecs(cut), cut, /not a multiple of the record size 16 \(dim 3\)/);

  const neg = file('neg.fvecs', vecs(rows, 'f', () => -5));
  assertBad(() => readFvecs(neg), neg, /bad dimension header -5/);
  const huge = file('text.fvecs', Buffer.from('this is a text file, not vectors\n'));
  assertBad(() => readFvecs(huge), huge, /bad dimension header/);

  // Same total size as three dim-3 rows, but the second header says 2 and the third 4.
  const mixed = file('mixed.fvecs', vecs(rows, 'f', (r) => [3, 2, 4][r]));
  assertBad(() => readFvecs(mixed), mixed, /record 1 has dimension 2, but the first record has 3/);

  const bcut = vecs([[1, 2, 3, 4]], 'b');
  const bvecs = file('cut.bvecs', Buffer.concat([bcut, bcut.subarray(0, 5)]));
  assertBad(() => readBvecs(bvecs), bvecs, /not a multiple of the record size 8/);

  const icut = file('cut.ivecs', vecs([[1, 2]], 'i').subarray(0, 10));
  assertBad(() => readIvecs(icut), icut, /not a multiple of the record size 12/);
});

test('npy: wrong magic, bad version, malformed header, dtype, order, shape, truncation, trailing bytes', () => {
  const data = f32([1, 2, 3, 4]);
  const magic = file('magic.npy', npy({ descr: '<f4', shape: [2, 2], data, magic: Buffer.from('NUMPY!') }));
  assertBad(() => readNpy(magic), magic, /wrong magic: not an \.npy file/);

  const fvecsAsNpy = file('really-fvecs.npy', vecs(rows, 'f'));
  assertBad(() => readNpy(fvecsAsNpy), fvecsAsNpy, /wrong magic/);

  const v9 = file('v9.npy', npy({ version: 1, descr: '<f4', shape: [2, 2], data }));
  const bytes = readFileSync(v9);
  bytes[6] = 9;
  const v9p = file('v9b.npy', bytes);
  assertBad(() => readNpy(v9p), v9p, /unsupported \.npy format version 9/);

  const complex = file('c8.npy', npy({ descr: '<c8', shape: [2, 1], data }));
  assertBad(() => readNpy(complex), complex, /unsupported dtype '<c8' \(supported: <f4, <f8, <f2, >f4, >f8, \|u1, <i4\)/);
  const bigInt = file('be-i4.npy', npy({ descr: '>i4', shape: [2, 2], data }));
  assertBad(() => readNpy(bigInt), bigInt, /unsupported dtype '>i4'/);

  const fortran = file('fortran.npy', npy({ descr: '<f4', shape: [2, 2], fortran: true, data }));
  assertBad(() => readNpy(fortran), fortran, /Fortran-order/);

  const oneD = file('1d.npy', npy({ descr: '<f4', shape: [4], data }));
  assertBad(() => readNpy(oneD), oneD, /expected a 2-D array, got shape \(4,\)/);
  const threeD = file('3d.npy', npy({ descr: '<f4', shape: [1, 2, 2], data }));
  assertBad(() => readNpy(threeD), threeD, /expected a 2-D array/);

  const short = file('short.npy', npy({ descr: '<f4', shape: [3, 2], data }));
  assertBad(() => readNpy(short), short, /truncated: shape \(3, 2\) <f4 needs 24 data bytes, file has 16/);

  const long = file('long.npy', npy({ descr: '<f4', shape: [1, 2], data }));
  assertBad(() => readNpy(long), long, /size mismatch: 8 bytes after/);

  const full = npy({ descr: '<f4', shape: [2, 2], data });
  const headerCut = file('headercut.npy', full.subarray(0, 30));
  assertBad(() => readNpy(headerCut), headerCut, /truncated: the \.npy header runs past the end/);

  const noShape = Buffer.from(full);
  noShape.write("'shipe'", full.indexOf("'shape'"), 'latin1');
  const noShapeP = file('noshape.npy', noShape);
  assertBad(() => readNpy(noShapeP), noShapeP, /malformed \.npy header/);

  const floatIds = file('float-ids.npy', npy({ descr: '<f4', shape: [2, 2], data }));
  assertBad(() => readNpyInt(floatIds), floatIds, /expected integer ids/);
});

test('unknown extensions are named', () => {
  const p = file('vectors.csv', Buffer.from('1,2,3\n'));
  assertBad(() => readVectors(p), p, /unknown vector file extension '\.csv'/);
  assertBad(() => readGroundTruthIds(p), p, /unknown ground-truth file extension/);
});

test('synthetic data is reproducible from its seed, and streams and seeds differ', () => {
  const a = syntheticDataset({ count: 50, dim: 16, seed: 7 });
  const b = syntheticDataset({ count: 50, dim: 16, seed: 7 });
  assert.deepEqual(a, b);
  assert.equal(a.data.length, 800);
  assert.notDeepEqual(syntheticDataset({ count: 50, dim: 16, seed: 8 }).data, a.data);
  assert.notDeepEqual(syntheticDataset({ count: 50, dim: 16, seed: 7, stream: 1 }).data, a.data);
  for (const v of a.data) assert.ok(Number.isFinite(v));

  // Standard normal: mean near 0, variance near 1 over many samples.
  const g = syntheticDataset({ count: 2000, dim: 32, seed: 1 }).data;
  let sum = 0;
  let sq = 0;
  for (const v of g) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / g.length;
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(sq / g.length - mean * mean - 1) < 0.03, 'variance near 1');

  const u = syntheticDataset({ count: 100, dim: 8, seed: 3, distribution: 'uniform' }).data;
  for (const v of u) assert.ok(v >= -1 && v < 1);
});

test('clustered synthetic data sits near shared centres, for base and queries alike', () => {
  const opts = { count: 400, dim: 8, seed: 5, clusters: 4, clusterSpread: 0.01 };
  const base = syntheticDataset(opts);
  const queries = syntheticDataset({ ...opts, count: 20, stream: 1 });
  // With tiny spread, every vector is within a small distance of one of at most 4 distinct points.
  const centres: Float32Array[] = [];
  const near = (v: Float32Array): boolean =>
    centres.some((c) => c.reduce((acc, x, j) => acc + (x - v[j]) ** 2, 0) < 0.01);
  for (let i = 0; i < base.count; i++) {
    const v = base.data.subarray(i * 8, (i + 1) * 8);
    if (!near(v)) centres.push(v);
  }
  assert.ok(centres.length <= 4, `${centres.length} clusters`);
  for (let i = 0; i < queries.count; i++) assert.ok(near(queries.data.subarray(i * 8, (i + 1) * 8)));
});
