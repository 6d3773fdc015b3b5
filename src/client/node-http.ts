// Requests in Node through node:http(s) rather than fetch, for the client, `vecstore import`/`export` and the ingest
// benchmark: fetch runs every request and answer through web streams, which costs ~430 µs of client CPU per 768-d
// query against ~130 µs here, and ~25 against ~4.5 µs per 15 KB JSON row of a batch (measured on 2 cores): CPU that a
// load generator, an import or an application takes from the server on a shared machine. The modules come from
// `process.getBuiltinModule`, so browser bundles never see an import of them and use fetch.
import type { IncomingMessage } from 'node:http';

/** The part of a fetch Response the transport reads. */
export interface AnswerLike {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * What can cut a request short: an AbortSignal, or any object with its `abort` event. The client's call deadline is
 * one: an AbortController and its EventTarget cost a request more CPU than the rest of this module's work.
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A request as the transport makes it: a body of bytes or text (streamed bodies such as Blobs go through fetch). */
export interface PlainRequest {
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | ArrayBuffer | undefined;
  /** The caller gives the body's bytes away: they are sent as they are, without the copy that lets it reuse them. */
  transferBody?: boolean;
  signal?: AbortLike;
}

type HttpModule = typeof import('node:http');
type StreamModule = typeof import('node:stream');

interface NodeModules {
  http: HttpModule;
  https: HttpModule;
  stream: StreamModule;
  agents: { http: import('node:http').Agent; https: import('node:http').Agent };
}

let modules: NodeModules | null | undefined;

/** How long an idle keep-alive connection is kept (a timeout on an agent's socket closes only idle ones). */
export const IDLE_SOCKET_MS = 4000;

/** node:http, node:https and keep-alive agents when running in Node, null elsewhere (looked up once). */
function nodeModules(): NodeModules | null {
  if (modules !== undefined) return modules;
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (typeof get !== 'function') return (modules = null);
  const http = get('node:http') as HttpModule;
  const https = get('node:https') as HttpModule;
  const stream = get('node:stream') as StreamModule;
  // Idle keep-alive sockets are unreferenced by the agent, so they never keep a process alive, and closed after
  // IDLE_SOCKET_MS: a server closes idle connections too (VecStore after 10 s), and a request sent on a socket the server
  // is closing fails.
  const options = { keepAlive: true, timeout: IDLE_SOCKET_MS };
  modules = { http, https, stream, agents: { http: new http.Agent(options), https: new https.Agent(options) } };
  return modules;
}

/** One request answered whole: through node:http(s) where there is one (Node ≥ 20.16), through fetch elsewhere. */
export function requestWhole(url: string, request: PlainRequest): Promise<AnswerLike> {
  if (nodeModules()) return nodeHttpFetch(url, request);
  return fetch(url, { ...request, body: request.body as BodyInit | undefined, signal: abortSignalOf(request.signal) });
}

/** An AbortSignal that aborts with `hook` (fetch takes nothing else). */
export function abortSignalOf(hook: AbortLike | undefined): AbortSignal | undefined {
  if (hook === undefined || hook instanceof AbortSignal) return hook;
  const controller = new AbortController();
  if (hook.aborted) controller.abort(hook.reason);
  else hook.addEventListener('abort', () => controller.abort(hook.reason), { once: true });
  return controller.signal;
}

/** Where an origin's requests go, as node:http takes it. */
interface OriginTarget {
  protocol: string;
  hostname: string;
  port: string;
  auth: string | undefined;
}

/** Targets per origin: parsing a whole URL per request costs more than the rest of the request's set-up. */
const origins = new Map<string, OriginTarget>();
const MAX_ORIGINS = 64;

/** The target of `url` and its path (already percent-encoded, as every caller's is). */
function targetOf(url: string): { origin: OriginTarget; path: string } {
  const pathAt = url.indexOf('/', url.indexOf('//') + 2);
  let path = pathAt < 0 ? '/' : url.slice(pathAt);
  // A path with bytes node:http refuses (spaces, non-ASCII) is escaped by the URL parser, as fetch would.
  if (!/^[\x21-\x7e]*$/.test(path)) {
    const parsed = new URL(url);
    path = parsed.pathname + parsed.search;
  }
  const key = pathAt < 0 ? url : url.slice(0, pathAt);
  let origin = origins.get(key);
  if (origin === undefined) {
    const parsed = new URL(key);
    origin = {
      protocol: parsed.protocol,
      // node:http takes an IPv6 address without its brackets.
      hostname: parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname,
      port: parsed.port,
      auth: parsed.username || parsed.password ? `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}` : undefined,
    };
    if (origins.size >= MAX_ORIGINS) origins.clear();
    origins.set(key, origin);
  }
  return { origin, path };
}

/**
 * One request through node:http(s), answered like fetch: it rejects as fetch does (a TypeError whose cause carries the
 * socket error's code) when no answer comes, and with the signal's reason when the signal aborts it.
 */
function nodeHttpFetch(url: string, request: PlainRequest): Promise<AnswerLike> {
  const m = nodeModules()!;
  const { origin, path } = targetOf(url);
  const secure = origin.protocol === 'https:';
  const body = request.transferBody && request.body instanceof Uint8Array ? request.body : bodyBytes(request.body);
  const headers = body === undefined ? request.headers : { ...request.headers, 'content-length': String(body.byteLength) };
  return new Promise((resolve, reject) => {
    // Without a signal, one that never aborts: the code below has a single shape.
    const signal = request.signal ?? NEVER_ABORTS;
    if (signal.aborted) return reject(signal.reason);
    const req = (secure ? m.https : m.http).request({
      protocol: origin.protocol,
      hostname: origin.hostname,
      port: origin.port,
      auth: origin.auth,
      path,
      method: request.method,
      headers,
      agent: secure ? m.agents.https : m.agents.http,
    });
    const onAbort = (): void => {
      req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new TypeError('fetch failed', { cause: err }));
    });
    req.on('response', (res) => {
      signal.removeEventListener('abort', onAbort);
      resolve(answerOf(res, signal, m.stream));
    });
    req.end(body);
  });
}

/** A signal for requests without one. */
const NEVER_ABORTS: AbortLike = { aborted: false, addEventListener() {}, removeEventListener() {} };

/** The body's bytes, copied as fetch copies them: the caller may reuse its array for the next request at once. */
function bodyBytes(body: PlainRequest['body']): Buffer | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  return Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body) : body);
}

/** An answer whose body is read once, as text, bytes or a stream; the signal still aborts the reading. */
function answerOf(res: IncomingMessage, signal: AbortLike, stream: StreamModule): AnswerLike {
  const status = res.statusCode ?? 0;
  const bytes = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onAbort = (): void => {
        res.destroy();
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve(Buffer.concat(chunks));
      });
      res.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(new TypeError('fetch failed', { cause: err }));
      });
    });
  return {
    ok: status >= 200 && status <= 299,
    status,
    headers: {
      get(name: string) {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    get body() {
      return stream.Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>;
    },
    text: async () => (await bytes()).toString('utf8'),
    arrayBuffer: async () => {
      const b = await bytes();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}
