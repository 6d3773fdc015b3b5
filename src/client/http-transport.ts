// HTTP for the client: one request per attempt under a deadline, the API key header, error answers as VecStoreError,
// and retries of idempotent calls on 429/503 and lost connections. Requests go through node:http in Node (see
// node-http.ts) and through fetch elsewhere, and for streamed bodies and answers.
import { VecStoreError, errorFromAnswer } from './errors.js';
import { isRetryableStatus, MAX_RETRY_AFTER_MS, retryDelayMs } from './retry-policy.js';
import { abortSignalOf, requestWhole, type AbortLike, type AnswerLike } from './node-http.js';

export interface TransportOptions {
  /** Server base URL, e.g. `http://127.0.0.1:8080` (a trailing slash is fine). */
  url: string;
  apiKey?: string;
  /** Deadline of a whole call, retries and their waits included (default 30 s; 0 or Infinity: none). */
  timeoutMs?: number;
  /** Retries of an idempotent call after 429, 503 or a lost connection (default 3; 0 turns them off). */
  retries?: number;
}

/** Per-call options, the last argument of every client method. */
export interface CallOptions {
  /** Cancels the call (it rejects with VecStoreError `aborted`), e.g. a search superseded by the next keystroke. */
  signal?: AbortSignal;
  /** This call's deadline instead of the client's `timeoutMs` (a long batch upsert or download). */
  timeoutMs?: number;
}

/** Query-string parameters; undefined ones are left out, others are sent as their string form. */
export type QueryParams = Record<string, string | number | boolean | undefined>;

export interface HttpRequest extends CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the base URL, already percent-encoded where it holds names or ids. */
  path: string;
  query?: QueryParams;
  /** A JSON body (serialised here) ... */
  json?: unknown;
  /** ... or raw bytes with their content type (a Blob, e.g. Node's `fs.openAsBlob`, is streamed by fetch). */
  bytes?: { body: Uint8Array | ArrayBuffer | Blob; contentType: string };
  /**
   * Whether sending the request twice leaves the server as sending it once. Only such calls are retried: a retry may
   * follow an attempt whose answer was lost after the server had acted on it.
   */
  idempotent: boolean;
}

/** Default deadline of a call: long enough for a large batch upsert on a busy server, short enough to notice a hang. */
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 3;

/** Sends requests to one server; shared by the client and every collection handle it makes. */
export class HttpTransport {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly timeoutMs: number;
  readonly retries: number;

