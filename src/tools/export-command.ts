// `vecstore export --out FILE`: pages through the scroll route and writes every record to .parquet or .jsonl.
import fs from 'node:fs';
import path from 'node:path';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { startProgress } from './progress.js';
import { activeCount, scrollPage, type ScrollPage, type ServerTarget } from './server-client.js';

export interface ExportOptions extends ServerTarget {
  out: string;
  /** Records per scroll page. */
  pageSize: number;
  /** Only the records this filter matches (the query filter language). */
  filter?: string;
  progress?: boolean;
}

export const EXPORT_EXTENSIONS = ['.parquet', '.jsonl'];

type Rows = ScrollPage['records'];

/** Rows per Parquet row group: large enough for compact files, small enough to hold in memory at 768-d. */
const ROW_GROUP_ROWS = 10_000;

/** The Parquet layout `vecstore import` reads back (and pyarrow reads as list<float>, json and string columns). */
const PARQUET_SCHEMA = [
  { name: 'root', num_children: 4 },
  { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'vector', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
  { name: 'metadata', type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' },
  { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
] as const;

/** Writes the records of a file format; `close` completes the file. */
interface RecordSink {
  write(rows: Rows): void;
  close(): void;
}

function jsonlSink(file: string): RecordSink {
  const fd = fs.openSync(file, 'w');
  return {
    write(rows) {
      if (rows.length === 0) return;
      fs.writeSync(fd, rows.map((r) => JSON.stringify({ id: r.id, vector: r.vector, metadata: r.metadata, ...(r.text !== undefined ? { text: r.text } : {}) })).join('\n') + '\n');
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

function parquetSink(file: string): RecordSink {
  const writer = new ParquetWriter({ writer: fileWriter(file), schema: PARQUET_SCHEMA as never, statistics: false });
  let pending: Rows = [];
  const flush = () => {
    if (pending.length === 0) return;
    const rows = pending;
    pending = [];
    writer.write({
      columnData: [
        { name: 'id', data: rows.map((r) => r.id) },
        { name: 'vector', data: rows.map((r) => r.vector ?? []) },
        { name: 'metadata', data: rows.map((r) => r.metadata) },
        { name: 'text', data: rows.map((r) => r.text ?? null) },
      ],
      rowGroupSize: rows.length,
    }) as void;
  };
  return {
    write(rows) {
      pending.push(...rows);
      if (pending.length >= ROW_GROUP_ROWS) flush();
    },
    close() {
      flush();
      writer.finish();
    },
  };
}

/** Exports every active record (with vector, metadata and text), or those `filter` matches; returns how many and how long it took. */
export async function runExport(o: ExportOptions): Promise<{ records: number; seconds: number }> {
  const started = performance.now();
  const ext = path.extname(o.out).toLowerCase();
  if (!EXPORT_EXTENSIONS.includes(ext)) throw new Error(`--out ${o.out}: unknown extension '${ext}' (expected ${EXPORT_EXTENSIONS.join(' or ')})`);
  const total = await activeCount(o, o.filter);
  // Written under a temporary name and renamed at the end, so a failed export never leaves a plausible partial file.
  const tmp = `${o.out}.partial`;
  const sink = ext === '.parquet' ? parquetSink(tmp) : jsonlSink(tmp);
  const progress = startProgress('exporting', total, o.progress);
  let records = 0;
  try {
    const fetchPage = (cursor: string | null): Promise<ScrollPage> => {
      const page = scrollPage(o, { limit: o.pageSize, cursor, include_vectors: true, include_text: true, ...(o.filter !== undefined ? { filter: o.filter } : {}) });
      // Awaited in the next round; until then a failure must not count as an unhandled rejection.
      page.catch(() => undefined);
      return page;
    };
    // The next page is asked for before this one is written, so the server encodes it while the file is written.
    let next: Promise<ScrollPage> | undefined = fetchPage(null);
    while (next) {
      const page: ScrollPage = await next;
      next = page.next_cursor === null ? undefined : fetchPage(page.next_cursor);
      sink.write(page.records);
      records += page.records.length;
      if (records > total) progress.setTotal(records);
      progress.update(records);
    }
    sink.close();
    fs.renameSync(tmp, o.out);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  } finally {
    progress.stop();
  }
  return { records, seconds: (performance.now() - started) / 1000 };
}
