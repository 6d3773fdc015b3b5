// `queryStream()`: one WebSocket on /ws/query-stream carrying many queries at once, each answered by its own promise.
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';
import { VecStoreError } from './errors.js';
import type { CallOptions, HttpTransport } from './http-transport.js';
import { float32Bytes, vectorArray, type WithVectorInput } from './vector-encoding.js';
import { openWebSocket, type SocketLike } from './websocket-opener.js';
import type { ErrorBody, QueryHit, WsCompleteMessage, WsQueryMessage } from '../api/schemas.js';

export interface QueryStreamOptions {
  /** Collection the queries go to unless one names another (none: `default`). */
  collection?: string;
  /**
   * Queries sent before their answers come back; more wait here, in order. The server refuses queries past its
   * `--max-ws-in-flight` (default 256) with 429 `too_many_in_flight`, so keep this at or under it.
   */
  maxInFlight?: number;
}

/**
 * A query message as the stream takes it (hybrid when it has `text_query`; `collection` and `traceparent` optional);
 * the stream assigns `request_id`.
 */
export type StreamQueryInput = WithVectorInput<Omit<WsQueryMessage, 'request_id'>>;

/** One query's answer on a stream: its hits, best first, and the stats of its final message. */
export interface StreamQueryAnswer {
  results: QueryHit[];
  stats: WsCompleteMessage['stats'];
}

export const DEFAULT_MAX_IN_FLIGHT = 256;
/** Request ids are u32 in binary frames; they wrap long after any answer to an id could still be pending. */
const MAX_REQUEST_ID = 0xffffffff;
/** Fields a binary frame carries: u32 request_id, u32 limit, then the vector. */
const BINARY_FIELDS = new Set(['vector', 'limit', 'k']);
/** The server's default limit, written into binary frames that give none. */
const DEFAULT_LIMIT = 10;

interface Pending {
  hits: QueryHit[];
  resolve(answer: StreamQueryAnswer): void;
  reject(err: VecStoreError): void;
  /** Stops its timer and its abort listener. */
  cleanup(): void;
  /** Given up (timeout, abort): its answer is still awaited (it holds a server in-flight place) but then dropped. */
  abandoned: boolean;
}

/** One open query stream. Answers are paired with queries by `request_id`, which the stream assigns. */
export class QueryStream {
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: Array<() => void> = [];
  private nextId = 1;
  /** In-flight places taken; a finished query hands its place straight to the next waiting one. */
  private used = 0;
  private closedError: VecStoreError | undefined;

  private constructor(
    private readonly socket: SocketLike,
    private readonly options: Required<Pick<QueryStreamOptions, 'maxInFlight'>> & QueryStreamOptions,
    private readonly timeoutMs: number,
  ) {
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('message', (event) => this.onMessage(event.data));
    socket.addEventListener('close', (event) => {
      this.shutDown(new VecStoreError({ status: 0, code: 'closed', message: `query stream closed (code ${event.code}${event.reason ? `: ${event.reason}` : ''})` }));
    });
  }

  /** Opens the socket (`ws://` for `http://` servers, `wss://` for `https://`); the client's `timeoutMs` bounds the opening. */
  static async open(transport: HttpTransport, options: QueryStreamOptions = {}): Promise<QueryStream> {
    const url = `${transport.baseUrl.replace(/^http/i, 'ws')}/ws/query-stream`;
    const socket = await openWebSocket(url, transport.apiKey, transport.timeoutMs);
    return new QueryStream(socket, { ...options, maxInFlight: Math.max(1, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT) }, transport.timeoutMs);
  }

