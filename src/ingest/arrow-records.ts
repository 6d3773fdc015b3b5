// Reads an Apache Arrow IPC stream or file (apache-arrow) as raw batch records {id, vector, metadata?, text?} for
// validation, checking first what apache-arrow would otherwise trust in a client's bytes.
import { DataType, tableFromIPC, type Data, type Table, type Vector } from 'apache-arrow';
import { ByteBuffer } from 'flatbuffers';
import { VecStoreError } from '../errors.js';
import { DecompressionBudgetError, readWithinBudget } from './arrow-compression.js';
import { isPlainFloat32, jsonValue, vectorElementReader, type ElementReader } from './arrow-values.js';

/**
 * apache-arrow reads each message's flatbuffer header through the flatbuffers package, trusting every vector length
 * it finds: one damaged byte in a schema's field count made it build Field objects until the thread ran out of heap
 * (seconds of CPU and hundreds of MB before the parse thread's limits stopped it). Every element takes at least a
 * byte, so a vector that claims to run past the end of its buffer is damage, refused here for apache-arrow and any
 * other reader of flatbuffers in the process (only apache-arrow uses them).
 */
const vectorLength = ByteBuffer.prototype.__vector_len;
ByteBuffer.prototype.__vector_len = function checkedVectorLength(this: ByteBuffer, offset: number): number {
  const length = vectorLength.call(this, offset);
  const first = offset + this.readInt32(offset) + 4;
  if (length < 0 || first + length > this.capacity()) throw new Error(`a flatbuffer vector claims ${length} entries past the end of its message`);
  return length;
};

/** The media type of an Arrow IPC stream (what pyarrow, Polars and DuckDB write). */
export const ARROW_STREAM_TYPE = 'application/vnd.apache.arrow.stream';

/** The media type of an Arrow IPC file (a feather v2 file): batch-upsert reads both forms. */
export const ARROW_FILE_TYPE = 'application/vnd.apache.arrow.file';

/** The rows of a decoded stream: `rowAt(i)` builds record i lazily and may throw a per-record VecStoreError. */
export interface ArrowRows {
  count: number;
  rowAt(index: number): unknown;
}

/** The end-of-stream marker: continuation token 0xFFFFFFFF then a zero length. */
const EOS = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

/** The magic an Arrow IPC file (a feather v2 file) starts and ends with. */
const FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31];

/**
 * An Arrow IPC file rather than a stream, whole: its footer (read from the end) locates every batch, so a cut file
 * fails to read instead of reading as fewer rows, and it is taken too (a `.feather` or `.arrow` file posted as is).
 */
function isArrowFile(bytes: Uint8Array): boolean {
  const at = bytes.length - FILE_MAGIC.length;
  return at >= FILE_MAGIC.length && FILE_MAGIC.every((b, i) => bytes[i] === b && bytes[at + i] === b);
}

/** Whether a body starts as an Arrow IPC stream (a continuation token) or file (its magic) does: JSON cannot. */
export function startsLikeArrow(bytes: Uint8Array): boolean {
  const stream = bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff;
  return stream || (bytes.length >= FILE_MAGIC.length && FILE_MAGIC.every((b, i) => bytes[i] === b));
}

/**
 * What the compressed buffers of a body may decompress to: float vectors barely compress, ids and metadata do, but a
 * body that claims more than this (at most 1 GiB) is a decompression bomb, not a batch.
 */
const decompressedBudget = (bodyBytes: number) => Math.min(2 ** 30, 16 * bodyBytes + 2 ** 20);

/**
 * Decodes a complete IPC stream (or file), uncompressed or with LZ4_FRAME or ZSTD buffers. The stream must end with
 * its end-of-stream marker: a stream cut off between two messages is otherwise indistinguishable from a shorter
 * valid one, and a truncated upload must write nothing.
 */
export function decodeArrowStream(bytes: Uint8Array): ArrowRows {
  if (!isArrowFile(bytes) && (bytes.length < EOS.length || EOS.some((b, i) => bytes[bytes.length - EOS.length + i] !== b))) {
    throw new VecStoreError('invalid_arrow', 'body: the Arrow IPC stream does not end with its end-of-stream marker (truncated upload?)');
  }
  let table: Table;
  try {
    table = readWithinBudget(decompressedBudget(bytes.length), () => tableFromIPC(bytes));
  } catch (err) {
    if (err instanceof DecompressionBudgetError) throw new VecStoreError('payload_too_large', `body: ${err.message}`);
    throw new VecStoreError('invalid_arrow', `body: malformed Arrow IPC stream (${(err as Error).message})`);
  }
  if (table.schema.fields.length === 0) throw new VecStoreError('invalid_arrow', 'body: the Arrow IPC stream has no schema');
  return arrowTableRows(table);
}

/** The table's column names, for an error that says which are there (names are case-sensitive: `ID` is not `id`). */
function columnsOf(table: Table): string {
  const names = table.schema.fields.map((f) => JSON.stringify(f.name));
  return `its columns: ${names.slice(0, 10).join(', ')}${names.length > 10 ? `, and ${names.length - 10} more` : ''}`;
}

