// Reads a Parquet list<float|double> vector column of a row group as flat arrays of whole rows, a span of rows at a
// time, skipping the per-row list assembly and the level arrays hyparquet would build. Page headers, schema levels and
// codecs other than Snappy come from hyparquet's page-level modules (exported as `hyparquet/src/*.js`, version pinned
// by the lock file); the general path (parquetRead) stays the reference, and the unit tests compare the two on
// pyarrow's and hyparquet-writer's layouts.
import fs from 'node:fs';
import zlib from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import type { FileMetaData } from 'hyparquet';
import { parquetSchema } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getTreePath } from 'hyparquet/src/schema.js';
import { decompressLz4Block } from '../ingest/lz4-frame.js';
import { snappyUncompress } from './snappy.js';

/** A file's bytes by range (hyparquet's AsyncBuffer), and for files, into an array the reader reuses. */
interface ByteSource {
  slice(start: number, end?: number): ArrayBuffer | Promise<ArrayBuffer>;
  /** Fills `target` with the bytes from `position` on (throws if the file ends first). */
  readInto?(target: Uint8Array, position: number): Promise<void>;
}

/**
 * The page codecs hyparquet does not have, by Parquet's codec names: Snappy (pyarrow's, DuckDB's and Spark's default)
 * copying literals natively, ZSTD (Polars' default), GZIP, BROTLI and LZ4_RAW. Each result must be the page's size.
 */
export const PARQUET_COMPRESSORS = {
  SNAPPY: (input: Uint8Array, length: number): Uint8Array => uncompress(input, 'SNAPPY', length, (size) => new Uint8Array(size)),
  ZSTD: (input: Uint8Array, length: number): Uint8Array => pageOfSize(zstdDecompress(input), length, 'ZSTD'),
  GZIP: (input: Uint8Array, length: number): Uint8Array => pageOfSize(zlib.unzipSync(input), length, 'GZIP'),
  BROTLI: (input: Uint8Array, length: number): Uint8Array => pageOfSize(zlib.brotliDecompressSync(input), length, 'BROTLI'),
  LZ4_RAW: (input: Uint8Array, length: number): Uint8Array => decompressLz4Block(input, length),
};

function pageOfSize(page: Uint8Array, length: number, codec: string): Uint8Array {
  if (page.length !== length) throw new Error(`parquet ${codec} page holds ${page.length} bytes, its header says ${length}`);
  return page;
}

/**
 * A file as hyparquet's AsyncBuffer: each range read by position into one array. hyparquet's own goes through a read
 * stream and concatenates its 64 KiB chunks, a second copy of every byte of the file.
 */
export async function parquetFileBytes(file: string): Promise<ByteSource & { byteLength: number }> {
  const { size } = await fs.promises.stat(file);
  const readInto = async (target: Uint8Array, position: number): Promise<void> => {
    const handle = await fs.promises.open(file, 'r');
    try {
      for (let done = 0; done < target.length; ) {
        const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
        if (bytesRead === 0) throw new Error(`${file}: ends before byte ${position + target.length}`);
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
  };
  return {
    byteLength: size,
    readInto,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(Math.max(0, end - start));
      await readInto(bytes, start);
      return bytes.buffer;
    },
  };
}

/**
 * `input` uncompressed to `size` bytes: for Snappy into `output(size)` (a reused scratch array, or the values' place
 * in the result), for the other codecs into the array their decoder returns.
 */
function uncompress(input: Uint8Array, codec: string, size: number, output: (size: number) => Uint8Array): Uint8Array {
  if (codec === 'UNCOMPRESSED') return input;
  if (codec === 'SNAPPY') {
    const out = output(size);
    snappyUncompress(input, out);
    return out;
  }
  return decompressPage(input, size, codec as never, PARQUET_COMPRESSORS);
}

/**
 * Checks, run by run, that repetition levels cut the values into rows of one length (the list's dimension), across
 * pages. Level 0 starts a row, level 1 continues it; anything else is a nested list.
 */
class RowShape {
  dimension = -1;
  rows = 0;
  /** Values of the row being read; -1 before the first row. */
  private current = -1;

  /** Adds `length` levels equal to `level`; false when the rows are not lists of one length. */
  add(level: number, length: number): boolean {
    if (level === 1) {
      if (this.current < 0) return false;
      this.current += length;
      return true;
    }
    if (level !== 0) return false;
    // `length` rows start here; all but the last hold one value.
    if (!this.close()) return false;
    this.rows += length;
    if (length > 1 && !this.fix(1)) return false;
    this.current = 1;
    return true;
  }

  /** Ends the row being read; false when its length differs from the others. */
  close(): boolean {
    return this.current < 0 || this.fix(this.current);
  }

  private fix(length: number): boolean {
    if (this.dimension < 0) this.dimension = length;
    return this.dimension === length;
  }
}

/**
 * Walks `count` levels of an RLE/bit-packed hybrid run (Parquet's level encoding) in bytes[start, end), handing each
 * stretch of equal levels to `visit` without building an array of them. False when the bytes end early, a level is
 * wider than 8 bits, or `visit` refuses.
 */
function walkLevels(bytes: Uint8Array, start: number, end: number, bitWidth: number, count: number, visit: (level: number, length: number) => boolean): boolean {
  if (bitWidth < 1 || bitWidth > 8) return false;
  const mask = (1 << bitWidth) - 1;
  let pos = start;
  let seen = 0;
  // Equal levels of consecutive runs and bit-packed groups are merged before they are visited.
  let level = -1;
  let length = 0;
  while (seen < count) {
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end || shift > 28) return false;
      const byte = bytes[pos++];
      header |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    if ((header & 1) === 0) {
      // A run: one value (one byte, as bitWidth ≤ 8) repeated header >> 1 times.
      const run = Math.min(header >>> 1, count - seen);
      if (pos >= end) return false;
      const value = bytes[pos++];
      if (value !== level) {
        if (length > 0 && !visit(level, length)) return false;
        level = value;
        length = 0;
      }
      length += run;
      seen += run;
    } else {
      // Bit-packed: (header >> 1) groups of 8 values, bitWidth bits each, least significant bit first.
      const groupBytes = (header >>> 1) * bitWidth;
      if (pos + groupBytes > end) return false;
      const values = Math.min((header >>> 1) * 8, count - seen);
      for (let i = 0, bit = pos * 8; i < values; i++, bit += bitWidth) {
        const at = bit >>> 3;
        const shift = bit & 7;
        let value = bytes[at] >>> shift;
        if (shift + bitWidth > 8) value |= bytes[at + 1] << (8 - shift);
        value &= mask;
        if (value !== level) {
          if (length > 0 && !visit(level, length)) return false;
          level = value;
          length = 0;
        }
        length++;
      }
      pos += groupBytes;
      seen += values;
    }
  }
  return length === 0 || visit(level, length);
}

