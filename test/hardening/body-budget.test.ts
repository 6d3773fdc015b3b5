// --max-body-memory against a real server: while large bodies are being received, more of them wait (429 with
// Retry-After), whether they declare their length or come chunked; the budget comes back when a body is answered or
// its client goes away, and `vecstore import` waits out a 429 instead of failing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requestJson, startServerProcess, tempDataDir, type ServerProcess } from '../helpers/server-process.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');
const BODY = 1_000_000;
let server: ServerProcess;

before(async () => {
  server = await startServerProcess({ args: ['--dimension', '2', '--max-body', String(BODY), '--max-body-memory', String(1.5 * BODY)] });
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

/** A valid batch-upsert body of exactly `size` bytes (JSON allows the trailing spaces). */
function batchOfSize(id: string, size: number): Buffer {
  const json = JSON.stringify({ records: [{ id, vector: [1, 2] }] });
  return Buffer.from(json.padEnd(size, ' '));
}

/** A request whose body is sent only in part until `finish` is called; `answer` resolves with what the server wrote. */
function slowUpload(size: number, chunked = false, firstPart = 0.5) {
  const body = batchOfSize('slow', size);
  const socket = net.connect(server.port, '127.0.0.1');
  let got = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (/\r\n\r\n[\s\S]*\}$/.test(got)) resolve(got);
    });
    socket.on('close', () => resolve(got));
    socket.on('error', () => resolve(got));
  });
  const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`;
  const started = new Promise<void>((resolve) => {
    socket.on('connect', () => {
      const head = body.subarray(0, Math.round(size * firstPart));
      socket.write(`POST /v1/batch-upsert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`);
      socket.write(chunked ? Buffer.concat([Buffer.from(`${head.length.toString(16)}\r\n`), head, Buffer.from('\r\n')]) : head);
      resolve();
    });
  });
  return {
    started,
    answer,
    finish() {
      const rest = body.subarray(Math.round(size * firstPart));
      socket.write(chunked ? Buffer.concat([Buffer.from(`${rest.length.toString(16)}\r\n`), rest, Buffer.from('\r\n0\r\n\r\n')]) : rest);
    },
    abandon() {
      socket.destroy();
    },
  };
}

const post = (id: string, size: number) => fetch(`${server.url}/v1/batch-upsert`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batchOfSize(id, size) as unknown as BodyInit });

/** Waits until the server holds a body's bytes (the upload's first half has arrived and been reserved). */
async function untilRefused(id: string, size: number): Promise<Response> {
  for (let i = 0; i < 100; i++) {
    const res = await post(id, size);
    if (res.status === 429) return res;
    await res.text();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the server never refused');
}

test('a body that does not fit beside the ones being received is a 429 with Retry-After, and fits once they are answered', async () => {
  const slow = slowUpload(BODY);
  await slow.started;
  const refused = await untilRefused('second', 0.6 * BODY);
  assert.equal(refused.headers.get('retry-after'), '1');
  const body = (await refused.json()) as { code: string; error: string };
  assert.equal(body.code, 'too_many_in_flight');
  assert.match(body.error, /^body: the server holds \d+ bytes of request bodies \(--max-body-memory 1500000\); retry shortly$/);
  // A small body still fits beside it.
  assert.equal((await post('small', 1000)).status, 200);
  // Operators see the budget in use and its size.
  assert.deepEqual(await bodyGauges(), { held: BODY, limit: 1.5 * BODY });
  slow.finish();
  assert.match(await slow.answer, /^HTTP\/1\.1 200[\s\S]*"inserted":1/);
  assert.equal((await bodyGauges()).held, 0);
  assert.equal((await post('second', 0.6 * BODY)).status, 200);
  assert.equal((await requestJson(`${server.url}/v1/vectors/second`)).status, 200);
});

test('a chunked body takes the budget as it arrives; a client that goes away gives its share back', async () => {
  // 900 KB received of a chunked body: 700 KB more does not fit in 1.5 MB.
  const chunked = slowUpload(BODY, true, 0.9);
  await chunked.started;
  await untilRefused('third', 0.7 * BODY);
  chunked.abandon();
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    const res = await post('third', 0.7 * BODY);
    status = res.status;
    await res.text();
    if (status !== 200) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(status, 200);
});

/** vecstore_request_body_bytes and its _limit, from /metrics. */
async function bodyGauges(): Promise<{ held: number; limit: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
  return { held: read('vecstore_request_body_bytes'), limit: read('vecstore_request_body_bytes_limit') };
}

/** 429s for request bodies so far, from /metrics. */
async function refusals(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^vecstore_errors_total\{error_type="too_many_in_flight"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

test('vecstore import waits out a 429 and loads every row', async () => {
  const dir = tempDataDir('vecstore-budget-');
  const file = path.join(dir, 'rows.jsonl');
  fs.writeFileSync(file, Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: `imp-${i}`, vector: [i, 1] })).join('\n') + '\n');
  // Two uploads that declare 1 MB and 0.5 MB hold the whole budget: not even the import's small batches fit.
  const holders = [slowUpload(BODY), slowUpload(0.5 * BODY)];
  await Promise.all(holders.map((h) => h.started));
  await untilRefused('probe', 0.1 * BODY);
  const child = spawn(process.execPath, [CLI, 'import', file, '--url', server.url, '--batch-size', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // Once the import has met a 429, free the budget.
  const before = await refusals();
  for (let i = 0; i < 200 && (await refusals()) === before; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok((await refusals()) > before, 'the import was refused at least once');
  for (const h of holders) h.abandon();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.match(out, /^imported 50 rows .*50 inserted/m);
  fs.rmSync(dir, { recursive: true, force: true });
});
