// `vecstore --version`, `GET /`, and CORS (`--cors-origin`): preflights answered, headers on answers (errors too), and
// nothing of it when CORS is off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { postJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT_DIR, '..', 'package.json'), 'utf8')) as { version: string }).version;
const APP = 'https://app.example.com';

test('vecstore --version prints the package version', () => {
  const out = spawnSync(process.execPath, [path.join(ROOT_DIR, 'src/cli.js'), '--version'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), VERSION);
});

describe('CORS on', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ args: ['--cors-origin', APP, '--cors-origin', 'https://other.example', '--api-key', 'k1', '--dimension', '2'] });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  test('GET / names the server, its version and where the API is described (no key needed)', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { name: 'vecstore', version: VERSION, links: { openapi: '/openapi.json', metrics: '/metrics', docs: 'README.md#http-api' } });
  });

  test('a preflight from an allowed origin is answered without a key', async () => {
    const res = await fetch(`${server.url}/v1/collections/docs/query`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), APP);
    assert.match(res.headers.get('access-control-allow-methods')!, /\bPOST\b/);
    assert.match(res.headers.get('access-control-allow-methods')!, /\bPATCH\b/);
    assert.match(res.headers.get('access-control-allow-headers')!, /Content-Type/);
    assert.match(res.headers.get('access-control-allow-headers')!, /Authorization/);
    assert.equal(res.headers.get('vary'), 'Origin');
    assert.ok(Number(res.headers.get('access-control-max-age')) > 0);
  });

  test('answers and errors carry the headers for an allowed origin, not for another', async () => {
    const ok = await fetch(`${server.url}/v1/stats`, { headers: { origin: APP, authorization: 'Bearer k1' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), APP);
    assert.equal(ok.headers.get('vary'), 'Origin');
    // A browser must be able to read the error body too, or the app sees only a network failure.
    const denied = await fetch(`${server.url}/v1/stats`, { headers: { origin: 'https://other.example' } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), 'https://other.example');
    const foreign = await fetch(`${server.url}/v1/stats`, { headers: { origin: 'https://evil.example', authorization: 'Bearer k1' } });
    assert.equal(foreign.status, 200);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(`${server.url}/v1/query`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    assert.equal(pre.status, 405);
    const written = await postJson(`${server.url}/v1/upsert`, { id: 'a', vector: [1, 0] }, { origin: APP, authorization: 'Bearer k1' });
    assert.equal(written.status, 200);
  });
});

describe('CORS off (the default)', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  test('no CORS headers and no preflight answers', async () => {
    const res = await fetch(`${server.url}/health`, { headers: { origin: APP } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(`${server.url}/v1/query`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 405);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    assert.equal((await fetch(`${server.url}/`)).status, 200);
  });
});

describe('CORS for any origin', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ args: ['--cors-origin', '*'] });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  test('* allows every origin without Vary', async () => {
    const res = await fetch(`${server.url}/health`, { headers: { origin: 'https://anything.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const pre = await fetch(`${server.url}/v1/scroll`, { method: 'OPTIONS', headers: { origin: 'https://anything.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  });
});