/** Rows of a vector column, their vectors back to back (`rows × dimension`). */
export interface FlatSpan {
  values: Float32Array | Float64Array;
  dimension: number;
  rows: number;
}

/** Bytes read from the file at a time: a group's column chunk can be gigabytes (pyarrow writes 1 Mi rows a group). */
const READ_BYTES = 16 << 20;

/** The pages of one column chunk, read from the file a window at a time. */
class PageReader {
  private bytes = new Uint8Array(0);
  private window = new Uint8Array(0);
  /** File offset of bytes[0], and the reading position in bytes. */
  private base: number;
  private at = 0;

  constructor(private readonly file: ByteSource, start: number, private readonly end: number) {
    this.base = start;
  }

  /** The next page's header and (still compressed) body, undefined at the chunk's end; throws on a damaged header. */
  async next(): Promise<{ header: ReturnType<typeof parquetHeader>; body: Uint8Array } | undefined> {
    for (;;) {
      if (this.base + this.at >= this.end) return undefined;
      let header: ReturnType<typeof parquetHeader> | undefined;
      const reader = { view: new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength), offset: this.at };
      try {
        header = parquetHeader(reader);
      } catch (err) {
        // A header cut by the window's end reads past it: the window moves on and the header is read again.
        if (this.base + this.bytes.length >= this.end) throw err;
      }
      if (header && reader.offset + header.compressed_page_size <= this.bytes.length) {
        const body = this.bytes.subarray(reader.offset, reader.offset + header.compressed_page_size);
        this.at = reader.offset + header.compressed_page_size;
        return { header, body };
      }
      if (this.base + this.bytes.length >= this.end) throw new Error('page runs past its column chunk');
      await this.refill(header ? reader.offset - this.at + header.compressed_page_size : 0);
    }
  }

  /**
   * Moves the window to start at the reading position, holding at least `needed` bytes (and READ_BYTES if there are).
   * A file reads into the same array each time: the pages of the window before have been decoded and copied out.
   */
  private async refill(needed: number): Promise<void> {
    const from = this.base + this.at;
    const length = Math.min(this.end - from, Math.max(needed, READ_BYTES));
    if (this.file.readInto) {
      if (this.window.length < length) this.window = new Uint8Array(length);
      this.bytes = this.window.subarray(0, length);
      await this.file.readInto(this.bytes, from);
    } else {
      this.bytes = new Uint8Array(await this.file.slice(from, from + length));
    }
    this.base = from;
    this.at = 0;
  }
}

/** A growable array of a column's values, handed out in spans of whole rows. */
class ValueBuffer {
  /** Allocated when the first value comes: after the group's last span there may be none. */
  values: Float32Array | Float64Array;
  filled = 0;

