// Parse threads yield to queries: on Linux they run at a lower scheduling priority (a higher nice value) than the
// server's other threads, as `top -H` or /proc shows an operator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { encodeArrowBatch } from '../../src/ingest/arrow-encode.js';
import { BACKGROUND_THREAD_NICENESS } from '../../src/worker-threads.js';
import { startServerProcess } from '../helpers/server-process.js';
import { postArrow } from '../helpers/arrow-post.js';
import { randomVectors } from '../helpers/random.js';

/** The nice value of every thread of process `pid`, by thread id (field 19 of /proc/PID/task/TID/stat). */
function threadNiceness(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: fields are counted after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

test('the parse threads, and only they, run below the priority of the front thread and the scan threads', { skip: process.platform !== 'linux' && 'thread priorities are read from /proc' }, async () => {
  const server = await startServerProcess({ args: ['--dimension', '4', '--metric', 'euclidean', '--parse-threads', '2'] });
  try {
    const vectors = randomVectors(50, 4, 3);
    const body = encodeArrowBatch({ ids: vectors.map((_, i) => `r${i}`), dimension: 4, vectors: Float32Array.from(vectors.flatMap((v) => Array.from(v))) });
    // Two batches at once, so that the pool has started both of its threads.
    const answers = await Promise.all([postArrow(`${server.url}/v1/batch-upsert`, body), postArrow(`${server.url}/v1/batch-upsert`, body)]);
    for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const niceness = threadNiceness(server.proc.pid!);
    assert.equal(niceness.get(server.proc.pid!), 0, 'the front thread keeps the process priority');
    const lowered = [...niceness.values()].filter((n) => n === BACKGROUND_THREAD_NICENESS);
    assert.ok(lowered.length >= 1 && lowered.length <= 2, `parse threads at nice ${BACKGROUND_THREAD_NICENESS}: ${lowered.length} of ${JSON.stringify([...niceness])}`);
    // Every other thread (front, scan workers, libuv, V8's helpers) keeps nice 0.
    assert.equal([...niceness.values()].filter((n) => n !== 0 && n !== BACKGROUND_THREAD_NICENESS).length, 0);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