  /** Queries sent and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a query (once fewer than `maxInFlight` are in flight) and resolves with its hits, best first, and stats.
   * Errors reject with VecStoreError (status from the code, e.g. 400 `validation`); the socket stays open. Not retried.
   * `call.timeoutMs` (default: the client's) and `call.signal` give up on the answer; the query keeps its in-flight
   * place until the server has answered it, since the server still counts it.
   */
  async query(request: StreamQueryInput, call: CallOptions = {}): Promise<StreamQueryAnswer> {
    if (this.closedError) throw this.closedError;
    if (call.signal?.aborted) throw abortedError();
    if (this.used >= this.options.maxInFlight) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.closedError) throw this.closedError;
      if (call.signal?.aborted) {
        this.releasePlace();
        throw abortedError();
      }
    } else {
      this.used++;
    }
    const id = this.nextId;
    this.nextId = this.nextId === MAX_REQUEST_ID ? 1 : this.nextId + 1;
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    return new Promise<StreamQueryAnswer>((resolve, reject) => {
      const giveUp = (err: VecStoreError): void => {
        entry.abandoned = true;
        entry.cleanup();
        reject(err);
      };
      const onAbort = (): void => giveUp(abortedError());
      const timer = timeoutMs > 0 && Number.isFinite(timeoutMs)
        ? setTimeout(() => giveUp(new VecStoreError({ status: 0, code: 'timeout', message: `query ${id}: no answer within ${timeoutMs} ms (timeoutMs)` })), timeoutMs)
        : undefined;
      const entry: Pending = {
        hits: [], resolve, reject, abandoned: false,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          call.signal?.removeEventListener('abort', onAbort);
        },
      };
      call.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, entry);
      try {
        this.socket.send(this.encode(id, request));
      } catch (err) {
        this.settle(id);
        reject(new VecStoreError({ status: 0, code: 'closed', message: `query ${id}: could not be sent (${(err as Error).message})`, cause: err }));
      }
    });
  }

  /** Closes the socket; queries still waiting reject with `closed`. */
  close(): Promise<void> {
    if (this.closedError) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.socket.addEventListener('close', () => resolve()));
    this.shutDown(new VecStoreError({ status: 0, code: 'closed', message: 'query stream closed by the client' }));
    this.socket.close(1000);
    return closed;
  }

  /** A binary frame for a bare Float32Array query on `default`, JSON otherwise. */
  private encode(id: number, request: StreamQueryInput): string | ArrayBuffer {
    const { vector, ...rest } = request;
    const collection = request.collection ?? this.options.collection;
    const limit = collection === undefined ? binaryLimit(request) : undefined;
    if (vector instanceof Float32Array && limit !== undefined) {
      const frame = new Uint8Array(8 + vector.byteLength);
      const view = new DataView(frame.buffer);
      view.setUint32(0, id, true);
      view.setUint32(4, limit, true);
      frame.set(float32Bytes(vector), 8);
      return frame.buffer;
    }
    return JSON.stringify({ ...rest, vector: vectorArray(vector), ...(collection === undefined ? {} : { collection }), request_id: id });
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    const id = message.request_id;
    if (typeof id !== 'number') return; // ours are numbers; an error without one concerns no query of ours
    const entry = this.pending.get(id);
    if (!entry) return;
    if (typeof message.error === 'string') {
      this.settle(id);
      const code = typeof message.code === 'string' ? message.code : 'internal';
      entry.reject(new VecStoreError({ status: statusOf(code), code, message: message.error, body: message as ErrorBody & Record<string, unknown> }));
    } else if (message.complete === true) {
      this.settle(id);
      entry.resolve({ results: entry.hits, stats: message.stats as StreamQueryAnswer['stats'] });
    } else if (!entry.abandoned) {
      delete message.request_id;
      entry.hits.push(message as unknown as QueryHit);
    }
  }

  /** Ends a query's wait: frees its place for the next waiting query. */
  private settle(id: number): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    entry.cleanup();
    this.pending.delete(id);
    this.releasePlace();
  }

  /** Hands an in-flight place straight to the next waiting query, or frees it. */
  private releasePlace(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used--;
  }

  private shutDown(reason: VecStoreError): void {
    if (this.closedError) return;
    this.closedError = reason;
    for (const entry of this.pending.values()) {
      entry.cleanup();
      if (!entry.abandoned) entry.reject(reason);
    }
    this.pending.clear();
    this.used = 0;
    for (const wake of this.waiting.splice(0)) wake();
  }
}

/**
 * The limit a binary frame would carry, when the query has nothing else (a vector and `limit` or `k`, not both) and
 * the limit fits a u32; undefined otherwise, and the query goes as JSON for the server to read and check.
 */
function binaryLimit(request: StreamQueryInput): number | undefined {
  const fields = Object.keys(request).filter((k) => (request as unknown as Record<string, unknown>)[k] !== undefined);
  if (!fields.every((k) => BINARY_FIELDS.has(k)) || (request.limit != null && request.k != null)) return undefined;
  const limit = request.limit ?? request.k ?? DEFAULT_LIMIT;
  return Number.isInteger(limit) && limit >= 0 && limit <= MAX_REQUEST_ID ? limit : undefined;
}

function abortedError(): VecStoreError {
  return new VecStoreError({ status: 0, code: 'aborted', message: 'the query was aborted by its signal' });
}

/** The HTTP status the server gives a code (WebSocket errors carry only the code). */
function statusOf(code: string): number {
  return (ERROR_CATALOGUE as Record<string, number>)[code as ErrorCode] ?? 0;
}
