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
 * Times bodies of `rows` records with small metadata and full-precision values (17 significant digits, as Python's
 * json and JSON.stringify write them): random doubles, and float32 values (an embedding model's output, printed as
 * the doubles they are). For each: the whole JSON branch of batch-upsert (parse and validate) under each reader, and
 * the parse alone. The table gives medians.
 */
export function runJsonReaderBenchmark(options: JsonReaderBenchOptions): void {
  const { rows, dim, rounds } = options;
  const rand = mulberry32(1);
  // mulberry32 gives 32 random bits; two draws make a double with a full random mantissa.
  const double = () => (rand() + rand() * 2 ** -32) * 2 - 1;
  const bodies: Array<[string, Buffer]> = [
    ['random doubles', body(rows, dim, double)],
    ['float32 values', body(rows, dim, () => Math.fround(double()))],
  ];
  const limits = { ...DEFAULT_LIMITS, maxBatchRecords: Math.max(DEFAULT_LIMITS.maxBatchRecords, rows), maxDimension: Math.max(DEFAULT_LIMITS.maxDimension, dim) };
  console.log(`# vecstore bench json-reader — ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)}\n`);
  console.log(`Bodies of ${rows.toLocaleString('en')} records × ${dim} values with metadata (${(bodies[0][1].length / 1e6).toFixed(1)} MB); median of ${rounds} rounds.\n`);
  console.log('| values | step | ms per body | µs per row | vs JSON.parse |');
  console.log('|---|---|---|---|---|');
  for (const [values, bytes] of bodies) {
    const steps: Array<[string, () => unknown]> = [
      ['JSON.parse', () => JSON.parse(bytes.toString('utf8'))],
      ['fast reader', () => readJsonBatch(bytes)],
      ...(['builtin', 'fast'] as JsonReader[]).map((reader): [string, () => unknown] => [`parse + validate, --json-reader ${reader}`, () => validateBatchBody('json', bytes, limits, dim, reader)]),
    ];
    const ms = steps.map(([, run]) => medianMs(run, rounds));
    steps.forEach(([name], i) => {
      const base = i < 2 ? ms[0] : ms[2];
      console.log(`| ${values} | ${name} | ${ms[i].toFixed(1)} | ${((ms[i] * 1000) / rows).toFixed(1)} | ${i === 0 || i === 2 ? '1.00×' : `${(base / ms[i]).toFixed(2)}× faster`} |`);
    });
  }
}

/** A batch-upsert body whose vector values come from `value`. */
function body(rows: number, dim: number, value: () => number): Buffer {
  const records = Array.from({ length: rows }, (_, i) => ({
    id: `doc-${i}`,
    vector: Array.from({ length: dim }, value),
    metadata: { source: 'bench', i, tags: ['a', 'b'] },
    text: `document ${i}`,
  }));
  return Buffer.from(JSON.stringify({ records }));
}

/**
 * Median time of `rounds` runs back to back, after a few uncounted ones that warm the JIT up. Back to back, each
 * step pays for its own garbage (JSON.parse's trees would otherwise be collected during the step after it).
 */
function medianMs(run: () => unknown, rounds: number): number {
  const times: number[] = [];
  for (let round = -Math.min(5, Math.ceil(rounds / 2)); round < rounds; round++) {
    const started = performance.now();
    run();
    if (round >= 0) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}
