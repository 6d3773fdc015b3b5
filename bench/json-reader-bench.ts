// `vecstore bench json-reader`: ms per batch-upsert JSON body, JSON.parse (`--json-reader builtin`) against the fast reader.
import os from 'node:os';
import { validateBatchBody } from '../src/ingest/batch-body.js';
import { readJsonBatch, type JsonReader } from '../src/ingest/json-batch-reader.js';
import { DEFAULT_LIMITS } from '../src/engine/limits.js';
import { mulberry32 } from './datasets.js';

export interface JsonReaderBenchOptions {
  rows: number;
  dim: number;
  rounds: number;
}

/**
 * Times one body of `rows` records with full-precision random floats (17 significant digits, as Python's json and
 * JSON.stringify write them) and small metadata: the whole JSON branch of batch-upsert (parse and validate) under
 * each reader, and the parse alone. Rounds alternate the readers; the table gives medians.
 */
export function runJsonReaderBenchmark(options: JsonReaderBenchOptions): void {
  const { rows, dim, rounds } = options;
  const rand = mulberry32(1);
  const records = Array.from({ length: rows }, (_, i) => ({
    id: `doc-${i}`,
    vector: Array.from({ length: dim }, () => rand() * 2 - 1),
    metadata: { source: 'bench', i, tags: ['a', 'b'] },
    text: `document ${i}`,
  }));
  const body = Buffer.from(JSON.stringify({ records }));
  const limits = { ...DEFAULT_LIMITS, maxBatchRecords: Math.max(DEFAULT_LIMITS.maxBatchRecords, rows), maxDimension: Math.max(DEFAULT_LIMITS.maxDimension, dim) };
  const runs: Array<[string, () => unknown]> = [
    ['JSON.parse', () => JSON.parse(body.toString('utf8'))],
    ['fast reader', () => readJsonBatch(body)],
    ...(['builtin', 'fast'] as JsonReader[]).map((reader): [string, () => unknown] => [`parse + validate, --json-reader ${reader}`, () => validateBatchBody('json', body, limits, dim, reader)]),
  ];
  const times = runs.map(() => [] as number[]);
  // The first rounds warm the JIT up and are not counted.
  const warmup = Math.min(5, Math.floor(rounds / 2));
  for (let round = 0; round < rounds + warmup; round++) {
    runs.forEach(([, run], i) => {
      const started = performance.now();
      run();
      if (round >= warmup) times[i].push(performance.now() - started);
    });
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const ms = times.map(median);
  console.log(`# vecstore bench json-reader — ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)}\n`);
  console.log(`One body: ${rows.toLocaleString('en')} records × ${dim} full-precision floats with metadata, ${(body.length / 1e6).toFixed(1)} MB; median of ${rounds} rounds.\n`);
  console.log('| step | ms per body | µs per row | vs JSON.parse |');
  console.log('|---|---|---|---|');
  runs.forEach(([name], i) => {
    const base = i < 2 ? ms[0] : ms[2];
    console.log(`| ${name} | ${ms[i].toFixed(1)} | ${((ms[i] * 1000) / rows).toFixed(1)} | ${i === 0 || i === 2 ? '1.00×' : `${(base / ms[i]).toFixed(2)}× faster`} |`);
  });
}
