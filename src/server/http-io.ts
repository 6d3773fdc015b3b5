// uWebSockets.js request plumbing: reading bodies with limits, writing JSON answers, never touching an aborted response.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { VecStoreError } from '../errors.js';
import type { BodyBudget } from './body-budget.js';

/** Per-response state: uWS responses must not be used after abort or after they ended. */
export interface ResponseState {
  aborted: boolean;
  done: boolean;
  /** Bytes of the body budget this request holds until its answer (see readBody). */
  bodyBytes?: number;
  /** Called once when the client goes away (set by a reader still waiting for the body, so that it settles). */
  onAbort?: () => void;
}

/** HTTP status lines VecStore answers with. */
const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 507: 'Insufficient Storage',
};

/**
 * `Retry-After` for refusals that pass (429: a limit is full; 503: starting, stopping or the log is being repaired):
 * one second, so clients back off instead of retrying at once.
 */
export function retryAfterHeaders(status: number): Array<[string, string]> {
  return status === 429 || status === 503 ? [['Retry-After', '1']] : [];
}

/** The status line for a code, e.g. `404 Not Found`. */
export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
}

/**
 * Writes a complete answer in one corked write, unless the client went away. `closeConnection` is used after refusing a
 * body mid-stream, since the rest of it would otherwise be parsed as the next request.
 */
export function writeAnswer(
  res: HttpResponse,
  state: ResponseState,
  status: number,
  body: string | Uint8Array,
  contentType = 'application/json',
  extraHeaders: Array<[string, string]> = [],
  closeConnection = false,
): void {
  if (state.aborted || state.done) return;
  state.done = true;
  res.cork(() => {
    res.writeStatus(statusLine(status));
    res.writeHeader('Content-Type', contentType);
    for (const [name, value] of extraHeaders) res.writeHeader(name, value);
    res.end(body, closeConnection);
  });
}

/**
 * After refusing a body, read and discard up to this much more before answering: closing a socket with unread bytes
 * makes the kernel send a reset, which destroys the 413 answer before a client that is still sending can read it.
 */
const DRAIN_BYTES = 1024 * 1024;

/**
 * Reads the whole body, refusing it with payload_too_large once Content-Length or the bytes streamed so far pass
 * `maxBytes`, and with too_many_in_flight when `budget` cannot hold it: the declared length is taken at once, a
 * chunked body's bytes as they arrive, recorded in `state.bodyBytes` for the caller to give back once the request is
 * answered. A streamed body that is refused is drained (up to {@link DRAIN_BYTES} more) before the refusal settles,
 * so the answer reaches the client. The caller must have registered `onAborted` (uWS requires it before any
 * asynchronous step).
 */
export function readBody(res: HttpResponse, req: HttpRequest, state: ResponseState, maxBytes: number, budget: BodyBudget): Promise<Buffer> {
  const declared = req.getHeader('content-length');
  let refusal: VecStoreError | undefined;
  /** Takes `bytes` of the budget for this request (given back by the caller once answered), or sets the refusal. */
  const reserve = (bytes: number) => {
    if (budget.tryTake(bytes)) state.bodyBytes = (state.bodyBytes ?? 0) + bytes;
    else refusal = new VecStoreError('too_many_in_flight', `body: the server holds ${budget.inUse} bytes of request bodies (--max-body-memory ${budget.limit}); retry shortly`);
  };
  if (declared !== '') {
    const length = Number(declared);
    if (Number.isFinite(length) && length > maxBytes) {
      refusal = new VecStoreError('payload_too_large', `body: ${length} bytes is over the limit of ${maxBytes}`);
    } else if (Number.isSafeInteger(length) && length > 0) {
      reserve(length);
    }
  }
  // With a declared length the body is copied once, into its final buffer, instead of chunk by chunk and then joined:
  // batch bodies run to tens of megabytes.
  const declaredLength = refusal === undefined && declared !== '' ? Number(declared) : NaN;
  let whole = Number.isSafeInteger(declaredLength) && declaredLength > 0 ? Buffer.allocUnsafeSlow(declaredLength) : undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    // A declared oversize is answered at once (a client waiting on `Expect: 100-continue` sends nothing more); the
    // handler below still discards whatever body does arrive.
    if (refusal !== undefined) {
      settled = true;
      reject(refusal);
    }
    // A client that disconnects mid-body sends no last chunk: settle anyway, or the request stays in flight forever
    // (and graceful shutdown would wait for it).
    state.onAbort = () => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      reject(new VecStoreError('validation', 'body: the client went away before sending all of it'));
    };
    res.onData((chunk, isLast) => {
      if (settled || state.aborted) return;
      received += chunk.byteLength;
      if (refusal === undefined && received > maxBytes) {
        refusal = new VecStoreError('payload_too_large', `body: more than the limit of ${maxBytes} bytes`);
        chunks.length = 0;
      }
      // A body without a declared length takes its budget chunk by chunk.
      if (refusal === undefined && whole === undefined) {
        reserve(chunk.byteLength);
        if (refusal !== undefined) chunks.length = 0;
      }
      if (refusal !== undefined) {
        if (isLast || received > maxBytes + DRAIN_BYTES) {
          settled = true;
          reject(refusal);
        }
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      if (whole !== undefined && received > whole.length) {
        // More than declared (uWS frames by Content-Length, so this should not happen): fall back to joining chunks.
        chunks.push(whole.subarray(0, received - chunk.byteLength));
        whole = undefined;
      }
      if (whole !== undefined) whole.set(new Uint8Array(chunk), received - chunk.byteLength);
      else chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) {
        settled = true;
        if (whole !== undefined && chunks.length === 0) resolve(received === whole.length ? whole : whole.subarray(0, received));
        else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
      }
    });
  });
}