  constructor(options: TransportOptions) {
    if (typeof options.url !== 'string' || !/^https?:\/\//i.test(options.url)) {
      throw new TypeError(`url: must be an http:// or https:// URL, got ${JSON.stringify(options.url)}`);
    }
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES));
  }

  /** Sends the request and returns its parsed JSON answer; any failure is a VecStoreError. */
  async json<T>(request: HttpRequest): Promise<T> {
    const text = await this.send(request, 'plain', (res) => res.text());
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new VecStoreError({ status: 200, code: 'invalid_response', message: `${request.method} ${request.path}: the answer is not JSON`, cause: err });
    }
  }

  /** Sends the request and returns its body as bytes (snapshot downloads); the deadline covers the whole body. */
  async bytes(request: HttpRequest): Promise<Uint8Array> {
    return new Uint8Array(await this.send(request, 'plain', (res) => res.arrayBuffer()));
  }

  /**
   * Sends the request and returns its body as a stream once the answer's headers arrive: the deadline (and retries)
   * cover only that far, since a large body takes as long as it takes. Cancel the stream to stop reading.
   */
  async stream(request: HttpRequest): Promise<{ body: ReadableStream<Uint8Array>; size: number | undefined }> {
    return this.send(request, 'fetch', async (res) => {
      const length = res.headers.get('content-length');
      return { body: res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }), size: length === null ? undefined : Number(length) };
    });
  }

  /** The headers every request carries (the WebSocket opener reuses them in Node). */
  authHeaders(): Record<string, string> {
    return this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` };
  }

  /**
   * Runs attempts until one answers 2xx (its body read by `read` under the same deadline), the answer is an error
   * that is not retried, the retries run out, or the deadline passes.
   */
  private async send<R>(request: HttpRequest, via: 'plain' | 'fetch', read: (res: AnswerLike) => Promise<R>): Promise<R> {
    // The deadline's timer and the caller's signal are unhooked when this returns, so a body handed over as a stream
    // is never aborted by them afterwards.
    const deadline = new Deadline(request.timeoutMs ?? this.timeoutMs, request.signal);
    const url = this.urlFor(request);
    const init = this.initFor(request);
    // An answer read whole with a body of bytes or text goes through node:http where there is one; a Blob body is
    // streamed by fetch, and a streamed answer is fetch's web stream.
    const plain = via === 'plain' && !(typeof Blob !== 'undefined' && init.body instanceof Blob);
    try {
      for (let attempt = 0; ; attempt++) {
        const canRetry = request.idempotent && attempt < this.retries;
        let res: AnswerLike;
        try {
          res = plain
            ? await requestWhole(url, { method: init.method, headers: init.headers, body: init.body as string | Uint8Array | ArrayBuffer | undefined, signal: deadline })
            : await fetch(url, { ...init, signal: abortSignalOf(deadline) });
        } catch (err) {
          const failure = deadline.explain(err) ?? networkError(request, err);
          if (failure.code !== 'network' || !canRetry) throw failure;
          await deadline.sleep(retryDelayMs(attempt, null), failure);
          continue;
        }
        if (res.ok) {
          try {
            return await read(res);
          } catch (err) {
            throw deadline.explain(err) ?? networkError(request, err);
          }
        }
        const error = errorFromAnswer(res.status, await res.text().catch(() => ''));
        if (!canRetry || !isRetryableStatus(res.status)) throw error;
        const wait = retryDelayMs(attempt, res.headers.get('retry-after'));
        if (wait > MAX_RETRY_AFTER_MS) throw error;
        await deadline.sleep(wait, error);
      }
    } catch (err) {
      throw deadline.explain(err) ?? err;
    } finally {
      deadline.clear();
    }
  }

  private urlFor(request: HttpRequest): string {
    return this.baseUrl + pathWithQuery(request);
  }

  private initFor(request: HttpRequest): { method: string; headers: Record<string, string>; body: BodyInit | undefined } {
    const headers: Record<string, string> = this.authHeaders();
    let body: BodyInit | undefined;
    if (request.bytes) {
      headers['content-type'] = request.bytes.contentType;
      // BodyInit is typed for ArrayBuffer-backed views only; a view of a Float32Array the caller made is one.
      body = request.bytes.body as BodyInit;
    } else if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    }
    return { method: request.method, headers, body };
  }
}

/** The request's path with its query string, if it has parameters. */
export function pathWithQuery(request: Pick<HttpRequest, 'path' | 'query'>): string {
  if (!request.query) return request.path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query)) if (value !== undefined) params.set(key, String(value));
  const qs = params.toString();
  return qs === '' ? request.path : `${request.path}?${qs}`;
}

function networkError(request: HttpRequest, err: unknown): VecStoreError {
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, ECONNRESET, ENOTFOUND) is on its cause.
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error).message;
  return new VecStoreError({ status: 0, code: 'network', message: `${request.method} ${request.path}: no answer from the server (${reason})`, cause: err });
}

/**
 * A call's deadline and the caller's signal, as one abort event (node:http takes it as it is; fetch gets an AbortSignal
 * made from it, see abortSignalOf: an AbortController per call costs more than the rest of a query's set-up) and one
 * sleep that both can cut short.
 */
class Deadline implements AbortLike {
  private readonly listeners = new Set<() => void>();
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly started = Date.now();
  private state: 'running' | 'timeout' | 'aborted' = 'running';
  private readonly onCallerAbort = (): void => this.abort('aborted');
  reason: unknown;

  constructor(private readonly timeoutMs: number, private readonly caller: AbortSignal | undefined) {
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) this.timer = setTimeout(() => this.abort('timeout'), timeoutMs);
    if (caller?.aborted) this.abort('aborted');
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get aborted(): boolean {
    return this.state !== 'running';
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.delete(listener);
  }

  /** The timeout or abort error if the deadline or the caller ended the call (whatever error fetch threw for it). */
  explain(err: unknown): VecStoreError | undefined {
    if (err instanceof VecStoreError && (err.code === 'timeout' || err.code === 'aborted')) return err;
    if (this.state === 'timeout') {
      return new VecStoreError({ status: 0, code: 'timeout', message: `no answer within ${this.timeoutMs} ms (timeoutMs), retries included`, cause: err });
    }
    if (this.state === 'aborted') return new VecStoreError({ status: 0, code: 'aborted', message: 'the call was aborted by its signal', cause: err });
    return undefined;
  }

  /** Waits `ms` before a retry; when the deadline would pass first, fails now with the error being retried. */
  async sleep(ms: number, failure: VecStoreError): Promise<void> {
    if (this.timer !== undefined && Date.now() - this.started + ms >= this.timeoutMs) throw failure;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.removeEventListener('abort', stop);
        resolve();
      }, ms);
      const stop = (): void => {
        clearTimeout(t);
        reject(this.explain(undefined));
      };
      if (this.aborted) stop();
      else this.addEventListener('abort', stop);
    });
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }

  private abort(state: 'timeout' | 'aborted'): void {
    if (this.state !== 'running') return;
    this.state = state;
    this.reason = new DOMException('This operation was aborted', 'AbortError');
    // Each listener runs once, as with `{ once: true }`.
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}
