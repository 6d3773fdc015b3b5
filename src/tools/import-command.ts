// `vecstore import FILE`: reads a file in batches and sends them to batch-upsert (Arrow streams, or JSON for JSONL).
import { encodeArrowBatch } from '../ingest/arrow-encode.js';
import { openImportSource, type ColumnNames, type ImportRows, type RejectedRow } from './import-sources.js';
import { startProgress } from './progress.js';
import { existingIds, postArrowBatch, postJsonBatch, type BatchAnswer, type ServerTarget } from './server-client.js';

export interface ImportOptions extends ServerTarget {
  file: string;
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
  const source = await openImportSource(o.file, o.names);
  const skip = o.resume ? await existingIds(o) : new Set<string>();
  const progress = startProgress('importing', source.total ?? 0, o.progress);
  const summary: ImportSummary = { rows: 0, inserted: 0, updated: 0, skipped: 0, bad: 0, seconds: 0 };
  const bad = (r: RejectedRow) => {
    summary.bad++;
    report(`row ${r.row}${r.id !== undefined ? ` (id ${JSON.stringify(r.id)})` : ''}: ${r.error}`);
    if (o.strict) throw new StrictImportError(`row ${r.row}: ${r.error} (stopped by --strict)`);
  };
  // Requests run concurrently, but a batch waits while an earlier one in flight holds one of its ids, so that the
  // last row of the file for an id is the one that stays.
  const inFlight = new Set<Promise<void>>();
  const idsInFlight = new Map<string, Promise<void>>();
  let failure: unknown;
  try {
    // Batches are read ahead so that decoding the file (a Parquet row group at a time) overlaps the requests in flight.
    for await (const batch of readAhead(source.batches(o.batchSize), 2 * o.concurrency + 2)) {
      if (failure) break;
      const kept = withoutIds(batch, skip);
      summary.skipped += kept.skipped;
      for (const r of batch.rejected) bad(r);
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
      if (failure) break;
      const sending = send(o, kept.batch).then(
        (answer) => {
          summary.inserted += answer.inserted;
          summary.updated += answer.updated;
          for (const e of answer.errors) {
            const row = kept.batch.rows[e.index];
            bad({ row, ...(e.id !== undefined ? { id: e.id } : {}), error: `${e.error.replace(/^records\[\d+\]\.?/, '') || e.error} (${e.code})` });
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
    await Promise.all(inFlight);
  } finally {
    progress.stop();
  }
  if (failure) throw failure;
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
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