// JSON bodies are parsed below the server (the parse workers read batch bodies too); routes import them from here.
export { parseJsonBody, parseJsonObject } from '../engine/json-body.js';

/** Chunks waiting before the socket is paused (uWS stops reading it until resumed). */
const STREAM_HIGH_WATER = 16;

/**
 * The body as a stream of chunks, for uploads larger than any buffer: the socket is paused while the consumer is
 * behind. Refuses with payload_too_large past `maxBytes` (declared or streamed). Must be called before any await.
 */
export function bodyStream(res: HttpResponse, req: HttpRequest, state: ResponseState, maxBytes: number): AsyncIterator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: VecStoreError | undefined;
  let paused = false;
  let received = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const declared = Number(req.getHeader('content-length') || NaN);
  if (Number.isFinite(declared) && declared > maxBytes) failure = new VecStoreError('payload_too_large', `body: ${declared} bytes is over the limit of ${maxBytes}`);
  state.onAbort = () => {
    failure ??= new VecStoreError('validation', 'body: the client went away before sending all of it');
    ended = true;
    notify();
  };
  res.onData((chunk, isLast) => {
    if (state.aborted) return;
    received += chunk.byteLength;
    if (failure === undefined && received > maxBytes) failure = new VecStoreError('payload_too_large', `body: more than the limit of ${maxBytes} bytes`);
    // uWS reuses the chunk's memory after this callback returns: copy it.
    if (failure === undefined && chunk.byteLength > 0) queue.push(Buffer.from(new Uint8Array(chunk)));
    if (isLast) ended = true;
    if (!paused && !ended && queue.length >= STREAM_HIGH_WATER) {
      paused = true;
      res.pause();
    }
    notify();
  });
  return {
    next: async () => {
      while (queue.length === 0 && !ended && failure === undefined) await new Promise<void>((resolve) => { wake = resolve; });
      if (failure !== undefined) {
        queue.length = 0;
        throw failure;
      }
      const value = queue.shift();
      if (paused && queue.length < STREAM_HIGH_WATER / 2 && !state.aborted) {
        paused = false;
        res.resume();
      }
      return value === undefined ? { done: true, value: undefined } : { done: false, value };
    },
  };
}

/**
 * Streams an answer of known `size` (Content-Length) with backpressure: each chunk waits until uWS took the last.
 * A failure midway can only cut the connection (the status is already sent); the reader sees a short body.
 */
export async function writeStream(
  res: HttpResponse,
  state: ResponseState,
  status: number,
  contentType: string,
  headers: Array<[string, string]>,
  size: number,
  chunks: AsyncIterable<Buffer>,
): Promise<void> {
  if (state.aborted || state.done) return;
  let started = false;
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await iterator.next();
      if (step.done || state.aborted) break;
      const chunk = step.value;
      const base = res.getWriteOffset();
      let result: [boolean, boolean] = [false, false];
      res.cork(() => {
        if (!started) {
          started = true;
          res.writeStatus(statusLine(status));
          res.writeHeader('Content-Type', contentType);
          for (const [name, value] of headers) res.writeHeader(name, value);
        }
        result = res.tryEnd(chunk, size);
      });
      if (result[1]) {
        state.done = true;
        break;
      }
      if (!result[0]) {
        // uWS took part of the chunk: wait until the socket drains, then hand it the rest.
        await new Promise<void>((resolve) => {
          state.onAbort = resolve;
          res.onWritable((offset) => {
            const [ok, done] = res.tryEnd(chunk.subarray(offset - base), size);
            if (done) state.done = true;
            if (ok || done) resolve();
            return ok;
          });
        });
        if (state.done) break;
      }
    }
    if (!state.done && !state.aborted) throw new Error(`stream ended after ${res.getWriteOffset()} of ${size} bytes`);
  } catch (err) {
    if (!state.aborted && !state.done) {
      state.done = true;
      res.close();
    }
    throw err;
  } finally {
    await iterator.return?.();
  }
}
