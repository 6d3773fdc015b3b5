// `vecstore import FILE...`: reads files in batches and sends them to batch-upsert (Arrow streams, or JSON for JSONL).
import fs from 'node:fs';
import path from 'node:path';
import { encodeArrowBatch } from '../ingest/arrow-encode.js';
import { DatasetError } from '../io/vector-files.js';
import { IMPORT_EXTENSIONS, openImportSource, withoutRecordPrefix, type ColumnNames, type ImportRows, type ImportSource, type RejectedRow } from './import-sources.js';
import { startProgress } from './progress.js';
import { existingIds, postArrowBatch, postJsonBatch, type BatchAnswer, type ServerTarget } from './server-client.js';

export interface ImportOptions extends ServerTarget {
  /** Files, or directories whose files of a known extension are loaded (see importFiles). */
  files: string[];
  names: ColumnNames;
  /** Rows per request (at most the server's --max-batch). */
  batchSize: number;
  /** Requests in flight. */
  concurrency: number;
  /** Skip rows whose id the collection already holds. */
  resume: boolean;
  /** Stop at the first bad row instead of reporting it and going on. */
  strict: boolean;
  /** Where bad rows are reported (default stderr). */
  report?: (line: string) => void;
  progress?: boolean;
}

export interface ImportSummary {
  /** The files read (a directory counts its files). */
  files: number;
  rows: number;
  inserted: number;
  updated: number;
  skipped: number;
  bad: number;
  seconds: number;
}

/** A bad row under --strict: the import stops (the rows of batches already acknowledged stay written). */
export class StrictImportError extends Error {}

export async function runImport(o: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const report = o.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const files = importFiles(o.files);
  // The first file is opened (its columns checked) before anything else; the others one at a time, when their turn
  // comes, as an Arrow file is read whole into memory.
  const first = await openImportSource(files[0], o.names);
  const skip = o.resume ? await existingIds(o) : new Set<string>();
  let total = first.total ?? 0;
  const progress = startProgress('importing', total, o.progress);
  const summary: ImportSummary = { files: files.length, rows: 0, inserted: 0, updated: 0, skipped: 0, bad: 0, seconds: 0 };
  /** Bad rows are named by row number, and by file too when there are several. */
  const bad = (file: string, r: RejectedRow) => {
    summary.bad++;
    const where = `${files.length > 1 ? `${file} ` : ''}row ${r.row}`;
    report(`${where}${r.id !== undefined ? ` (id ${JSON.stringify(r.id)})` : ''}: ${r.error}`);
    if (o.strict) throw new StrictImportError(`${where}: ${r.error} (stopped by --strict)`);
  };
  // Requests run concurrently, but a batch waits while an earlier one in flight holds one of its ids, so that the
  // last row for an id (of the last file that has it) is the one that stays.
  const inFlight = new Set<Promise<void>>();
  const idsInFlight = new Map<string, Promise<void>>();
  let failure: unknown;

  /** Sends a file's batches, read ahead so that decoding it (a Parquet row group at a time) overlaps the requests. */
  const sendFile = async (file: string, source: ImportSource) => {
    for await (const batch of readAhead(source.batches(o.batchSize), 2 * o.concurrency + 2)) {
      if (failure) return;
      const kept = withoutIds(batch, skip);
      summary.skipped += kept.skipped;
      for (const r of batch.rejected) bad(file, r);
      const ids = idsOf(kept.batch);
      if (ids.length === 0) {
        summary.rows += batch.rows.length + batch.rejected.length;
        progress.update(summary.rows);
        continue;
      }
      const blockers = new Set<Promise<void>>();
      for (const id of ids) {
        const p = idsInFlight.get(id);
        if (p) blockers.add(p);
      }
      await Promise.all(blockers);
      while (inFlight.size >= o.concurrency) await Promise.race(inFlight);
      if (failure) return;
      const sending = send(o, kept.batch).then(
        (answer) => {
          summary.inserted += answer.inserted;
          summary.updated += answer.updated;
          for (const e of answer.errors) {
            const row = kept.batch.rows[e.index];
            bad(file, { row, ...(e.id !== undefined ? { id: e.id } : {}), error: `${withoutRecordPrefix(e.error)} (${e.code})` });
          }
          summary.rows += batch.rows.length + batch.rejected.length;
          progress.update(summary.rows);
        },
      ).catch((err: unknown) => {
        failure ??= err;
      }).finally(() => {
        inFlight.delete(sending);
        for (const id of ids) if (idsInFlight.get(id) === sending) idsInFlight.delete(id);
      });
      inFlight.add(sending);
      for (const id of ids) idsInFlight.set(id, sending);
    }
  };

  try {
    for (const [i, file] of files.entries()) {
      if (failure) break;
      let source = first;
      if (i > 0) {
        try {
          source = await openImportSource(file, o.names);
        } catch (err) {
          // Stops here, once the requests in flight are answered (their rows are written).
          failure = err;
          break;
        }
        total += source.total ?? 0;
        progress.setTotal(total);
      }
      await sendFile(file, source);
    }
    await Promise.all(inFlight);
  } finally {
    progress.stop();
  }
  if (failure) throw failure;
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/**
 * The files to read, in order: each argument as given, and for a directory (a partitioned dataset, as Spark, DuckDB or
 * Hugging Face write them) every file of a known extension under it, in path order, leaving out the hidden and
 * bookkeeping files those writers add (`.part-0.crc`, `_SUCCESS`, `_metadata`).
 */
export function importFiles(args: string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (!fs.existsSync(arg) || !fs.statSync(arg).isDirectory()) {
      out.push(arg);
      continue;
    }
    const found = filesUnder(arg);
    if (found.length === 0) throw new DatasetError(arg, `a directory without a file to import (${IMPORT_EXTENSIONS.join(', ')})`);
    out.push(...found);
  }
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.') && !e.name.startsWith('_'));
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (IMPORT_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) out.push(full);
  }
  return out;
}

