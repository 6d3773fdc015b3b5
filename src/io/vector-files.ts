// Readers for the standard vector file formats (.fvecs, .bvecs, .ivecs, .npy): `vecstore import` and the benchmarks.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { halfToNumber } from './float16.js';

/** A row-major matrix of `count` vectors of `dim` float32 components. */
export interface Dataset {
  dim: number;
  count: number;
  data: Float32Array;
}

/** A row-major matrix of int32 values, as stored in `.ivecs` ground-truth files (row = one query's neighbour ids). */
export interface IntMatrix {
  dim: number;
  count: number;
  data: Int32Array;
}

/**
 * A dataset file that cannot be used: unreadable, wrong magic, truncated, inconsistent dimensions.
 * The message is one line naming the file and the problem, so the CLI can print it as is.
 */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'DatasetError';
  }
}

/** Options shared by the readers. */
export interface ReadOptions {
  /** Read at most this many rows (the first ones); the rest of the file is still size-checked. */
  limit?: number;
}

// Larger than any real embedding; a bigger header means the file is not in this format (e.g. a .bvecs read as .fvecs
// still has a sane header, but random bytes or a text file read as .fvecs gives a huge or negative one).
const MAX_DIM = 1 << 16;
// Read in chunks so that files larger than Node's 2 GiB single-read limit work and memory holds one copy of the data.
const CHUNK_BYTES = 32 << 20;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Opens a file for reading, turning fs errors into a DatasetError. */
function openForRead(file: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new DatasetError(file, `cannot open: ${fsReason(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DatasetError(file, 'not a regular file');
    return { fd, size: st.size };
  } catch (err) {
    closeSync(fd);
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(file, `cannot read: ${fsReason(err)}`);
  }
}

function fsReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory';
  return e.code ?? e.message;
}

/** Reads exactly `length` bytes at `position`, or throws a truncation error. */
function readExact(file: string, fd: number, buf: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = readSync(fd, buf, done, length - done, position + done);
    } catch (err) {
      throw new DatasetError(file, `cannot read: ${fsReason(err)}`);
    }
    if (n === 0) throw new DatasetError(file, `truncated: expected ${length} bytes at offset ${position}`);
    done += n;
  }
}

type VecsKind = 'fvecs' | 'bvecs' | 'ivecs';

/**
 * The common reader of the "*vecs" family: every record is an int32 LE dimension followed by `dim` components of
 * `componentBytes` each. All records must share the first record's dimension.
 */
function readVecs(file: string, kind: VecsKind, options: ReadOptions, out: 'float' | 'int'): Dataset | IntMatrix {
  const componentBytes = kind === 'bvecs' ? 1 : 4;
  const { fd, size } = openForRead(file);
  try {
    if (size === 0) throw new DatasetError(file, 'empty file');
    if (size < 4) throw new DatasetError(file, `truncated: ${size} bytes, shorter than one ${kind} header`);
    const head = Buffer.alloc(4);
    readExact(file, fd, head, 4, 0);
    const dim = head.readInt32LE(0);
    if (dim <= 0 || dim > MAX_DIM) {
      throw new DatasetError(file, `bad dimension header ${dim} in the first record (not a .${kind} file?)`);
    }
    const recordBytes = 4 + dim * componentBytes;
    if (size % recordBytes !== 0) {
      throw new DatasetError(
        file,
        `size ${size} bytes is not a multiple of the record size ${recordBytes} (dim ${dim}): truncated or not a .${kind} file`,
      );
    }
    const total = size / recordBytes;
    const count = options.limit !== undefined ? Math.min(options.limit, total) : total;
    const data = out === 'float' ? new Float32Array(count * dim) : new Int32Array(count * dim);
    const recordsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / recordBytes));
    const chunk = Buffer.alloc(Math.min(count, recordsPerChunk) * recordBytes);
    // Typed views need a 4-byte aligned source on a little-endian machine; records are 4-byte multiples.
    const aligned = chunk.byteOffset % 4 === 0 && LITTLE_ENDIAN;
    for (let first = 0; first < count; first += recordsPerChunk) {
      const n = Math.min(recordsPerChunk, count - first);
      readExact(file, fd, chunk, n * recordBytes, first * recordBytes);
      for (let r = 0; r < n; r++) {
        const off = r * recordBytes;
        const d = chunk.readInt32LE(off);
        if (d !== dim) {
          throw new DatasetError(file, `record ${first + r} has dimension ${d}, but the first record has ${dim}`);
        }
        const dst = (first + r) * dim;
        if (kind === 'bvecs') {
          for (let j = 0; j < dim; j++) data[dst + j] = chunk[off + 4 + j];
        } else if (aligned) {
          // x64 and arm64 are little-endian like the file, so a typed view over the chunk is the component array.
          const src = kind === 'fvecs' ? new Float32Array(chunk.buffer, chunk.byteOffset + off + 4, dim) : new Int32Array(chunk.buffer, chunk.byteOffset + off + 4, dim);
          data.set(src, dst);
        } else if (kind === 'fvecs') {
          for (let j = 0; j < dim; j++) data[dst + j] = chunk.readFloatLE(off + 4 + 4 * j);
        } else {
          for (let j = 0; j < dim; j++) data[dst + j] = chunk.readInt32LE(off + 4 + 4 * j);
        }
      }
    }
    return out === 'float'
      ? { dim, count, data: data as Float32Array }
      : { dim, count, data: data as Int32Array };
  } finally {
    closeSync(fd);
  }
}

/** Reads a `.fvecs` file (per vector: int32 LE dimension, then `dim` float32 LE). */
export function readFvecs(file: string, options: ReadOptions = {}): Dataset {
  return readVecs(file, 'fvecs', options, 'float') as Dataset;
}

/** Reads a `.bvecs` file (per vector: int32 LE dimension, then `dim` uint8), widening the bytes to float32. */
export function readBvecs(file: string, options: ReadOptions = {}): Dataset {
  return readVecs(file, 'bvecs', options, 'float') as Dataset;
}

/** Reads a `.ivecs` file (per row: int32 LE dimension, then `dim` int32 LE), the usual ground-truth format. */
export function readIvecs(file: string, options: ReadOptions = {}): IntMatrix {
  return readVecs(file, 'ivecs', options, 'int') as IntMatrix;
}

interface NpyArray {
  rows: number;
  cols: number;
  // Widened values of the first `rows` rows, in C order.
  values: Float32Array | Int32Array;
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
const NPY_DTYPES: Record<string, { bytes: number; float: boolean; read: (b: Buffer, off: number) => number }> = {
  '<f4': { bytes: 4, float: true, read: (b, o) => b.readFloatLE(o) },
  '<f8': { bytes: 8, float: true, read: (b, o) => b.readDoubleLE(o) },
  // Half precision: how embeddings are often saved to halve the file (`np.float16`).
  '<f2': { bytes: 2, float: true, read: (b, o) => halfToNumber(b.readUInt16LE(o)) },
  '>f4': { bytes: 4, float: true, read: (b, o) => b.readFloatBE(o) },
  '>f8': { bytes: 8, float: true, read: (b, o) => b.readDoubleBE(o) },
  '|u1': { bytes: 1, float: false, read: (b, o) => b[o] },
  '<i4': { bytes: 4, float: false, read: (b, o) => b.readInt32LE(o) },
};
const NPY_DTYPE_NAMES = Object.keys(NPY_DTYPES).join(', ');
// numpy writes these spellings for the same types on little-endian machines.
const NPY_ALIASES: Record<string, string> = { '<u1': '|u1', '=f4': '<f4', '=f8': '<f8', '=f2': '<f2', '=i4': '<i4', u1: '|u1' };

/** Reads a 2-D `.npy` array (format v1/v2/v3, C order) of one of the supported dtypes. */
function readNpyArray(file: string, options: ReadOptions, out: 'float' | 'int'): NpyArray {
  const { fd, size } = openForRead(file);
  try {
    if (size === 0) throw new DatasetError(file, 'empty file');
    if (size < 10) throw new DatasetError(file, `truncated: ${size} bytes, shorter than an .npy preamble`);
    const pre = Buffer.alloc(12);
    readExact(file, fd, pre, Math.min(12, size), 0);
    if (!pre.subarray(0, 6).equals(NPY_MAGIC)) throw new DatasetError(file, 'wrong magic: not an .npy file');
    const major = pre[6];
    let headerLen: number;
    let headerStart: number;
    if (major === 1) {
      headerLen = pre.readUInt16LE(8);
      headerStart = 10;
    } else if (major === 2 || major === 3) {
      if (size < 12) throw new DatasetError(file, 'truncated .npy preamble');
      headerLen = pre.readUInt32LE(8);
      headerStart = 12;
    } else {
      throw new DatasetError(file, `unsupported .npy format version ${major}.${pre[7]}`);
    }
    if (headerStart + headerLen > size) throw new DatasetError(file, 'truncated: the .npy header runs past the end of the file');
    const hb = Buffer.alloc(headerLen);
    readExact(file, fd, hb, headerLen, headerStart);
    const header = hb.toString(major === 3 ? 'utf8' : 'latin1');

    const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header)?.[1];
    const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
    const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
    if (descr === undefined || fortran === undefined || shapeText === undefined) {
      throw new DatasetError(file, 'malformed .npy header (missing descr, fortran_order or shape)');
    }
    const dtypeName = NPY_ALIASES[descr] ?? descr;
    const dtype = NPY_DTYPES[dtypeName];
    if (!dtype) {
      throw new DatasetError(file, `unsupported dtype '${descr}' (supported: ${NPY_DTYPE_NAMES})`);
    }
    if (fortran === 'True') throw new DatasetError(file, 'Fortran-order arrays are not supported (save in C order)');
    const shape = shapeText
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((s) => Number(s.replace(/L$/, '')));
    if (shape.length !== 2 || shape.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new DatasetError(file, `expected a 2-D array, got shape (${shapeText.trim()})`);
    }
    const [total, cols] = shape;
    if (cols === 0 || cols > MAX_DIM) throw new DatasetError(file, `bad dimension ${cols} in shape (${shapeText.trim()})`);
    const dataStart = headerStart + headerLen;
    const rowBytes = cols * dtype.bytes;
    const expected = total * rowBytes;
    const actual = size - dataStart;
    if (actual < expected) {
      throw new DatasetError(file, `truncated: shape (${total}, ${cols}) ${descr} needs ${expected} data bytes, file has ${actual}`);
    }
    if (actual > expected) {
      throw new DatasetError(file, `size mismatch: ${actual - expected} bytes after the (${total}, ${cols}) ${descr} data`);
    }
    if (out === 'int' && dtype.float) {
      throw new DatasetError(file, `expected integer ids, got dtype '${descr}'`);
    }
    const rows = options.limit !== undefined ? Math.min(options.limit, total) : total;
    const values = out === 'float' ? new Float32Array(rows * cols) : new Int32Array(rows * cols);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
    const chunk = Buffer.alloc(Math.min(rows, rowsPerChunk) * rowBytes);
    const { read, bytes } = dtype;
    for (let first = 0; first < rows; first += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - first);
      readExact(file, fd, chunk, n * rowBytes, dataStart + first * rowBytes);
      const base = first * cols;
      for (let i = 0; i < n * cols; i++) values[base + i] = read(chunk, i * bytes);
    }
    return { rows, cols, values };
  } finally {
    closeSync(fd);
  }
}

/** Reads a 2-D `.npy` array of a supported dtype (format v1, v2 or v3, C order) as float32 vectors. */
export function readNpy(file: string, options: ReadOptions = {}): Dataset {
  const a = readNpyArray(file, options, 'float');
  return { dim: a.cols, count: a.rows, data: a.values as Float32Array };
}

/** Reads a 2-D integer `.npy` array (|u1 or <i4), e.g. ground-truth neighbour ids. */
export function readNpyInt(file: string, options: ReadOptions = {}): IntMatrix {
  const a = readNpyArray(file, options, 'int');
  return { dim: a.cols, count: a.rows, data: a.values as Int32Array };
}

/** Reads vectors from a file, choosing the format by its extension (.fvecs, .bvecs, .npy). */
export function readVectors(file: string, options: ReadOptions = {}): Dataset {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.fvecs') return readFvecs(file, options);
  if (ext === '.bvecs') return readBvecs(file, options);
  if (ext === '.npy') return readNpy(file, options);
  throw new DatasetError(file, `unknown vector file extension '${ext}' (expected .fvecs, .bvecs or .npy)`);
}

/** Reads ground-truth neighbour ids from a file, choosing the format by its extension (.ivecs, .npy). */
export function readGroundTruthIds(file: string, options: ReadOptions = {}): IntMatrix {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.ivecs') return readIvecs(file, options);
  if (ext === '.npy') return readNpyInt(file, options);
  throw new DatasetError(file, `unknown ground-truth file extension '${ext}' (expected .ivecs or .npy)`);
}
