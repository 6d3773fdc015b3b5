// `vecstore import` and `vecstore export` as a user runs them: real files (Parquet, Arrow, JSONL, .npy, .fvecs) into real servers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Field, FixedSizeList, Float32, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { parquetWriteFile } from 'hyparquet-writer';
import { postJson, startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.js';
import { randomVectors } from '../helpers/random.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');
const DIM = 8;
const ARGS = ['--dimension', String(DIM), '--metric', 'euclidean'];
const dir = tempDataDir('vecstore-import-');
const servers: ServerProcess[] = [];

async function server(): Promise<ServerProcess> {
  const s = await startServerProcess({ args: ARGS });
  servers.push(s);
  return s;
}

after(async () => {
  for (const s of servers) await s.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every record of a server, vectors and text included, through the scroll route. */
async function dump(s: ServerProcess): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let cursor: string | null = null;
  do {
    const page: any = (await postJson(`${s.url}/v1/scroll`, { limit: 37, include_vectors: true, include_text: true, ...(cursor ? { cursor } : {}) })).body;
    out.push(...page.records);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return out;
}

const N = 120;
const vectors = randomVectors(N, DIM, 7);
const rows = vectors.map((v, i) => ({ id: `doc-${i}`, vector: Array.from(v), metadata: { i, lang: i % 3 ? 'en' : 'fr' }, text: `text ${i}` }));

describe('vecstore import', () => {
  test('a Parquet file: every row with metadata and text; --metadata-columns builds metadata from columns', async () => {
    const file = path.join(dir, 'docs.parquet');
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'doc_id', data: rows.map((r) => r.id), type: 'STRING' },
        { name: 'embedding', data: rows.map((r) => r.vector) },
        { name: 'lang', data: rows.map((r) => r.metadata.lang), type: 'STRING' },
        { name: 'year', data: rows.map((r) => 2000 + r.metadata.i), type: 'INT32' },
        { name: 'body', data: rows.map((r) => r.text), type: 'STRING' },
      ],
      rowGroupSize: 50,
    });
    const s = await server();
    const r = cli('import', file, '--url', s.url, '--id-column', 'doc_id', '--vector-column', 'embedding', '--text-column', 'body', '--metadata-columns', 'lang,year', '--batch-size', '40');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /imported 120 rows .* 120 inserted, 0 updated, 0 skipped \(--resume\), 0 bad/);
    const all = await dump(s);
    assert.equal(all.length, N);
    const doc5 = all.find((x) => x.id === 'doc-5')!;
    assert.deepEqual(doc5, { id: 'doc-5', metadata: { lang: 'en', year: 2005 }, vector: rows[5].vector.map(Math.fround), text: 'text 5' });
  });

  test("a file pyarrow wrote with its defaults (dictionary pages), a ragged row and a null element among them", async () => {
    // test/fixtures/parquet/make-fixtures.py: 300 rows r0…r299 of 8 floats; r200 has 9, r250 a null element.
    const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/parquet/pyarrow-ragged.parquet');
    const s = await server();
    const r = cli('import', file, '--url', s.url, '--batch-size', '64');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /imported 300 rows .* 298 inserted, 0 updated, 0 skipped \(--resume\), 2 bad/);
    assert.match(r.stderr, /^row 201 \(id "r200"\): vector: expected 8 dimensions, got 9/m);
    assert.match(r.stderr, /^row 251 \(id "r250"\): vector\[3\]: must be a number, got null/m);
    const all = new Map((await dump(s)).map((x) => [x.id, x]));
    assert.equal(all.size, 298);
    // Rows read flat (before r200) and by the general path (after it) hold the file's values and metadata.
    const expected = JSON.parse(fs.readFileSync(file.replace(/\.parquet$/, '.json'), 'utf8')) as Record<string, number[]>;
    for (const id of ['r0', 'r127', 'r199', 'r201', 'r299']) {
      assert.deepEqual(all.get(id)?.vector, expected[id], id);
      assert.deepEqual(all.get(id)?.metadata, { i: Number(id.slice(1)) }, id);
    }
  });

  test('a ZSTD-compressed Parquet file (what Polars writes by default)', async () => {
    // The same 300 rows as pyarrow-ragged.parquet without its two bad rows; the JSON holds rows that are in both.
    const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/parquet');
    const s = await server();
    const r = cli('import', path.join(fixtures, 'pyarrow-zstd.parquet'), '--url', s.url, '--batch-size', '64');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /imported 300 rows .* 300 inserted/);
    const all = new Map((await dump(s)).map((x) => [x.id, x]));
    const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'pyarrow-ragged.json'), 'utf8')) as Record<string, number[]>;
    for (const id of ['r0', 'r127', 'r199', 'r201', 'r299']) assert.deepEqual(all.get(id)?.vector, expected[id], id);
  });

  test('an Arrow file and a JSONL file give the same records; bad rows are reported by row number and skipped', async () => {
    const arrowFile = path.join(dir, 'docs.arrow');
    const table = new Table({
      id: vectorFromArray(rows.map((r) => r.id), new Utf8()),
      vector: vectorFromArray(rows.map((r) => r.vector), new FixedSizeList(DIM, new Field('item', new Float32(), false))),
      metadata: vectorFromArray(rows.map((r) => JSON.stringify(r.metadata)), new Utf8()),
      text: vectorFromArray(rows.map((r) => r.text), new Utf8()),
    });
    fs.writeFileSync(arrowFile, tableToIPC(table, 'file'));
    const jsonlFile = path.join(dir, 'docs.jsonl');
    const lines = rows.map((r) => JSON.stringify(r));
    lines.splice(10, 0, '{"id": "broken", "vector": [1, 2');
    lines.splice(20, 0, JSON.stringify({ id: 'short', vector: [1, 2, 3] }));
    fs.writeFileSync(jsonlFile, lines.join('\n') + '\n');

    const a = await server();
    const b = await server();
    const ra = cli('import', arrowFile, '--url', a.url, '--batch-size', '50');
    assert.equal(ra.status, 0, ra.stderr);
    const rb = cli('import', jsonlFile, '--url', b.url, '--batch-size', '50');
    assert.equal(rb.status, 0, rb.stderr);
    assert.match(rb.stdout, /120 inserted, 0 updated, 0 skipped \(--resume\), 2 bad/);
    assert.match(rb.stderr, /^row 11: not valid JSON/m);
    assert.match(rb.stderr, /^row 21 \(id "short"\): vector: expected 8 dimensions, got 3 \(dimension_mismatch\)$/m);
    assert.deepEqual(await dump(a), await dump(b));
    assert.equal((await dump(a)).length, N);

    // `-` reads JSONL from standard input, as a pipe sends it.
    const piped = spawnSync(process.execPath, [CLI, 'import', '-', '--url', b.url, '--batch-size', '7'], { encoding: 'utf8', input: lines.join('\n') + '\n' });
    assert.equal(piped.status, 0, piped.stderr);
    assert.match(piped.stdout, /^imported 122 rows .*: 0 inserted, 120 updated, 0 skipped \(--resume\), 2 bad$/m);
    assert.match(piped.stderr, /^row 21 \(id "short"\): vector: expected 8 dimensions, got 3 \(dimension_mismatch\)$/m);

    // `.ndjson` is the same format; a last line without its newline is read too.
    const ndjsonFile = path.join(dir, 'docs.ndjson');
    fs.writeFileSync(ndjsonFile, rows.map((r) => JSON.stringify(r)).join('\n'));
    const rn = cli('import', ndjsonFile, '--url', b.url, '--resume');
    assert.equal(rn.status, 0, rn.stderr);
    assert.match(rn.stdout, /^imported 120 rows .*0 inserted, 0 updated, 120 skipped \(--resume\), 0 bad$/m);

    const strict = cli('import', jsonlFile, '--url', b.url, '--strict');
    assert.equal(strict.status, 1);
    assert.match(strict.stderr, /row 11: .*stopped by --strict/);
  });

  test('a partitioned dataset (a directory) or several files load in order; bad rows are named by file and row', async () => {
    const root = path.join(dir, 'dataset');
    const write = (file: string, part: typeof rows) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      parquetWriteFile({
        filename: file,
        columnData: [
          { name: 'id', data: part.map((r) => r.id), type: 'STRING' },
          { name: 'vector', data: part.map((r) => r.vector) },
          { name: 'text', data: part.map((r) => r.text), type: 'STRING' },
        ],
      });
    };
    // As Spark or DuckDB write them: one directory per partition, plus bookkeeping files that are not data.
    write(path.join(root, 'lang=en', 'part-0.parquet'), rows.slice(0, 50));
    write(path.join(root, 'lang=en', 'part-1.parquet'), rows.slice(50, 100));
    write(path.join(root, 'lang=fr', 'part-0.parquet'), rows.slice(100));
    fs.writeFileSync(path.join(root, '_SUCCESS'), '');
    fs.writeFileSync(path.join(root, 'lang=en', '.part-0.parquet.crc'), 'not data');
    const s = await server();
    const r = cli('import', root, '--url', s.url, '--batch-size', '30');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^imported 120 rows from 3 files in .*: 120 inserted, 0 updated, 0 skipped \(--resume\), 0 bad$/m);
    assert.equal((await dump(s)).length, N);

    // Several files: the last file's row for an id is the one that stays, and a bad row names its file.
    const fix = path.join(dir, 'fix.jsonl');
    fs.writeFileSync(fix, `${JSON.stringify({ id: 'doc-3', vector: Array(DIM).fill(0.25) })}\n{"id": "short", "vector": [1]}\n`);
    const again = cli('import', path.join(root, 'lang=en', 'part-0.parquet'), fix, '--url', s.url);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^imported 52 rows from 2 files .*: 0 inserted, 51 updated, 0 skipped \(--resume\), 1 bad$/m);
    assert.match(again.stderr, new RegExp(`^${fix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} row 2 \\(id "short"\\): vector: expected 8 dimensions, got 1 \\(dimension_mismatch\\)$`, 'm'));
    assert.deepEqual((await dump(s)).find((x) => x.id === 'doc-3')!.vector, Array(DIM).fill(0.25));

    // A file that cannot be read stops the import there: the files before it are loaded, exit code 2.
    const stopped = cli('import', fix, path.join(dir, 'missing.parquet'), '--url', s.url);
    assert.equal(stopped.status, 2);
    assert.match(stopped.stderr, /missing\.parquet: no such file/);
    const empty = path.join(dir, 'no-data');
    fs.mkdirSync(empty);
    const none = cli('import', empty, '--url', s.url);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no-data: a directory without a file to import/);
  });

  test('.npy and .fvecs files: ids are row numbers from 0', async () => {
    const npy = path.join(dir, 'v.npy');
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${N}, ${DIM}), }`;
    const padded = header.padEnd(118, ' ') + '\n';
    const flat = new Float32Array(N * DIM);
    vectors.forEach((v, i) => flat.set(v, i * DIM));
    const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, padded.length & 0xff, padded.length >> 8]);
    fs.writeFileSync(npy, Buffer.concat([pre, Buffer.from(padded, 'latin1'), Buffer.from(flat.buffer)]));
    const fvecs = path.join(dir, 'v.fvecs');
    const parts: Buffer[] = [];
    for (const v of vectors) parts.push(Buffer.from(new Int32Array([DIM]).buffer), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    fs.writeFileSync(fvecs, Buffer.concat(parts));
    const a = await server();
    const b = await server();
    assert.equal(cli('import', npy, '--url', a.url).status, 0);
    assert.equal(cli('import', fvecs, '--url', b.url).status, 0);
    const da = await dump(a);
    assert.deepEqual(da, await dump(b));
    assert.deepEqual(da.find((x) => x.id === '7')!.vector, Array.from(vectors[7]));
  });

  test('--resume skips the ids already loaded; a bad file or server is one line and exit code 2', async () => {
    const file = path.join(dir, 'resume.jsonl');
    fs.writeFileSync(file, rows.slice(0, 60).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const s = await server();
    assert.equal(cli('import', file, '--url', s.url).status, 0);
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = cli('import', file, '--url', s.url, '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /60 inserted, 0 updated, 60 skipped/);
    assert.equal((await dump(s)).length, N);

    const missing = cli('import', path.join(dir, 'nope.parquet'), '--url', s.url);
    assert.deepEqual([missing.status, missing.stderr.trim()], [2, `import: ${path.join(dir, 'nope.parquet')}: no such file`]);
    const noColumn = cli('import', path.join(dir, 'docs.parquet'), '--url', s.url);
    assert.equal(noColumn.status, 2);
    assert.match(noColumn.stderr, /no column "id" \(--id-column\); columns: doc_id, embedding/);
    const down = cli('import', file, '--url', 'http://127.0.0.1:1');
    assert.equal(down.status, 2);
    assert.match(down.stderr, /cannot connect/);
  });
});

describe('vecstore export', () => {
  let source: ServerProcess;
  before(async () => {
    source = await server();
    const res = await postJson(`${source.url}/v1/batch-upsert`, { records: [...rows, { id: 'no-extras', vector: Array(DIM).fill(0.5) }] });
    assert.equal(res.body.inserted, N + 1);
  });

  for (const ext of ['.parquet', '.jsonl']) {
    test(`export to ${ext}, import into an empty server: the same records`, async () => {
      const out = path.join(dir, `export${ext}`);
      const r = cli('export', '--url', source.url, '--out', out, '--page-size', '25');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`exported ${N + 1} records`));
      assert.ok(!fs.existsSync(`${out}.partial`));
      const target = await server();
      const back = cli('import', out, '--url', target.url);
      assert.equal(back.status, 0, back.stderr);
      assert.deepEqual(await dump(target), await dump(source));
    });
  }

  test('--filter exports only the matching records; a bad filter fails before any file is written', async () => {
    const out = path.join(dir, 'fr.jsonl');
    const r = cli('export', '--url', source.url, '--out', out, '--filter', "lang = 'fr'", '--page-size', '7');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^exported 40 records/);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; metadata: { lang: string } });
    assert.equal(lines.length, 40);
    assert.ok(lines.every((l) => l.metadata.lang === 'fr'));
    const bad = cli('export', '--url', source.url, '--out', path.join(dir, 'bad.jsonl'), '--filter', 'lang = ');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^export: .*400 filter: /);
    assert.ok(!fs.existsSync(path.join(dir, 'bad.jsonl')) && !fs.existsSync(path.join(dir, 'bad.jsonl.partial')));
  });

  test('an unknown extension or an unreachable server fails with one line and leaves no file', () => {
    const bad = cli('export', '--url', source.url, '--out', path.join(dir, 'x.csv'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown extension '\.csv'/);
    const out = path.join(dir, 'down.jsonl');
    const down = cli('export', '--url', 'http://127.0.0.1:1', '--out', out);
    assert.equal(down.status, 2);
    assert.ok(!fs.existsSync(out) && !fs.existsSync(`${out}.partial`));
  });
});

describe('--collection', () => {
  test('import into and export from a named collection; an unknown collection is one line and exit code 2', async () => {
    const s = await server();
    const created = await fetch(`${s.url}/v1/collections/docs`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dimension: DIM, metric: 'euclidean' }) });
    assert.equal(created.status, 201);
    const file = path.join(dir, 'coll.jsonl');
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = cli('import', file, '--url', s.url, '--collection', 'docs');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /120 inserted/);
    const stats = (await (await fetch(`${s.url}/v1/collections/docs`)).json()) as { active_vectors: number };
    assert.equal(stats.active_vectors, N);
    assert.equal(((await (await fetch(`${s.url}/v1/stats`)).json()) as { active_vectors: number }).active_vectors, 0, 'nothing went to the default collection');
    const out = path.join(dir, 'coll-export.jsonl');
    const e = cli('export', '--url', s.url, '--collection', 'docs', '--out', out);
    assert.equal(e.status, 0, e.stderr);
    assert.equal(fs.readFileSync(out, 'utf8').trim().split('\n').length, N);
    // An empty collection exports to an empty JSONL file and a Parquet file of no rows, and both import as nothing.
    assert.equal((await fetch(`${s.url}/v1/collections/empty`, { method: 'PUT', body: JSON.stringify({ dimension: DIM }) })).status, 201);
    for (const ext of ['.jsonl', '.parquet']) {
      const none = path.join(dir, `empty${ext}`);
      assert.equal(cli('export', '--url', s.url, '--collection', 'empty', '--out', none).status, 0);
      if (ext === '.jsonl') assert.equal(fs.statSync(none).size, 0);
      const back = cli('import', none, '--url', s.url, '--collection', 'empty');
      assert.equal(back.status, 0, back.stderr);
      assert.match(back.stdout, /^imported 0 rows .* 0 inserted, 0 updated, 0 skipped \(--resume\), 0 bad$/m);
    }
    const missing = cli('import', file, '--url', s.url, '--collection', 'nope');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^import: .*404/);
  });
});