function send(target: ServerTarget, batch: ImportRows): Promise<BatchAnswer> {
  if (batch.kind === 'json') return postJsonBatch(target, batch.records);
  return postArrowBatch(target, encodeArrowBatch(batch));
}

function idsOf(batch: ImportRows): string[] {
  if (batch.kind === 'columns') return batch.ids;
  return batch.records.map((r) => r.id).filter((id): id is string => typeof id === 'string');
}

/** The batch without the rows whose id is in `skip` (--resume). */
function withoutIds(batch: ImportRows, skip: Set<string>): { batch: ImportRows; skipped: number } {
  if (skip.size === 0) return { batch, skipped: 0 };
  const keep: number[] = [];
  const ids = batch.kind === 'columns' ? batch.ids : batch.records.map((r) => r.id);
  ids.forEach((id, i) => {
    if (!(typeof id === 'string' && skip.has(id))) keep.push(i);
  });
  const skipped = ids.length - keep.length;
  if (skipped === 0) return { batch, skipped };
  if (batch.kind === 'json') {
    return { batch: { ...batch, rows: keep.map((i) => batch.rows[i]), records: keep.map((i) => batch.records[i]) }, skipped };
  }
  const d = batch.dimension;
  const vectors = new Float32Array(keep.length * d);
  keep.forEach((i, j) => vectors.set(batch.vectors.subarray(i * d, (i + 1) * d), j * d));
  return {
    batch: {
      ...batch,
      rows: keep.map((i) => batch.rows[i]),
      ids: keep.map((i) => batch.ids[i]),
      vectors,
      metadata: batch.metadata && keep.map((i) => batch.metadata![i]),
      texts: batch.texts && keep.map((i) => batch.texts![i]),
    },
    skipped,
  };
}

/**
 * The items of `source`, pulled up to `depth` ahead of the consumer: an async generator runs its pulls one after the
 * other, so the next ones are decoded while the consumer waits on something else.
 */
async function* readAhead<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const pending: Array<Promise<IteratorResult<T>>> = [];
  try {
    for (;;) {
      while (pending.length < depth) {
        const next = it.next();
        // Awaited in turn below; until then a failure must not count as an unhandled rejection.
        next.catch(() => undefined);
        pending.push(next);
      }
      const result = await pending.shift()!;
      if (result.done) return;
      yield result.value;
    }
  } finally {
    await it.return?.();
  }
}
