// The same `vecstore/client` modules in a real headless Chromium (Debian's /usr/bin/chromium through playwright-core),
// loaded as plain ES modules from another origin: HTTP calls with the key header across origins (--cors-origin),
// raw float32 bodies, scroll, errors, and a query stream on the browser's own WebSocket with the key as a subprotocol.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const CHROMIUM = '/usr/bin/chromium';
/** dist/src: the client under /client/, the error catalogue it imports at /errors.js. */
const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const KEY = 'browser-client-key';
// Locally without Chromium the suite is skipped with a reason; in CI (CI=true) a missing browser must fail the run.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true'
  ? `${CHROMIUM} is not installed (apt-get install chromium); the browser client test needs a real browser`
  : false;

/** What the page runs: every step's result, so the test can check them one by one. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>client</title>
<script type="module">
  import { VecStoreClient, VecStoreError } from '/client/index.js';
  window.run = async (url, key) => {
    const out = { node: typeof process !== 'undefined', nativeWebSocket: typeof WebSocket === 'function' };
    const client = new VecStoreClient({ url, apiKey: key });
    await client.collections.create('web', { dimension: 3, metric: 'euclidean', index: 'flat' });
    const web = client.collection('web');
    await web.upsert({ id: 'f32', vector: new Float32Array([1, 0, 0]), metadata: { kind: 'binary' }, text: 'red fox' });
    out.batch = await web.batchUpsert(Array.from({ length: 30 }, (_, i) => ({ id: 'r' + String(i).padStart(2, '0'), vector: [0, i, 1] })));
    out.binaryQuery = (await web.query({ vector: new Float32Array([0.9, 0, 0]), limit: 1, include_text: true })).results[0];
    out.count = await web.count();
    out.scrolled = [];
    for await (const r of web.scroll({ limit: 4 })) out.scrolled.push(r.id);
    try { await web.get('missing'); } catch (e) { out.notFound = [e instanceof VecStoreError, e.status, e.code]; }
    const stream = await web.queryStream();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => stream.query({ vector: [0, i, 1], limit: 1 })));
    out.streamed = answers.map((a) => a.results[0].id);
    await stream.close();
    try { await new VecStoreClient({ url, apiKey: 'wrong' }).queryStream(); } catch (e) { out.refusedStream = e.code; }
    try { await new VecStoreClient({ url, apiKey: 'wrong' }).count(); } catch (e) { out.refusedHttp = [e.status, e.code]; }
    return out;
  };
  window.ready = true;
</script>`;

describe('the client in a browser', { skip }, () => {
  let server: ServerProcess;
  let pages: http.Server;
  let origin: string;
  let browser: Browser;
  const served: string[] = [];

  before(async () => {
    // The page's origin serves the client's compiled modules and nothing else of the package.
    pages = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      served.push(url.pathname);
      if (url.pathname === '/page.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      const file = url.pathname === '/errors.js' ? path.join(DIST_SRC, 'errors.js') : url.pathname.startsWith('/client/') ? path.join(DIST_SRC, url.pathname) : '';
      if (file === '' || !file.startsWith(path.join(DIST_SRC, path.sep)) || !file.endsWith('.js') || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    server = await startServerProcess({ args: ['--api-key', KEY, '--cors-origin', origin] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    pages?.closeAllConnections();
    await new Promise((resolve) => pages?.close(resolve));
  });

  test('every call works cross-origin with the key; the query stream uses the browser WebSocket', async () => {
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${origin}/page.html`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const out = (await page.evaluate(([url, key]) => (window as unknown as { run(u: string, k: string): Promise<unknown> }).run(url, key), [server.url, KEY])) as Record<string, any>;
    assert.deepEqual(errors, []);
    assert.deepEqual([out.node, out.nativeWebSocket], [false, true]);
    assert.deepEqual([out.batch.inserted, out.batch.errors], [30, []]);
    assert.deepEqual([out.binaryQuery.id, out.binaryQuery.text, out.binaryQuery.metadata], ['f32', 'red fox', { kind: 'binary' }], 'raw float32 upsert and query');
    assert.equal(out.count, 31);
    assert.deepEqual(out.scrolled, ['f32', ...Array.from({ length: 30 }, (_, i) => `r${String(i).padStart(2, '0')}`)]);
    assert.deepEqual(out.notFound, [true, 404, 'not_found']);
    assert.deepEqual(out.streamed, Array.from({ length: 20 }, (_, i) => `r${String(i).padStart(2, '0')}`));
    assert.equal(out.refusedStream, 'network', 'a browser learns nothing about a refused upgrade but that it failed');
    assert.deepEqual(out.refusedHttp, [401, 'unauthorized']);
    // Only the client's own modules were fetched: no `ws`, nothing of the server.
    const modules = [...new Set(served)].filter((p) => p !== '/page.html' && p !== '/favicon.ico').sort();
    for (const p of modules) assert.match(p, /^\/(client\/[a-z-]+\.js|errors\.js)$/);
    assert.ok(modules.includes('/client/query-stream.js') && !modules.some((p) => p.includes('ws')), modules.join(' '));
  });
});
