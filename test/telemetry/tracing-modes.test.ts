// Tracing's switch: OTLP over http/protobuf reaches the receiver from the real exporter, and a server without tracing
// never loads the OpenTelemetry SDK (nor answers with traceresponse).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

const running: Array<ServerProcess | OtlpReceiver> = [];
after(async () => {
  for (const r of running) await ('stop' in r ? r.stop() : r.close());
});

test('http/protobuf: the exporter posts protobuf that carries the caller\'s trace id and the span names', async () => {
  const receiver = await startOtlpReceiver();
  running.push(receiver);
  const server = await startServerProcess({
    args: ['--dimension', '4', '--tracing'],
    env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_BSP_SCHEDULE_DELAY: '100' },
  });
  running.push(server);
  const traceId = randomBytes(16);
  const traceparent = `00-${traceId.toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  assert.equal((await postJson(`${server.url}/v1/upsert`, { id: 'a', vector: [1, 2, 3, 4] }, { traceparent })).status, 200);
  // The spans of one request may come in several exports (children end before their parent): read them together.
  const names = ['POST /v1/upsert', 'vecstore.wal.append', 'vecstore.wal.fsync', 'http.route', 'vecstore'];
  const carrying = () => receiver.posts.filter((p) => p.body.includes(traceId));
  const all = () => Buffer.concat(carrying().map((p) => p.body));
  const deadline = Date.now() + 15_000;
  while (!names.every((n) => all().includes(Buffer.from(n))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(carrying().length > 0, 'a POST carrying the trace id as its 16 raw bytes');
  for (const post of carrying()) assert.equal(post.contentType, 'application/x-protobuf');
  for (const name of names) assert.ok(all().includes(Buffer.from(name)), `the protobuf carries the string ${JSON.stringify(name)}`);
});

test('an unsupported OTLP protocol stops the server at start with a message naming the variable', async () => {
  await assert.rejects(
    startServerProcess({ args: ['--tracing'], env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } }),
    /OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported/,
  );
});

test('without tracing the OpenTelemetry SDK is never imported and answers carry no traceresponse', async () => {
  // A module-resolution hook (run before the server's own code) records every @opentelemetry module loaded.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vecstore-otel-off-'));
  const record = path.join(dir, 'loaded.txt');
  const hooks = path.join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (resolved.url.includes('@opentelemetry')) appendFileSync(${JSON.stringify(record)}, resolved.url + '\\n');
  return resolved;
}
`);
  const register = path.join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${hooks}`).href)});\n`);
  const env = { NODE_OPTIONS: `--import ${register}`, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' };

  const off = await startServerProcess({ args: ['--dimension', '4'], env });
  running.push(off);
  const res = await fetch(`${off.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` }, body: JSON.stringify({ vector: [1, 2, 3, 4], limit: 1 }) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('traceresponse'), null);
  assert.ok(!existsSync(record), `loaded: ${existsSync(record) ? readFileSync(record, 'utf8') : ''}`);

  // The same hook sees the SDK when tracing is on: the check above can fail.
  const on = await startServerProcess({ args: ['--dimension', '4', '--tracing'], env: { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' } });
  running.push(on);
  assert.match(readFileSync(record, 'utf8'), /sdk-trace-node/);
});
