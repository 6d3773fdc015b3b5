// Background threads yield to queries: on Linux the parse threads and the graph builders run at a lower scheduling
// priority (a higher nice value) than the front thread and the query workers, as `top -H` or /proc shows an operator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { encodeArrowBatch } from '../../src/ingest/arrow-encode.js';
import { BACKGROUND_THREAD_NICENESS } from '../../src/worker-threads.js';
import { requestJson, startServerProcess } from '../helpers/server-process.js';
import { postArrow } from '../helpers/arrow-post.js';
import { randomVectors } from '../helpers/random.js';

const skip = process.platform !== 'linux' && 'thread priorities are read from /proc';

/** The nice values of the threads of process `pid` (field 19 of /proc/PID/task/TID/stat): its main thread's, and the others'. */
function threadNiceness(pid: number): { main: number; others: number[] } {
  const niceOf = (tid: string) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: fields are counted after its closing one.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  };
  const others = fs.readdirSync(`/proc/${pid}/task`).filter((tid) => tid !== String(pid));
  return { main: niceOf(String(pid)), others: others.map(niceOf) };
}

/** Loads 200 rows as two concurrent Arrow batches (so that a second parse thread, when allowed, starts too). */
async function load(url: string): Promise<void> {
  const vectors = randomVectors(100, 4, 3);
  const body = (prefix: string) => encodeArrowBatch({ ids: vectors.map((_, i) => `${prefix}${i}`), dimension: 4, vectors: Float32Array.from(vectors.flatMap((v) => Array.from(v))) });
  const answers = await Promise.all([postArrow(`${url}/v1/batch-upsert`, body('a')), postArrow(`${url}/v1/batch-upsert`, body('b'))]);
  for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
}

test('flat index: the parse threads, and only they, run below the process priority', { skip }, async () => {
  const server = await startServerProcess({ args: ['--dimension', '4', '--metric', 'euclidean', '--index', 'flat', '--parse-threads', '2'] });
  try {
    await load(server.url);
    const { main, others } = threadNiceness(server.proc.pid!);
    assert.equal(main, 0, 'the front thread keeps the process priority');
    const lowered = others.filter((n) => n === BACKGROUND_THREAD_NICENESS).length;
    assert.ok(lowered >= 1 && lowered <= 2, `threads at nice ${BACKGROUND_THREAD_NICENESS}: ${lowered} (${others})`);
    // Everything else (query workers, libuv, V8's helpers) keeps the process priority.
    assert.deepEqual(others.filter((n) => n !== 0 && n !== BACKGROUND_THREAD_NICENESS), []);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('hnsw index: the graph builders run below the process priority too, beside query workers that do not', { skip }, async () => {
  const server = await startServerProcess({ args: ['--dimension', '4', '--metric', 'euclidean', '--index', 'hnsw', '--parse-threads', '1'] });
  try {
    await load(server.url);
    for (let i = 0; i < 200; i++) {
      const stats = (await requestJson(`${server.url}/v1/stats`)).body;
      if (stats.indexed_vectors === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await requestJson(`${server.url}/v1/stats`)).body.indexed_vectors, 200);
    // The query workers answer at the process priority while the builders (idle now, kept for a minute) wait below it.
    const query = await requestJson(`${server.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: [0.1, 0.2, 0.3, 0.4], limit: 3 }) });
    assert.equal(query.status, 200);
    const { main, others } = threadNiceness(server.proc.pid!);
    assert.equal(main, 0);
    // One parse thread and one or two builders (the first rows go alone, the rest in chunks to both).
    const lowered = others.filter((n) => n === BACKGROUND_THREAD_NICENESS).length;
    assert.ok(lowered >= 2 && lowered <= 3, `threads at nice ${BACKGROUND_THREAD_NICENESS}: ${lowered} (${others})`);
    assert.deepEqual(others.filter((n) => n !== 0 && n !== BACKGROUND_THREAD_NICENESS), []);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
