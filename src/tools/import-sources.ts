// The files `vecstore import` reads (.parquet, .arrow/.feather, .jsonl, .npy, .fvecs/.bvecs) as batches of rows to send.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { tableFromIPC, type Table } from 'apache-arrow';
import { parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { VecStoreError } from '../errors.js';
import { arrowVectorReader } from '../ingest/arrow-records.js';
import { jsonValue } from '../ingest/arrow-values.js';
// Registers the LZ4 and ZSTD codecs: pyarrow's feather files are LZ4-compressed unless told otherwise.
import '../ingest/arrow-compression.js';
import { DatasetError, readVectors } from '../io/vector-files.js';
import { PARQUET_COMPRESSORS, parquetFileBytes, readFlatVectors } from './parquet-vectors.js';

/** Which columns (or JSONL keys) hold what; absent names mean `id`, `vector`, `metadata`, `text`. */
export interface ColumnNames {
  id?: string;
  vector?: string;
  text?: string;
  /** Columns gathered into the metadata object; without them a `metadata` column (object or JSON text) is used. */
  metadata?: string[];
}

/** A row the file holds but that cannot be sent (no id, no vector, ragged vector, bad JSON): reported by row number. */
export interface RejectedRow {
  row: number;
  id?: string;
  error: string;
}

/** Rows as columns, vectors back to back: sent as an Arrow stream. */
export interface ColumnRows {
  kind: 'columns';
  /** File row number (from 1) of each row. */
  rows: number[];
  ids: string[];
  dimension: number;
  vectors: Float32Array;
  metadata?: Array<Record<string, unknown> | undefined>;
  texts?: Array<string | undefined>;
  rejected: RejectedRow[];
}

/** JSONL rows as records: sent as JSON so the server validates them exactly as it validates any JSON batch. */
export interface JsonRows {
  kind: 'json';
  rows: number[];
  records: Array<{ id?: unknown; vector?: unknown; metadata?: unknown; text?: unknown }>;
  rejected: RejectedRow[];
}

export type ImportRows = ColumnRows | JsonRows;

/** An opened file: its row count when known up front, and its rows in batches. */
export interface ImportSource {
  total: number | undefined;
  batches(size: number): AsyncIterable<ImportRows>;
}

/** `-`: JSONL read from standard input (`… | vecstore import - --url …`), as it arrives, with no total known. */
const STDIN = '-';

/**
 * A server's per-record message without its `records[i].` prefix: the import names rows by their place in the file.
 */
export function withoutRecordPrefix(message: string): string {
  return message.replace(/^records\[\d+\]\.?/, '') || message;
}

export const IMPORT_EXTENSIONS = ['.parquet', '.arrow', '.arrows', '.feather', '.ipc', '.jsonl', '.ndjson', '.npy', '.fvecs', '.bvecs'];

/** Opens a file by its extension. Throws a DatasetError (one line naming the file) for what cannot be read at all. */
export async function openImportSource(file: string, names: ColumnNames): Promise<ImportSource> {
  if (file === STDIN) return openJsonl(file, names);
  const ext = path.extname(file).toLowerCase();
  if (!fs.existsSync(file)) throw new DatasetError(file, 'no such file');
  switch (ext) {
    case '.parquet':
      return openParquet(file, names);
    // `.arrows` is the Arrow stream's registered extension; Polars' write_ipc files are often named `.ipc`.
    case '.arrow':
    case '.arrows':
    case '.feather':
    case '.ipc':
      return openArrowFile(file, names);
    case '.jsonl':
    case '.ndjson':
      return openJsonl(file, names);
    case '.npy':
    case '.fvecs':
    case '.bvecs':
      return openVectorFile(file);
    default:
      throw new DatasetError(file, `unknown extension '${ext}' (expected one of ${IMPORT_EXTENSIONS.join(', ')})`);
  }
}

/** Collects rows (objects keyed by column name) into a column batch, rejecting the rows that cannot be represented. */
export class ColumnBatchBuilder {
  private readonly names: Required<Omit<ColumnNames, 'metadata'>> & { metadata: string[] | undefined };
  private out!: ColumnRows;
  /**
   * Vector values so far. While the rows' float32 vectors follow each other in one array of the source (a Parquet
   * group read flat, an Arrow column), a view of that array: sources never change what they have handed over, and a
   * copy here would be the import's largest. Otherwise the builder's own array, sized by the largest batch so far.
   */
  private values: Float32Array = new Float32Array(0);
  private viewing = false;
  private used = 0;
  private largest = 0;

  constructor(names: ColumnNames, private readonly hasText: boolean, private readonly hasMetadata: boolean) {
    this.names = { id: names.id ?? 'id', vector: names.vector ?? 'vector', text: names.text ?? 'text', metadata: names.metadata };
    this.reset();
  }

  private reset(): void {
    this.out = { kind: 'columns', rows: [], ids: [], dimension: 0, vectors: new Float32Array(0), rejected: [] };
    if (this.hasMetadata) this.out.metadata = [];
    if (this.hasText) this.out.texts = [];
    this.values = new Float32Array(0);
    this.viewing = false;
    this.used = 0;
  }

  get size(): number {
    return this.out.rows.length + this.out.rejected.length;
  }

  /** Adds row `row` of the file, or rejects it; `vectorProblem` is why its vector could not be read at all. */
  add(row: number, record: Record<string, unknown>, vectorProblem?: string): void {
    const rawId = plainValue(record[this.names.id]);
    const id = typeof rawId === 'number' ? String(rawId) : rawId;
    const reject = (error: string): void => {
      this.out.rejected.push({ row, ...(typeof id === 'string' ? { id } : {}), error });
    };
    if (typeof id !== 'string') return reject(`${this.names.id}: missing or not a string`);
    if (vectorProblem !== undefined) return reject(vectorProblem);
    const vector = record[this.names.vector];
    if (vector === null || vector === undefined || typeof vector !== 'object' || typeof (vector as ArrayLike<unknown>).length !== 'number') {
      return reject(`${this.names.vector}: missing or not a list of numbers`);
    }
    const list = vector as ArrayLike<unknown>;
    if (this.out.rows.length === 0) this.out.dimension = list.length;
    if (list.length !== this.out.dimension) return reject(`${this.names.vector}: expected ${this.out.dimension} dimensions, got ${list.length}`);
    // A float column read flat is numbers by construction; a list of JavaScript values is checked element by element.
    const floats = list instanceof Float32Array || list instanceof Float64Array;
    for (let i = 0; !floats && i < list.length; i++) {
      if (typeof list[i] !== 'number') return reject(`${this.names.vector}[${i}]: must be a number, got ${list[i] === null ? 'null' : typeof list[i]}`);
    }
    let metadata: Record<string, unknown> | undefined;
    if (this.hasMetadata) {
      try {
        metadata = this.metadataOf(record);
      } catch (err) {
        return reject((err as Error).message);
      }
    }
    this.append(list as ArrayLike<number>);
    this.out.rows.push(row);
    this.out.ids.push(id);
    this.out.metadata?.push(metadata);
    const text = record[this.names.text];
    this.out.texts?.push(typeof text === 'string' ? text : undefined);
  }

  private append(list: ArrayLike<number>): void {
    if (list instanceof Float32Array && (this.used === 0 || (this.viewing && list.buffer === this.values.buffer && list.byteOffset === this.values.byteOffset + 4 * this.used))) {
      if (this.used === 0) this.values = list;
      this.viewing = true;
      this.used += list.length;
      return;
    }
    if (this.viewing || this.used + list.length > this.values.length) {
      const own = new Float32Array(Math.max(1024, this.largest, 2 * (this.used + list.length)));
      own.set(this.taken());
      this.values = own;
      this.viewing = false;
    }
    if (list instanceof Float32Array || list instanceof Float64Array) this.values.set(list, this.used);
    else for (let i = 0; i < list.length; i++) this.values[this.used + i] = list[i];
    this.used += list.length;
  }

  /** The vectors added so far. */
  private taken(): Float32Array {
    return this.viewing ? new Float32Array(this.values.buffer, this.values.byteOffset, this.used) : this.values.subarray(0, this.used);
  }

  private metadataOf(record: Record<string, unknown>): Record<string, unknown> | undefined {
    if (this.names.metadata) {
      const out: Record<string, unknown> = {};
      for (const name of this.names.metadata) if (record[name] !== undefined) out[name] = plainValue(record[name]);
      return out;
    }
    const value = record.metadata;
    if (value === null || value === undefined) return undefined;
    if (typeof value === 'string') {
      try {
        return JSON.parse(value) as Record<string, unknown>;
      } catch {
        throw new Error('metadata: not valid JSON text');
      }
    }
    return plainValue(value) as Record<string, unknown>;
  }

  /** The batch so far, and a fresh one started. */
  take(): ColumnRows {
    const out = this.out;
    out.vectors = this.taken();
    this.largest = Math.max(this.largest, this.used);
    this.reset();
    return out;
  }
}

function checkColumns(file: string, available: string[], names: ColumnNames): { hasText: boolean; hasMetadata: boolean } {
  for (const [flag, name] of [['--id-column', names.id ?? 'id'], ['--vector-column', names.vector ?? 'vector']] as const) {
    if (!available.includes(name)) throw new DatasetError(file, `no column "${name}" (${flag}); columns: ${available.join(', ')}`);
  }
  for (const name of names.metadata ?? []) if (!available.includes(name)) throw new DatasetError(file, `no column "${name}" (--metadata-columns); columns: ${available.join(', ')}`);
  if (names.text !== undefined && !available.includes(names.text)) throw new DatasetError(file, `no column "${names.text}" (--text-column)`);
  return { hasText: available.includes(names.text ?? 'text'), hasMetadata: names.metadata !== undefined || available.includes('metadata') };
}

async function openParquet(file: string, names: ColumnNames): Promise<ImportSource> {
  const buffer = await parquetFileBytes(file);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new DatasetError(file, `not a readable Parquet file (${(err as Error).message})`);
  }
  const available = parquetSchema(metadata).children.map((c) => c.element.name);
  const { hasText, hasMetadata } = checkColumns(file, available, names);
  const columns = [...new Set([names.id ?? 'id', names.vector ?? 'vector', ...(hasText ? [names.text ?? 'text'] : []), ...(names.metadata ?? (hasMetadata ? ['metadata'] : []))])];
  const total = Number(metadata.num_rows);
  const groups = metadata.row_groups.map((g) => Number(g.num_rows));
  const vectorName = names.vector ?? 'vector';
  const read = async (rowStart: number, rowEnd: number, only: string[]): Promise<Array<Record<string, unknown>>> => {
    let rows: Array<Record<string, unknown>> = [];
    // The offset index (when the writer wrote one) lets a window of a large row group decode only its own pages.
    await parquetRead({ file: buffer, metadata, columns: only, rowStart, rowEnd, rowFormat: 'object', useOffsetIndex: true, compressors: PARQUET_COMPRESSORS, onComplete: (data) => { rows = data; } });
    return rows;
  };
  return {
    total,
    async *batches(size) {
      const builder = new ColumnBatchBuilder(names, hasText, hasMetadata);
      const others = columns.filter((c) => c !== vectorName);
      function* cut(from: number, rows: Array<Record<string, unknown>>): Generator<ColumnRows> {
        for (let b = 0; b < rows.length; b += size) {
          for (let i = b; i < Math.min(rows.length, b + size); i++) builder.add(from + i + 1, rows[i]);
          yield builder.take();
        }
      }
      // The vector column is read flat in spans of rows; the other columns (ids, metadata: a small part of the bytes)
      // in larger windows, as each window of a large row group decodes its column from the chunk's start.
      const span = Math.max(4 * size, 20_000);
      const otherWindow = 10 * span;
      let groupStart = 0;
      for (let g = 0; g < groups.length; g++) {
        const groupEnd = groupStart + groups[g];
        let next = groupStart;
        let window: { start: number; rows: Array<Record<string, unknown>> } = { start: next, rows: [] };
        const spans = readFlatVectors(buffer, metadata, vectorName, g, span);
        for (let step = await spans.next(); !step.done; step = await spans.next()) {
          const { values, dimension, rows } = step.value;
          if (next + rows > window.start + window.rows.length) window = { start: next, rows: await read(next, Math.min(groupEnd, next + Math.max(rows, otherWindow)), others) };
          // Copies of the window's rows: the window outlives this span and must not keep its vectors alive.
          const records = window.rows.slice(next - window.start, next - window.start + rows).map((r, i) => ({ ...r, [vectorName]: values.subarray(i * dimension, (i + 1) * dimension) }));
          yield* cut(next, records);
          next += rows;
        }
        // What the flat reader could not read (the whole group, or its end) goes through hyparquet's general path,
        // which decodes a list column page by page from its chunk's start whatever the window: a group of modest size
        // is read at once, only a large one in windows.
        const step = groupEnd - next <= span ? groupEnd - next : span;
        for (let from = next; from < groupEnd; from += step) yield* cut(from, await read(from, Math.min(groupEnd, from + step), columns));
        groupStart = groupEnd;
      }
    },
  };
}