  constructor(private readonly double: boolean, private capacity: number) {
    this.values = this.allocate(0);
  }

  private allocate(length: number): Float32Array | Float64Array {
    return this.double ? new Float64Array(length) : new Float32Array(length);
  }

  /** Room for `count` more values. */
  reserve(count: number): void {
    if (this.filled + count <= this.values.length) return;
    this.capacity = Math.max(this.capacity, this.filled + count, this.values.length > 0 ? 2 * this.values.length : 0);
    const grown = this.allocate(this.capacity);
    grown.set(this.values.subarray(0, this.filled));
    this.values = grown;
  }

  /** The bytes `count` values take from the fill position (reserved first). */
  bytesFor(count: number): Uint8Array {
    const width = this.values.BYTES_PER_ELEMENT;
    return new Uint8Array(this.values.buffer, this.values.byteOffset + this.filled * width, count * width);
  }

  /** The first `count` values, as a view; the rest (part of a row) move to a new buffer. */
  take(count: number): Float32Array | Float64Array {
    const taken = this.values.subarray(0, count);
    const rest = this.values.subarray(count, this.filled);
    this.values = this.allocate(0);
    this.filled = 0;
    if (rest.length > 0) {
      this.reserve(rest.length);
      this.values.set(rest);
      this.filled = rest.length;
    }
    return taken;
  }
}

/**
 * BYTE_STREAM_SPLIT: byte k of value i sits at `split[k * count + i]` (the values' first bytes, then their second
 * bytes, ...); writes the `count` values of `width` bytes each back together into `out`.
 */
export function unsplitBytes(split: Uint8Array, count: number, width: number, out: Uint8Array): void {
  for (let k = 0; k < width; k++) {
    const stream = split.subarray(k * count, (k + 1) * count);
    for (let i = 0, at = k; i < count; i++, at += width) out[at] = stream[i];
  }
}

/**
 * hyparquet assembles a list column into one JavaScript array per row, which at 768 floats a row costs more than
 * everything else an import does. When every row holds a list of the same length with no null list and no null
 * element, and the values are PLAIN or dictionary encoded (pyarrow's default: a dictionary until it grows too large,
 * then PLAIN), the page values already are the vectors back to back; BYTE_STREAM_SPLIT pages (pyarrow's
 * `use_byte_stream_split`, chosen for floats because they compress better) are put back together in one pass.
 *
 * Yields the group's rows in spans of at least `minRows` rows (the last may be shorter). Returns true when it read
 * the whole group, false when it met something else (a ragged row, a null, a nested list, another encoding): the rows
 * already yielded are whole and right, and the caller reads the others through hyparquet's general path.
 */
