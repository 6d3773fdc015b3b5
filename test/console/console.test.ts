// The web console at /console driven in a real headless Chromium (Debian's /usr/bin/chromium through playwright-core)
// against a real server: it loads without console errors, lists collections with their counts, finds the exact
// neighbours of a record, shows a filter error with its position, disables writes for a read-only key, creates and
// drops a collection. Screenshots of every view go to test-artifacts/console/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { postJson, requestJson, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts/console');
const ADMIN_KEY = 'console-admin-key';
const READ_KEY = 'console-read-key';
const DIM = 8;
const COUNT = 120;

// Locally without Chromium the suite is skipped with a reason; in CI (CI=true) a missing browser must fail the run.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true'
  ? `${CHROMIUM} is not installed (apt-get install chromium); the console tests need a real browser`
  : false;

/** Deterministic vectors (a small LCG), so the expected neighbours can be computed here exactly. */
function vectors(): number[][] {
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  return Array.from({ length: COUNT }, () => Array.from({ length: DIM }, () => Math.fround(next())));
}

describe('web console', { skip }, () => {
  let server: ServerProcess;
  let browser: Browser;
  const data = vectors();
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServerProcess({ args: ['--api-key', ADMIN_KEY, '--read-only-api-key', READ_KEY] });
    const put = await requestJson(`${server.url}/v1/collections/docs`, { method: 'PUT', headers: auth, body: JSON.stringify({ dimension: DIM, metric: 'euclidean' }) });
    assert.equal(put.status, 201);
    const records = data.map((vector, i) => ({ id: `r-${String(i).padStart(3, '0')}`, vector, metadata: { group: i % 3, n: i }, text: i % 2 ? 'red fox' : 'blue whale' }));
    const batch = await postJson(`${server.url}/v1/collections/docs/batch-upsert`, { records }, auth);
    assert.equal(batch.body.inserted, COUNT);
    for (const id of ['r-001', 'r-002']) assert.equal((await postJson(`${server.url}/v1/collections/docs/soft-delete/${id}`, {}, auth)).status, 200);
    assert.equal((await postJson(`${server.url}/v1/collections/docs/snapshots`, { name: 'first' }, auth)).status, 200);
    await requestJson(`${server.url}/v1/collections/empty`, { method: 'PUT', headers: auth, body: JSON.stringify({ dimension: 4 }) });
    // Nothing from the network but the server: no downloads, updates, sync or QUIC. launch() gives the browser a fresh
    // temporary profile (user data dir) of its own and removes it on close.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A new tab (its own sessionStorage) on the console, signed in with `key`; collects console errors. */
  async function open(key: string | undefined, hash = ''): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${server.url}/console${hash}`);
    if (key !== undefined) {
      await page.getByLabel('API key', { exact: true }).fill(key);
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.getByText(/Signed in with/).waitFor();
    }
    return { page, errors };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  test('the page is served with its title, a strict CSP and revalidation caching; it asks for a key without an error', async () => {
    const res = await fetch(`${server.url}/console`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /unsafe-inline/);
    const etag = res.headers.get('etag')!;
    assert.equal((await fetch(`${server.url}/console`, { headers: { 'if-none-match': etag } })).status, 304);
    const js = await fetch(`${server.url}/console/main.js`);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal((await fetch(`${server.url}/console/uplot.iife.min.js`)).status, 200);
    // The console runs on the package's own client, served from its compiled modules (and the catalogue they import).
    for (const file of ['client/index.js', 'client/http-transport.js', 'errors.js']) {
      const res = await fetch(`${server.url}/console/${file}`);
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    }
    assert.equal((await fetch(`${server.url}/console/..%2Fpackage.json`)).status, 404);

    const { page, errors } = await open(undefined);
    assert.equal(await page.title(), 'VecStore');
    await page.getByText('This server needs an API key').waitFor();
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('every view loads with no console errors; collections show their counts; screenshots of each view', async () => {
    const { page, errors } = await open(ADMIN_KEY);
    await page.getByRole('heading', { name: 'Collections' }).waitFor();
    const row = page.getByRole('row', { name: /docs/ });
    await row.getByText('euclidean').waitFor();
    const cells = await row.getByRole('cell').allInnerTexts();
    // Name, Dimension, Metric, Index, Active, Deleted, …
    assert.deepEqual(cells.slice(0, 6), ['docs', '8', 'euclidean', 'hnsw', String(COUNT - 2), '2']);
    await shot(page, 'collections');

    await page.getByRole('link', { name: 'Records' }).click();
    await page.getByRole('heading', { name: 'Records of docs' }).waitFor();
    await page.getByText(`${COUNT - 2} records.`).waitFor();
    await page.getByRole('button', { name: 'Open record r-000' }).click();
    const norm = Math.sqrt(data[0].reduce((s, x) => s + x * x, 0));
    assert.equal(Number(await page.locator('[data-field=norm]').innerText()).toPrecision(4), norm.toPrecision(4));
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('button', { name: 'Open record r-022' }).waitFor(); // r-001, r-002 are soft-deleted
    await shot(page, 'records');

    await page.getByRole('link', { name: 'Search' }).click();
    await page.getByLabel('Record id', { exact: true }).fill('r-010');
    await page.getByRole('button', { name: 'Find similar' }).click();
    await page.getByRole('columnheader', { name: 'score' }).waitFor();
    await shot(page, 'search');

    await page.getByRole('link', { name: 'Live' }).click();
    // Some traffic to chart; the server samples every 2 s and the view polls every 2 s.
    const until = Date.now() + 4500;
    for (let i = 0; Date.now() < until; i++) {
      const body = i % 4 === 3 ? { vector: data[i % COUNT], text_query: 'fox', limit: 5 } : { vector: data[i % 7], limit: 5 };
      await postJson(`${server.url}/v1/collections/docs/${'text_query' in body ? 'hybrid-query' : 'query'}`, body, auth);
    }
    await page.locator('#chart-queries canvas').waitFor();
    await page.locator('[data-chart=queries]').getByText(/vector [1-9]/).waitFor({ timeout: 10_000 });
    await shot(page, 'live');

    await page.getByRole('link', { name: 'Snapshots' }).click();
    await page.locator('#view-snapshots').getByRole('cell', { name: 'first', exact: true }).waitFor();
    await shot(page, 'snapshots');
    // Download: fetched with the key in a header, saved under the server's file name, the same bytes as the route's.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download first' }).click()]);
    assert.equal(download.suggestedFilename(), 'first.vecsnap');
    const saved = readFileSync((await download.path())!);
    const direct = Buffer.from(await (await fetch(`${server.url}/v1/collections/docs/snapshots/first/download`, { headers: auth })).arrayBuffer());
    assert.ok(saved.length > 0 && saved.equals(direct), `downloaded ${saved.length} bytes, the route gives ${direct.length}`);
    // Upload the downloaded file as another snapshot, then delete that one (after the confirmation).
    const snapshots = page.locator('#view-snapshots');
    await snapshots.getByLabel('Store as snapshot', { exact: true }).fill('copy');
    await snapshots.getByLabel('Snapshot file', { exact: true }).setInputFiles((await download.path())!);
    await snapshots.getByRole('button', { name: 'Upload snapshot' }).click();
    await snapshots.getByText(`(${COUNT} records)`).waitFor();
    await snapshots.getByRole('cell', { name: 'copy', exact: true }).waitFor();
    await snapshots.getByRole('button', { name: 'Delete copy' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete snapshot' }).click();
    await snapshots.getByRole('cell', { name: 'copy', exact: true }).waitFor({ state: 'detached' });
    const left = await requestJson(`${server.url}/v1/collections/docs/snapshots`, { headers: auth });
    assert.deepEqual(left.body.snapshots.map((x: { name: string }) => x.name), ['first']);
    assert.deepEqual(errors, []);
    // Every control of every view has an accessible name (a label, aria-label or its text).
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, select, button, a')]
      .filter((el) => !((el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.textContent?.trim()))
      .map((el) => el.outerHTML));
    assert.deepEqual(unnamed, []);
    await page.context().close();
  });

  test('Find similar shows the exact nearest neighbours of a record, the record itself left out, with the query stats', async () => {
    const { page } = await open(ADMIN_KEY, '#search');
    const target = 10;
    const distance = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0));
    // Computed here over every active record (r-001 and r-002 are soft-deleted), restricted by the same filter.
    const expected = data
      .map((v, i) => ({ id: `r-${String(i).padStart(3, '0')}`, i, d: distance(v, data[target]) }))
      .filter((r) => r.i !== target && r.i !== 1 && r.i !== 2 && r.i % 3 === 1)
      .sort((a, b) => a.d - b.d)
      .slice(0, 5);
    const search = page.locator('#view-search');
    await search.getByLabel('Record id', { exact: true }).fill(`r-0${target}`);
    await search.getByLabel('Filter', { exact: true }).fill('group = 1');
    await page.getByLabel('Limit', { exact: true }).fill('5');
    await page.getByRole('button', { name: 'Find similar' }).click();
    const table = page.getByRole('table', { name: /most similar to r-010/ });
    await table.waitFor();
    assert.deepEqual(await table.getByRole('columnheader').allInnerTexts(), ['id', 'score', 'metadata']);
    const rows = await table.locator('tbody tr').all();
    const ids = await Promise.all(rows.map((r) => r.locator('td').first().innerText()));
    assert.deepEqual(ids, expected.map((e) => e.id));
    const scores = await Promise.all(rows.map(async (r) => Number(await r.locator('td').nth(1).innerText())));
    scores.forEach((s, i) => assert.ok(Math.abs(s - expected[i].d) < 1e-4, `score ${s} vs ${expected[i].d}`));
    assert.equal(await page.locator('[data-stat=index]').innerText(), 'exact'); // under --index-threshold
    assert.match(await page.locator('[data-stat=distances]').innerText(), /^\d/);
    assert.match(await page.locator('[data-stat=duration]').innerText(), /ms$/);

    // Hybrid: the Text field makes it a hybrid query (every result is still a neighbour in group 1).
    // By keyboard: Enter in a field submits the search.
    await search.getByLabel('Text', { exact: true }).fill('red fox');
    await search.getByLabel('Text', { exact: true }).press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#view-search tbody tr').length === 5);
    await page.context().close();
  });

  test('a bad filter shows the server\'s error with its position', async () => {
    const { page, errors } = await open(ADMIN_KEY, '#records');
    await page.getByRole('heading', { name: 'Records of docs' }).waitFor();
    const records = page.locator('#view-records');
    await records.getByLabel('Filter', { exact: true }).fill('group >= AND n < 3');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    const alert = page.locator('#view-records [role=alert]');
    await alert.getByText(/invalid_filter/).waitFor();
    assert.match(await alert.innerText(), /at character 9/);
    // The caret line points under the character the server named.
    assert.equal((await alert.locator('pre.caret').innerText()).split('\n')[1], `${' '.repeat(9)}^`);
    assert.equal(await records.getByLabel('Filter', { exact: true }).getAttribute('aria-invalid'), 'true');
    await shot(page, 'records-filter-error');
    // The only console error is the browser's note of the 400 answer itself.
    assert.ok(errors.every((e) => /status of 400/.test(e)), errors.join('\n'));

    await records.getByLabel('Filter', { exact: true }).fill('group = 2');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByText('39 matching records.').waitFor();
    await page.context().close();
  });

  test('a read-only key sees every write button disabled', async () => {
    const { page } = await open(READ_KEY);
    await page.getByText('Signed in with a read-only key for every collection.').waitFor();
    await page.getByRole('row', { name: /docs/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create collection' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Drop docs' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Open docs' }).isDisabled(), false);
    await page.getByRole('link', { name: 'Snapshots' }).click();
    await page.locator('#view-snapshots').getByRole('cell', { name: 'first', exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create snapshot' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Restore first' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Delete first' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Upload snapshot' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Download first' }).isDisabled(), false);
    await shot(page, 'read-only');
    // The key stays in this tab's sessionStorage, never in the URL.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('vecstore.apiKey')), READ_KEY);
    assert.doesNotMatch(page.url(), new RegExp(READ_KEY));
    await page.context().close();
  });

  test('create and drop a collection (with a confirmation) through the console', async () => {
    const { page, errors } = await open(ADMIN_KEY);
    await page.getByRole('row', { name: /docs/ }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('made-in-console');
    await page.getByLabel('Dimension', { exact: true }).fill('16');
    await page.getByLabel('Metric', { exact: true }).selectOption('dot');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('button', { name: 'Open made-in-console' }).waitFor();
    const made = await requestJson(`${server.url}/v1/collections/made-in-console`, { headers: auth });
    assert.equal(made.body.dimension, 16);
    assert.equal(made.body.metric, 'dot');

    // Cancel keeps it; confirming drops it.
    await page.getByRole('button', { name: 'Drop made-in-console' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await requestJson(`${server.url}/v1/collections/made-in-console`, { headers: auth })).status, 200);
    await page.getByRole('button', { name: 'Drop made-in-console' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Drop collection' }).click();
    await page.getByRole('button', { name: 'Open made-in-console' }).waitFor({ state: 'detached' });
    assert.equal((await requestJson(`${server.url}/v1/collections/made-in-console`, { headers: auth })).status, 404);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
});

describe('live summary and whoami over HTTP', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ args: ['--api-key', ADMIN_KEY, '--read-only-api-key', READ_KEY, '--dimension', '2'] });
  });
  after(async () => {
    await server?.stop();
  });

  test('whoami says whether a key is needed and what a key may do; a wrong key is 401', async () => {
    assert.deepEqual((await requestJson(`${server.url}/v1/auth/whoami`)).body, { auth: true, role: null, collections: [] });
    assert.deepEqual((await requestJson(`${server.url}/v1/auth/whoami`, { headers: { 'api-key': READ_KEY } })).body, { auth: true, role: 'read', collections: ['*'] });
    assert.equal((await requestJson(`${server.url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).body.role, 'admin');
    const wrong = await requestJson(`${server.url}/v1/auth/whoami`, { headers: { 'api-key': 'nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'unauthorized');
  });

  test('the summary counts requests and queries from the metrics, not the console\'s own polling', async () => {
    assert.equal((await requestJson(`${server.url}/v1/console/summary`)).status, 401);
    const headers = { 'api-key': ADMIN_KEY };
    await postJson(`${server.url}/v1/upsert`, { id: 'a', vector: [1, 0] }, headers);
    const started = Date.now();
    // Queries spread over more than one sampling interval (2 s).
    while (Date.now() - started < 4500) {
      await postJson(`${server.url}/v1/query`, { vector: [1, 0], limit: 1 }, headers);
      await requestJson(`${server.url}/v1/console/summary`, { headers });
      await new Promise((r) => setTimeout(r, 20));
    }
    const { status, body } = await requestJson(`${server.url}/v1/console/summary`, { headers });
    assert.equal(status, 200);
    assert.equal(body.interval_s, 2);
    const s = body.series;
    assert.ok(s.t.length >= 1);
    for (const key of ['requests_per_s', 'p50_ms', 'p99_ms', 'cache_hit_rate', 'rss_bytes', 'heap_used_bytes', 'array_buffers_bytes', 'vectors_scanned_per_s']) {
      assert.equal(s[key].length, s.t.length, key);
    }
    const i = s.t.length - 1;
    assert.ok(s.queries_per_s.vector[i] > 1, `vector queries/s ${s.queries_per_s.vector[i]}`);
    assert.equal(s.queries_per_s.hybrid[i], 0);
    // One summary call per query: were the summary counted, requests/s would be twice the query rate.
    assert.ok(Math.abs(s.requests_per_s[i] - s.queries_per_s.vector[i]) <= 0.25 * s.queries_per_s.vector[i] + 1, JSON.stringify(s));
    assert.ok(s.p99_ms[i] >= s.p50_ms[i]);
    // The same query again and again: the cache answers nearly all of them.
    assert.ok(s.cache_hit_rate[i] > 0.8, `cache hit rate ${s.cache_hit_rate[i]}`);
    assert.ok(s.rss_bytes[i] > 10 * 1024 * 1024);
  });
});

test('with --no-metrics the live summary is 404 not_found; the console page is still served', async () => {
  const server = await startServerProcess({ args: ['--no-metrics'] });
  try {
    const summary = await requestJson(`${server.url}/v1/console/summary`);
    assert.equal(summary.status, 404);
    assert.equal(summary.body.code, 'not_found');
    assert.equal((await fetch(`${server.url}/console`)).status, 200);
  } finally {
    await server.stop();
  }
});