async function openArrowFile(file: string, names: ColumnNames): Promise<ImportSource> {
  let table: Table;
  try {
    table = tableFromIPC(fs.readFileSync(file));
  } catch (err) {
    throw new DatasetError(file, `not a readable Arrow IPC file or stream (${(err as Error).message})`);
  }
  const available = table.schema.fields.map((f) => f.name);
  const { hasText, hasMetadata } = checkColumns(file, available, names);
  const columns = [...new Set([names.id ?? 'id', names.vector ?? 'vector', ...(hasText ? [names.text ?? 'text'] : []), ...(names.metadata ?? (hasMetadata ? ['metadata'] : []))])];
  const vectorName = names.vector ?? 'vector';
  let vectorAt: (index: number) => unknown;
  try {
    vectorAt = arrowVectorReader(table.getChild(vectorName)!, vectorName);
  } catch (err) {
    if (err instanceof VecStoreError) throw new DatasetError(file, err.message);
    throw err;
  }
  // Every other column's cells as JSON data, read by their type (timestamps as ISO strings, decimals as numbers).
  const others = columns.filter((name) => name !== vectorName).map((name) => [name, table.getChild(name)!] as const);
  return {
    total: table.numRows,
    async *batches(size) {
      const builder = new ColumnBatchBuilder(names, hasText, hasMetadata);
      for (let start = 0; start < table.numRows; start += size) {
        const end = Math.min(table.numRows, start + size);
        for (let i = start; i < end; i++) {
          const record: Record<string, unknown> = {};
          for (const [name, column] of others) record[name] = jsonValue(column.type, column.get(i));
          let vectorProblem: string | undefined;
          try {
            record[vectorName] = vectorAt(i);
          } catch (err) {
            // A damaged list (offsets outside its values) is that row's problem, reported by its row number.
            if (!(err instanceof VecStoreError)) throw err;
            vectorProblem = withoutRecordPrefix(err.message);
          }
          builder.add(i + 1, record, vectorProblem);
        }
        yield builder.take();
      }
    },
  };
}