export async function* readFlatVectors(
  file: ByteSource,
  metadata: FileMetaData,
  column: string,
  groupIndex: number,
  minRows: number,
): AsyncGenerator<FlatSpan, boolean> {
  const group = metadata.row_groups[groupIndex];
  const rows = Number(group.num_rows);
  const chunks = group.columns.filter((c) => c.meta_data?.path_in_schema[0] === column);
  // One leaf (list → element): a struct or map inside the list has several.
  if (chunks.length !== 1 || rows === 0) return false;
  const meta = chunks[0].meta_data!;
  if ((meta.type !== 'FLOAT' && meta.type !== 'DOUBLE') || meta.path_in_schema.length < 2) return false;
  const schemaPath = getTreePath(parquetSchema(metadata), meta.path_in_schema);
  const maxDefinition = getMaxDefinitionLevel(schemaPath);
  if (getMaxRepetitionLevel(schemaPath) !== 1) return false;
  const definitionWidth = 32 - Math.clz32(maxDefinition);
  const double = meta.type === 'DOUBLE';
  const valueBytes = double ? 8 : 4;
  // With no null, the chunk holds one value per level.
  const total = Number(meta.num_values);
  // Room for a span and a page or so (rows of one length hold total / rows values each).
  const out = new ValueBuffer(double, Math.min(total, Math.ceil((total / rows) * minRows * 1.1) + (1 << 18)));
  let read = 0;
  let yielded = 0;
  const shape = new RowShape();
  const visitShape = (level: number, length: number) => shape.add(level, length);
  const allDefined = (level: number) => level === maxDefinition;
  let dictionary: Float32Array | Float64Array | undefined;
  // Uncompressed pages (or values), one after the other.
  let scratch = new Uint8Array(0);
  const scratchOf = (size: number) => (scratch.length >= size ? scratch : (scratch = new Uint8Array(size))).subarray(0, size);

  const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
  const pages = new PageReader(file, start, start + Number(meta.total_compressed_size));
  while (read < total) {
    let page;
    try {
      page = await pages.next();
    } catch {
      return false;
    }
    if (!page) break;
    const { header, body } = page;
    // Levels and values of the page: [repetition, definition) of `levels`, the values' encoding in `data`.
    let levels: Uint8Array;
    let repetition: [number, number];
    let definition: [number, number];
    let data: Uint8Array;
    let count: number;
    let encoding: string;
    try {
      if (header.type === 'DICTIONARY_PAGE' && header.dictionary_page_header) {
        const h = header.dictionary_page_header;
        if (dictionary || (h.encoding !== 'PLAIN' && h.encoding !== 'PLAIN_DICTIONARY')) return false;
        const plain = uncompress(body, meta.codec, Number(header.uncompressed_page_size), scratchOf);
        dictionary = double ? new Float64Array(h.num_values) : new Float32Array(h.num_values);
        if (plain.length < h.num_values * valueBytes) return false;
        new Uint8Array(dictionary.buffer).set(plain.subarray(0, h.num_values * valueBytes));
        continue;
      } else if (header.type === 'DATA_PAGE' && header.data_page_header) {
        const h = header.data_page_header;
        count = h.num_values;
        encoding = h.encoding;
        // Version 1: the whole page is compressed; each level section is prefixed with its byte length.
        levels = uncompress(body, meta.codec, Number(header.uncompressed_page_size), scratchOf);
        const view = new DataView(levels.buffer, levels.byteOffset, levels.byteLength);
        repetition = [4, 4 + view.getUint32(0, true)];
        definition = maxDefinition > 0 ? [repetition[1] + 4, repetition[1] + 4 + view.getUint32(repetition[1], true)] : [repetition[1], repetition[1]];
        data = levels.subarray(definition[1]);
      } else if (header.type === 'DATA_PAGE_V2' && header.data_page_header_v2) {
        const h = header.data_page_header_v2;
        if (h.num_nulls) return false;
        count = h.num_values;
        encoding = h.encoding;
        // Version 2: levels first, uncompressed, with their lengths in the header; then the (compressed) values.
        levels = body;
        repetition = [0, h.repetition_levels_byte_length];
        definition = [repetition[1], repetition[1] + h.definition_levels_byte_length];
        const values = body.subarray(definition[1]);
        const size = Number(header.uncompressed_page_size) - definition[1];
        // PLAIN values that fill the page exactly are uncompressed straight to their place in the result.
        const inPlace = encoding === 'PLAIN' && size === count * valueBytes;
        if (inPlace) out.reserve(count);
        data = h.is_compressed === false || size === 0 ? values : uncompress(values, meta.codec, size, inPlace ? () => out.bytesFor(count) : scratchOf);
      } else {
        // An index page or another kind: the general path knows what to make of it.
        return false;
      }
      if (definition[1] > levels.length || read + count > total) return false;
      if (!walkLevels(levels, repetition[0], repetition[1], 1, count, visitShape)) return false;
      if (maxDefinition > 0 && !walkLevels(levels, definition[0], definition[1], definitionWidth, count, allDefined)) return false;
      out.reserve(count);
      if (encoding === 'PLAIN') {
        if (data.length < count * valueBytes) return false;
        // Copied as bytes (values need not sit at a multiple of 4 in a page), unless they were uncompressed in place.
        if (data.buffer !== out.values.buffer) out.bytesFor(count).set(data.subarray(0, count * valueBytes));
      } else if (encoding === 'BYTE_STREAM_SPLIT') {
        if (data.length < count * valueBytes) return false;
        unsplitBytes(data, count, valueBytes, out.bytesFor(count));
      } else if ((encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') && dictionary && data.length > 0) {
        // A bit width byte, then the dictionary indices as an RLE/bit-packed hybrid run.
        const indices = new Int32Array(count);
        readRleBitPackedHybrid({ view: new DataView(data.buffer, data.byteOffset, data.byteLength), offset: 1 }, data[0], indices, data.length - 1);
        const target = out.values;
        for (let i = 0, at = out.filled; i < count; i++, at++) {
          const index = indices[i];
          if (index >= dictionary.length) return false;
          target[at] = dictionary[index];
        }
      } else {
        return false;
      }
    } catch {
      // An unsupported codec or a damaged page: the general path reports it properly.
      return false;
    }
    out.filled += count;
    read += count;
    // Whole rows so far: every row but the one being read, or all of them at the chunk's end.
    const last = read === total;
    if (last && !shape.close()) return false;
    const whole = (last ? shape.rows : shape.rows - 1) - yielded;
    if (shape.dimension > 0 && (whole >= minRows || (last && whole > 0))) {
      if (shape.dimension * whole > out.filled) return false;
      yield { values: out.take(shape.dimension * whole), dimension: shape.dimension, rows: whole };
      yielded += whole;
    }
  }
  return read === total && yielded === rows && out.filled === 0;
}
