// Routes of the web console: its page and files under /console, and the two API calls it adds: who the caller's key
// is, and the live summary it charts.
import { Type } from '@sinclair/typebox';
import { VecStoreError } from '../errors.js';
import type { Authenticator } from './auth.js';
import { CONSOLE_HEADERS, type ConsoleAssets } from './console-assets.js';
import type { LiveSummary } from './live-summary.js';
import type { Route, RouteAnswer, RouteContext } from './routes.js';

/** Route templates of the console's own traffic, left out of the live summary's request rate and latency. */
export const CONSOLE_ENDPOINTS = ['/console', '/console/:file', '/console/client/:file', '/v1/console/summary'] as const;

/** The page and its files. They need no key (they hold no data); the API calls the page makes do. */
export function consolePageRoutes(assets: ConsoleAssets): Route[] {
  const file = (name: string, ctx: RouteContext): RouteAnswer => {
    const asset = assets.get(name);
    if (!asset) throw new VecStoreError('route_not_found', `route: no console file ${JSON.stringify(name)}${name === 'index.html' ? ' (run npm run build)' : ''}`);
    const headers: Array<[string, string]> = [...CONSOLE_HEADERS, ['ETag', asset.etag]];
    if (ctx.headers['if-none-match'] === asset.etag) return { status: 304, text: { body: '', contentType: asset.contentType }, headers };
    return { text: { body: asset.body, contentType: asset.contentType }, headers };
  };
  const page = { contentType: 'text/html', description: 'The console page.' };
  return [
    {
      method: 'GET', path: '/console', access: 'open', headers: ['if-none-match'],
      doc: { summary: 'The web console (a page; not part of the API).', tag: 'server', answers: { 200: page }, errors: ['route_not_found'] },
      handler: (ctx) => file('index.html', ctx),
    },
    {
      method: 'GET', path: '/console/:file', access: 'open', headers: ['if-none-match'],
      doc: { summary: 'A file of the web console (scripts, styles).', tag: 'server', params: { file: 'File name.' }, answers: { 200: { contentType: 'text/javascript', description: 'A console file.' } }, errors: ['route_not_found'] },
      // Names are looked up in the table of loaded files, never joined to a path: `..` cannot reach other files.
      handler: (ctx) => file(ctx.params[0], ctx),
    },
    {
      method: 'GET', path: '/console/client/:file', access: 'open', headers: ['if-none-match'],
      doc: { summary: 'A module of the TypeScript client, which the console runs on.', tag: 'server', params: { file: 'File name.' }, answers: { 200: { contentType: 'text/javascript', description: 'An ES module.' } }, errors: ['route_not_found'] },
      handler: (ctx) => file(`client/${ctx.params[0]}`, ctx),
    },
  ];
}

const Role = Type.Union([Type.Literal('admin'), Type.Literal('write'), Type.Literal('read')]);
const WhoAmIAnswer = Type.Object({
  auth: Type.Boolean({ description: 'Whether the server checks API keys at all.' }),
  role: Type.Union([Role, Type.Null()], { description: 'What the presented key may do; null when keys are checked and none was sent.' }),
  collections: Type.Array(Type.String(), { description: 'The collections the key may use (`*`: all).' }),
}, { description: 'What the caller\'s key may do.' });

const Series = (description: string) => Type.Array(Type.Number(), { description });
const NullableSeries = (description: string) => Type.Array(Type.Union([Type.Number(), Type.Null()]), { description });
const LiveSummaryAnswer = Type.Object({
  interval_s: Type.Number({ description: 'Seconds between samples.' }),
  window_s: Type.Number({ description: 'Seconds of history kept.' }),
  series: Type.Object({
    t: Series('Unix seconds at the end of each interval, oldest first; every other series has one value per entry.'),
    requests_per_s: Series('HTTP requests answered per second (the console\'s own page and summary excluded).'),
    p50_ms: NullableSeries('Median request latency in the interval (null: no requests), from the latency histogram.'),
    p99_ms: NullableSeries('99th percentile request latency (null: no requests).'),
    queries_per_s: Type.Object({ vector: Series('Vector queries per second.'), hybrid: Series('Hybrid queries per second.') }),
    cache_hit_rate: NullableSeries('Share of query-cache lookups answered from the cache (null: none, or the cache is off).'),
    vectors_scanned_per_s: Series('Rows read by the scan workers per second.'),
    rss_bytes: Series('Resident memory of the process.'),
    heap_used_bytes: Series('JavaScript heap in use (front thread).'),
    array_buffers_bytes: Series('ArrayBuffers and SharedArrayBuffers (vectors, graphs).'),
  }),
}, { description: 'The last minutes of the server\'s own metrics, as columns.' });

/** `GET /v1/auth/whoami` and `GET /v1/console/summary`. */
export function consoleApiRoutes({ auth, live }: { auth?: Authenticator; live?: LiveSummary }): Route[] {
  return [
    {
      // Open, so that a page can ask whether it needs a key without a failed request: no key presented answers
      // `role: null`; a wrong key is still 401. With no key configured everyone is an admin of every collection.
      method: 'GET', path: '/v1/auth/whoami', access: 'open', headers: ['authorization', 'api-key'],
      doc: { summary: 'What the presented API key may do (its role and collections); needs no key.', tag: 'server', answers: { 200: WhoAmIAnswer }, errors: ['unauthorized'] },
      handler: (ctx) => {
        if (!auth?.enabled) return { json: { auth: false, role: 'admin', collections: ['*'] } };
        if (ctx.headers.authorization === '' && ctx.headers['api-key'] === '') return { json: { auth: true, role: null, collections: [] } };
        const principal = auth.authenticate(ctx.headers.authorization, ctx.headers['api-key'])!;
        return { json: { auth: true, role: principal.role, collections: principal.collections } };
      },
    },
    {
      method: 'GET', path: '/v1/console/summary', access: 'read',
      doc: { summary: 'Request rate, latency, queries, cache hit rate and memory over the last minutes (sampled every 2 s), for the console\'s charts.', tag: 'server', answers: { 200: LiveSummaryAnswer }, errors: ['not_found'] },
      handler: () => {
        if (!live) throw new VecStoreError('not_found', 'metrics: disabled by --no-metrics, so there is no live summary');
        return { json: live.answer() };
      },
    },
  ];
}
