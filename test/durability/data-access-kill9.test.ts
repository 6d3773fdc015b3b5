// kill -9 and delete-by-filter / PATCH: an acknowledged delete-by-filter or patch survives the crash, one in flight at the
// kill is there whole or not at all, and a delete-by-filter whose log record was torn is not half applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { postJson, requestJson, startServerProcess, tempDataDir } from '../helpers/server-process.js';

const N = 6000;
const ARGS = ['--dimension', '4', '--metric', 'euclidean', '--workers', '1', '--fsync', 'always', '--index', 'flat'];

async function load(url: string): Promise<void> {
  for (let start = 0; start < N; start += 2000) {
    const records = Array.from({ length: 2000 }, (_, j) => {
      const i = start + j;
      return { id: `r${i}`, vector: [i, 1, 2, 3], metadata: { tenant: i % 3, i } };
    });
    assert.equal((await postJson(`${url}/v1/batch-upsert`, { records })).status, 200);
  }
}

const count = async (url: string, filter?: string): Promise<number> => (await postJson(`${url}/v1/count`, filter ? { filter } : {})).body.count;

/** Every log file under the data directory, newest last. */
function walFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (/^wal-\d+\.log$/.test(e.name)) out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out.sort((a, b) => path.basename(a).localeCompare(path.basename(b)));
}

test('acknowledged delete-by-filter and patches survive kill -9', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir('vecstore-da-kill9-');
  let server = await startServerProcess({ dataDir, args: ARGS });
  await load(server.url);
  assert.deepEqual((await postJson(`${server.url}/v1/delete-by-filter`, { filter: 'tenant = 0' })).body, { deleted_count: N / 3 });
  const patched = await requestJson(`${server.url}/v1/vectors/r1`, { method: 'PATCH', body: JSON.stringify({ metadata: { tenant: null, tag: 'p' }, text: 'patched' }) });
  assert.equal(patched.status, 200);
  await server.kill();

  server = await startServerProcess({ dataDir, args: ARGS });
  assert.equal(await count(server.url), N - N / 3);
  assert.equal(await count(server.url, 'tenant = 0'), 0);
  const r1 = (await requestJson(`${server.url}/v1/vectors/r1`)).body;
  assert.deepEqual(r1.metadata, { i: 1, tag: 'p' });
  assert.equal(r1.text, 'patched');
  assert.deepEqual(r1.vector, [1, 1, 2, 3]);
  assert.equal(await server.stop(), 0);
});

test('a delete-by-filter in flight at kill -9 is applied whole or not at all', { timeout: 180_000 }, async () => {
  const dataDir = tempDataDir('vecstore-da-kill9-');
  let server = await startServerProcess({ dataDir, args: ARGS });
  await load(server.url);
  for (const [round, delayMs] of [0, 2, 5, 10].entries()) {
    const tenant = round % 3;
    const before = await count(server.url, `tenant = ${tenant}`);
    const pending = postJson(`${server.url}/v1/delete-by-filter`, { filter: `tenant = ${tenant}` }).then((r) => r.status, () => undefined);
    await new Promise((r) => setTimeout(r, delayMs));
    await server.kill();
    const acked = (await pending) === 200;
    server = await startServerProcess({ dataDir, args: ARGS });
    const left = await count(server.url, `tenant = ${tenant}`);
    assert.ok(left === 0 || left === before, `round ${round}: ${left} of ${before} left (half applied)`);
    if (acked) assert.equal(left, 0, `round ${round}: acknowledged yet ${left} left`);
    if (left > 0) await load(server.url); // the next round starts from whole tenants again
  }
  const code = await server.stop();
  assert.equal(code, 0, `exit ${code} (signal ${server.proc.signalCode}):\n${server.logs.slice(-5).join('\n')}`);
});

test('a delete-by-filter whose log record is torn is dropped whole on recovery', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir('vecstore-da-torn-');
  let server = await startServerProcess({ dataDir, args: ARGS });
  await load(server.url);
  const files = walFiles(dataDir);
  const last = files[files.length - 1];
  const sizeBefore = fs.statSync(last).size;
  assert.deepEqual((await postJson(`${server.url}/v1/delete-by-filter`, { filter: 'tenant = 1' })).body, { deleted_count: N / 3 });
  await server.kill();
  // The delete's record is the last one in the newest log file: cut it short, as a crash mid-write would.
  assert.deepEqual(walFiles(dataDir), files, 'no rotation or checkpoint since the load');
  const sizeAfter = fs.statSync(last).size;
  assert.ok(sizeAfter > sizeBefore + 1000, 'the delete was logged as one record holding every id');
  fs.truncateSync(last, sizeAfter - 7);

  server = await startServerProcess({ dataDir, args: ARGS });
  assert.equal(await count(server.url, 'tenant = 1'), N / 3);
  assert.equal(await count(server.url), N);
  assert.equal(await server.stop(), 0);
});