async function openJsonl(file: string, names: ColumnNames): Promise<ImportSource> {
  const input = () => (file === STDIN ? process.stdin : fs.createReadStream(file));
  // Counting lines first is a fast byte scan, and gives the progress bar its total (standard input is read once).
  let total: number | undefined;
  if (file !== STDIN) {
    total = 0;
    let last = 10;
    for await (const chunk of fs.createReadStream(file)) {
      for (const byte of chunk as Buffer) if (byte === 10) total++;
      if ((chunk as Buffer).length > 0) last = (chunk as Buffer)[(chunk as Buffer).length - 1];
    }
    // A last line without its newline is a line too.
    if (last !== 10) total++;
  }
  const rename = (o: Record<string, unknown>) => {
    const record: JsonRows['records'][number] = { id: o[names.id ?? 'id'], vector: o[names.vector ?? 'vector'] };
    if (names.metadata) {
      const m: Record<string, unknown> = {};
      for (const name of names.metadata) if (o[name] !== undefined) m[name] = o[name];
      record.metadata = m;
    } else if (o.metadata !== undefined) record.metadata = o.metadata;
    const text = o[names.text ?? 'text'];
    if (text !== undefined) record.text = text;
    return record;
  };
  return {
    total,
    async *batches(size) {
      let batch: JsonRows = { kind: 'json', rows: [], records: [], rejected: [] };
      let line = 0;
      for await (const text of readline.createInterface({ input: input(), crlfDelay: Infinity })) {
        line++;
        if (text.trim() === '') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          batch.rejected.push({ row: line, error: `not valid JSON (${(err as Error).message})` });
          continue;
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          batch.rejected.push({ row: line, error: 'must be a JSON object' });
          continue;
        }
        batch.rows.push(line);
        batch.records.push(rename(parsed as Record<string, unknown>));
        if (batch.rows.length + batch.rejected.length >= size) {
          yield batch;
          batch = { kind: 'json', rows: [], records: [], rejected: [] };
        }
      }
      if (batch.rows.length + batch.rejected.length > 0) yield batch;
    },
  };
}

/** .npy, .fvecs and .bvecs hold vectors only: a row's id is its row number counted from 0, as in ANN benchmarks. */
async function openVectorFile(file: string): Promise<ImportSource> {
  const data = readVectors(file);
  return {
    total: data.count,
    async *batches(size) {
      for (let start = 0; start < data.count; start += size) {
        const end = Math.min(data.count, start + size);
        const rows: number[] = [];
        const ids: string[] = [];
        for (let i = start; i < end; i++) {
          rows.push(i + 1);
          ids.push(String(i));
        }
        yield { kind: 'columns', rows, ids, dimension: data.dim, vectors: data.data.subarray(start * data.dim, end * data.dim), rejected: [] };
      }
    },
  };
}

/** hyparquet's values as plain JSON data: dates as ISO strings, lists and objects through their toJSON, 64-bit integers as numbers. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number | bigint>, Number);
  if (Array.isArray(value)) return value.map(plainValue);
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return plainValue(json.call(value));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plainValue(v);
  return out;
}
