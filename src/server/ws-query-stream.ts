// WebSocket `/ws/query-stream`: many queries in flight per socket, each answered as a stream of result messages.
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { VecStoreError, errorType } from '../errors.js';
import type { QueryHit } from '../engine/engine.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Collection } from '../catalog/collection.js';
import type { Limits } from '../engine/limits.js';
import type { VecStoreMetrics } from '../metrics/metrics.js';
import type { Logger } from '../logger.js';
import { isPlainObject } from '../engine/record-validation.js';
import { runQuery as dispatchQuery, wsCompleteMessage, wsHitMessage } from '../api/query-dispatch.js';
import { errorBody } from '../api/error-body.js';
import { authorize, type Authenticator, type Principal } from './auth.js';
import { retryAfterHeaders, statusLine } from './http-io.js';
import type { RequestSpan, Tracing } from '../telemetry/tracing.js';
import { DEFAULT_COLLECTION } from '../catalog/collection-settings.js';

/** The reason uWS gives its close handler when it drops a socket for a message over maxPayloadLength. */
const TOO_BIG_REASON = 'Received too big message';
/** Stop writing to a socket once this much is buffered for it; resume on drain. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** The subprotocol VecStore answers with when a browser offers it (next to an `api-key.<key>` offer). */
export const WS_PROTOCOL = 'vecstore';
const KEY_PROTOCOL_PREFIX = 'api-key.';

/** Longest `request_id`, as JSON: it is copied into every message of its answer. */
export const MAX_REQUEST_ID_CHARS = 256;

/**
 * An answer waiting to be sent: its messages are built one at a time as the socket takes them, so a waiting answer
 * holds its hits (metadata shared with the store), never its serialised messages.
 */
interface Outgoing {
  /** Result messages still to build, then the final message. */
  hits: QueryHit[];
  next: number;
  requestId: { request_id?: unknown };
  final: () => string;
  /** Runs once the final message has been handed to the socket (it frees the query's in-flight place). */
  sent?: () => void;
  /** Estimated bytes this answer holds while it waits (see answerBytes). */
  bytes: number;
}

interface SocketState {
  /** The key the socket was opened with (undefined when no key is configured); checked per query's collection. */
  principal: Principal | undefined;
  inFlight: number;
  closed: boolean;
  queue: Outgoing[];
  /** Estimated bytes of the answers in `queue`. */
  queuedBytes: number;
}

export interface QueryStreamOptions {
  catalog: Catalog;
  limits: Limits;
  metrics: VecStoreMetrics | undefined;
  auth: Authenticator;
  logger: Logger;
  tracing?: Tracing;
}