/** The rows of an Arrow table with columns `id`, `vector`, and optionally `metadata` and `text`. */
function arrowTableRows(table: Table): ArrowRows {
  const id = table.getChild('id');
  const vector = table.getChild('vector');
  if (!id) throw new VecStoreError('invalid_arrow', `id: the Arrow stream has no "id" column (${columnsOf(table)})`);
  if (!vector) throw new VecStoreError('invalid_arrow', `vector: the Arrow stream has no "vector" column (${columnsOf(table)})`);
  // A dictionary-encoded column (Polars' categoricals, pyarrow's dictionary_encode) reads as its values.
  const idValues = DataType.isDictionary(id.type) ? id.type.dictionary : id.type;
  // Utf8View is what Polars writes by default (its newest compat level).
  if (!DataType.isUtf8(idValues) && !DataType.isLargeUtf8(idValues) && !DataType.isUtf8View(idValues) && !DataType.isInt(idValues)) {
    throw new VecStoreError('invalid_arrow', `id: must be a utf8 (or integer) column, got ${String(id.type)}`);
  }
  const metadata = table.getChild('metadata');
  const text = table.getChild('text');
  const vectorAt = arrowVectorReader(vector, 'vector');
  return {
    count: table.numRows,
    rowAt(index) {
      try {
        const rawId = id.get(index);
        return {
          id: typeof rawId === 'bigint' || typeof rawId === 'number' ? String(rawId) : rawId,
          vector: vectorAt(index),
          metadata: metadata ? metadataAt(metadata, index) : undefined,
          text: text ? text.get(index) : undefined,
        };
      } catch (err) {
        // apache-arrow reads values lazily and trusts the stream's offsets and children: damage the reader did not
        // catch surfaces here, as that record's error.
        if (err instanceof VecStoreError) throw err;
        throw new VecStoreError('invalid_arrow', `records[${index}]: unreadable in the Arrow stream (${(err as Error).message})`);
      }
    },
  };
}

/**
 * Row i's vector, read straight from the column's buffers: a Float32Array view for float32 without nulls (validated
 * and copied later), plain numbers otherwise, so the usual validation reports nulls, non-finite and float32 overflow.
 * A column whose list values are not numbers is refused at once (invalid_arrow naming `name` and the type).
 */
export function arrowVectorReader(column: Vector, name: string): (index: number) => unknown {
  if (!DataType.isFixedSizeList(column.type) && !DataType.isList(column.type) && !DataType.isLargeList(column.type)) {
    throw new VecStoreError('invalid_arrow', `${name}: must be a fixed-size list (or list) of floats, got ${String(column.type)}`);
  }
  return vectorReader(column, vectorElementReader(name, column.type.children[0].type));
}

function vectorReader(column: Vector, element: ElementReader): (index: number) => unknown {
  const chunks = column.data as Data[];
  const starts: number[] = [];
  let total = 0;
  for (const chunk of chunks) {
    starts.push(total);
    total += chunk.length;
  }
  return (index) => {
    let c = chunks.length - 1;
    while (c > 0 && starts[c] > index) c--;
    const data = chunks[c];
    const row = index - starts[c];
    if (!isValid(data, row)) return null;
    const child = data.children[0];
    let begin: number;
    let end: number;
    if (DataType.isFixedSizeList(data.type)) {
      const size = data.type.listSize;
      begin = (data.offset + row) * size;
      end = begin + size;
    } else {
      const offsets = data.valueOffsets as Int32Array | BigInt64Array;
      begin = Number(offsets[data.offset + row]);
      end = Number(offsets[data.offset + row + 1]);
    }
    // Offsets come from the client: a damaged stream must not make the reader build an array of a billion nulls.
    if (!(begin >= 0 && end >= begin && end <= child.length)) {
      throw new VecStoreError('invalid_arrow', `records[${index}].vector: list offsets ${begin}..${end} outside the column's ${child.length} values (damaged stream?)`);
    }
    const values = child.values as ArrayLike<number | bigint>;
    if (isPlainFloat32(child)) return (values as Float32Array).subarray(child.offset + begin, child.offset + end);
    const out: unknown[] = new Array(end - begin);
    for (let i = begin; i < end; i++) out[i - begin] = isValid(child, i) ? element(values, child.offset + i) : null;
    return out;
  };
}

function isValid(data: Data, row: number): boolean {
  if (data.nullCount === 0 || !data.nullBitmap || data.nullBitmap.length === 0) return true;
  const bit = data.offset + row;
  return (data.nullBitmap[bit >> 3] & (1 << (bit & 7))) !== 0;
}

/** Metadata of row i: a utf8 column holds JSON text, a struct column holds the object itself. */
function metadataAt(column: Vector, index: number): unknown {
  const value: unknown = column.get(index);
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') {
    try {
      return JSON.parse(value);
    } catch (err) {
      throw new VecStoreError('validation', `records[${index}].metadata: the metadata column holds JSON text, and this row's is malformed (${(err as Error).message})`);
    }
  }
  return jsonValue(column.type, value);
}