/** Registers the WebSocket route; returns a function that closes every open socket with 1001 (going away). */
export function registerQueryStream(app: TemplatedApp, options: QueryStreamOptions): { closeAll(): void; open(): number } {
  const { catalog, limits, metrics, auth, logger, tracing } = options;
  const sockets = new Set<WebSocket<SocketState>>();

  const flush = (ws: WebSocket<SocketState>): void => {
    const state = ws.getUserData();
    if (state.closed) return;
    ws.cork(() => {
      while (state.queue.length > 0 && ws.getBufferedAmount() < HIGH_WATER_BYTES) {
        const head = state.queue[0];
        if (head.next < head.hits.length) {
          ws.send(wsHitMessage(head.hits[head.next++], head.requestId), false);
          continue;
        }
        state.queue.shift();
        state.queuedBytes -= head.bytes;
        ws.send(head.final(), false);
        head.sent?.();
      }
    });
  };

  /**
   * Queues an answer, unless the socket's answers waiting to be read would pass `maxWsQueuedBytes`: a client that does
   * not read must not grow the server's memory, so its socket is closed with 1008 (policy violation).
   */
  const enqueue = (ws: WebSocket<SocketState>, item: Outgoing): void => {
    const state = ws.getUserData();
    if (state.closed) return item.sent?.();
    if (state.queuedBytes + item.bytes + ws.getBufferedAmount() > limits.maxWsQueuedBytes) {
      metrics?.errors.inc({ error_type: errorType('ws_backpressure') });
      item.sent?.();
      ws.end(1008, `answers not read: over ${limits.maxWsQueuedBytes} bytes waiting`);
      return;
    }
    state.queue.push(item);
    state.queuedBytes += item.bytes;
    flush(ws);
  };

  const sendError = (ws: WebSocket<SocketState>, err: VecStoreError, requestId: unknown, sent?: () => void, span?: RequestSpan): void => {
    metrics?.errors.inc({ error_type: errorType(err.code) });
    span?.end(err.status, err);
    const traced = span ? { traceresponse: span.traceresponse } : {};
    const message = JSON.stringify({ ...errorBody(err), ...withRequestId(requestId), ...traced });
    enqueue(ws, { hits: [], next: 0, requestId: {}, final: () => message, sent, bytes: message.length * 2 });
  };

  const runQuery = async (ws: WebSocket<SocketState>, body: Record<string, unknown>, vector: Float32Array | undefined): Promise<void> => {
    // A query message may carry the caller's W3C traceparent; the span covers the query up to its last message.
    const span = tracing?.startRequest({
      transport: 'websocket', method: 'QUERY', route: '/ws/query-stream', traceparent: typeof body.traceparent === 'string' ? body.traceparent : undefined,
      collection: body.collection === undefined ? DEFAULT_COLLECTION : typeof body.collection === 'string' ? body.collection : undefined,
    });
    if (span) return span.run(() => answerQuery(ws, body, vector, span));
    return answerQuery(ws, body, vector, undefined);
  };

  const answerQuery = async (ws: WebSocket<SocketState>, body: Record<string, unknown>, vector: Float32Array | undefined, span: RequestSpan | undefined): Promise<void> => {
    const state = ws.getUserData();
    const requestId = body.request_id;
    const ridChars = requestId === undefined ? 0 : JSON.stringify(requestId).length;
    if (ridChars > MAX_REQUEST_ID_CHARS) {
      // Not echoed: it is the part that is too long.
      sendError(ws, new VecStoreError('request_id_too_long', `request_id: ${ridChars} characters of JSON is over the limit of ${MAX_REQUEST_ID_CHARS}`), undefined, undefined, span);
      return;
    }
    if (state.inFlight >= limits.maxWsInFlight) {
      sendError(ws, new VecStoreError('too_many_in_flight', `request_id ${JSON.stringify(requestId ?? null)}: ${limits.maxWsInFlight} queries are already in flight on this socket`), requestId, undefined, span);
      return;
    }
    state.inFlight++;
    const release = () => { state.inFlight--; };
    try {
      // The same schema, parsers and error bodies as the HTTP routes (one API layer); a binary frame's vector comes apart.
      const answer = await dispatchQuery('wsQuery', body, () => resolveCollection(catalog, state.principal, body.collection), limits, metrics, vector);
      const rid = withRequestId(requestId);
      span?.end(200);
      const traced = span ? { traceresponse: span.traceresponse } : {};
      enqueue(ws, {
        hits: answer.results,
        next: 0,
        requestId: rid,
        final: () => wsCompleteMessage(answer, rid, traced),
        sent: release,
        bytes: answerBytes(answer.results, ridChars),
      });
    } catch (err) {
      const known = err instanceof VecStoreError ? err : new VecStoreError('internal', 'internal error');
      if (!(err instanceof VecStoreError)) logger.error({ err }, 'websocket query failed');
      if (state.closed) {
        span?.end(known.status, known);
        return release();
      }
      sendError(ws, known, requestId, release, span);
    }
  };

  app.ws<SocketState>('/ws/query-stream', {
    maxPayloadLength: limits.maxWsMessageBytes,
    // Our own queue holds what waits; uWS's limit is a safety net far above the high-water mark.
    maxBackpressure: 64 * 1024 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const key = req.getHeader('sec-websocket-key');
      const offered = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const authorization = req.getHeader('authorization');
      const apiKey = req.getHeader('api-key');
      const offers = offered.split(',').map((p) => p.trim()).filter((p) => p !== '');
      let principal: Principal | undefined;
      try {
        if (sockets.size >= limits.maxWsConnections) {
          throw new VecStoreError('too_many_connections', `websocket: ${limits.maxWsConnections} connections are already open`);
        }
        const keyOffer = offers.find((p) => p.startsWith(KEY_PROTOCOL_PREFIX));
        if (keyOffer && apiKey === '' && authorization === '') principal = auth.authenticateKey(keyOffer.slice(KEY_PROTOCOL_PREFIX.length));
        else principal = auth.authenticate(authorization, apiKey);
      } catch (err) {
        const e = err as VecStoreError;
        metrics?.errors.inc({ error_type: errorType(e.code) });
        res.cork(() => {
          res.writeStatus(statusLine(e.status)).writeHeader('Content-Type', 'application/json');
          for (const [name, value] of retryAfterHeaders(e.status)) res.writeHeader(name, value);
          res.end(JSON.stringify(errorBody(e)));
        });
        return;
      }
      // Never echo the key offer back; answer with our protocol name if the client offered it.
      const chosen = offers.includes(WS_PROTOCOL) ? WS_PROTOCOL : '';
      res.upgrade<SocketState>({ principal, inFlight: 0, closed: false, queue: [], queuedBytes: 0 }, key, chosen, extensions, context);
    },
    open: (ws) => {
      sockets.add(ws);
      metrics?.wsConnections.inc();
    },
    message: (ws, message, isBinary) => {
      let body: Record<string, unknown>;
      let vector: Float32Array | undefined;
      try {
        if (isBinary) {
          // Binary frame: u32 request_id, u32 limit, then the vector as little-endian float32.
          if (message.byteLength < 12 || message.byteLength % 4 !== 0) {
            throw new VecStoreError('validation', 'message: a binary query is u32 request_id, u32 limit, then float32 values (a multiple of 4 bytes, at least 12)');
          }
          const view = new DataView(message);
          vector = new Float32Array(message.byteLength / 4 - 2);
          for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(8 + i * 4, true);
          body = { request_id: view.getUint32(0, true), limit: view.getUint32(4, true) };
        } else {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.from(message).toString('utf8'));
          } catch (err) {
            throw new VecStoreError('invalid_json', `message: malformed JSON (${(err as Error).message})`);
          }
          if (!isPlainObject(parsed)) throw new VecStoreError('validation', 'message: must be a JSON object');
          body = parsed;
        }
      } catch (err) {
        sendError(ws, err as VecStoreError, undefined);
        return;
      }
      void runQuery(ws, body, vector);
    },
    drain: (ws) => flush(ws),
    close: (ws, code, reason) => {
      // uWS drops an oversized message's socket itself (1006, no close frame), so this is the only place to count it.
      if (code === 1006 && Buffer.from(reason).toString() === TOO_BIG_REASON) metrics?.errors.inc({ error_type: errorType('ws_message_too_large') });
      const state = ws.getUserData();
      state.closed = true;
      // Free the in-flight places of answers that will never be sent.
      for (const item of state.queue) item.sent?.();
      state.queue = [];
      state.queuedBytes = 0;
      sockets.delete(ws);
      metrics?.wsConnections.dec();
    },
  });

  return {
    closeAll: () => {
      for (const ws of [...sockets]) ws.end(1001, 'server shutting down');
    },
    open: () => sockets.size,
  };
}

/** The collection a message names (`default` without one), if the socket's key may read it. */
function resolveCollection(catalog: Catalog, principal: Principal | undefined, name: unknown): Collection {
  if (name === undefined) {
    authorize(principal, 'read', 'default');
    return catalog.defaultForRead();
  }
  if (typeof name !== 'string') throw new VecStoreError('validation', 'collection: must be a collection name (a string)');
  authorize(principal, 'read', name);
  return catalog.require(name);
}

/**
 * What a waiting answer holds: per hit an object and its id, plus the copied vector when vectors were asked for
 * (metadata objects are the store's own, not copies). Counted against `maxWsQueuedBytes` with the request id that
 * each of its messages will carry.
 */
function answerBytes(hits: QueryHit[], ridChars: number): number {
  let bytes = 256 + ridChars * 2;
  for (const h of hits) bytes += 96 + h.id.length * 2 + (h.vector ? h.vector.length * 8 : 0) + (h.text ? h.text.length * 2 : 0);
  return bytes;
}

function withRequestId(requestId: unknown): { request_id?: unknown } {
  return requestId === undefined ? {} : { request_id: requestId };
}
