// The uWebSockets.js front thread: dispatches HTTP requests to routes, maps errors to JSON, counts metrics, shuts down.
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, us_listen_socket } from 'uWebSockets.js';
import { VecStoreError, errorType } from '../errors.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Limits } from '../engine/limits.js';
import type { MetricName } from '../distance/metric.js';
import type { VecStoreMetrics } from '../metrics/metrics.js';
import type { Logger } from '../logger.js';
import { authorize, type Authenticator, type Principal } from './auth.js';
import { bodyStream, readBody, retryAfterHeaders, writeAnswer, writeStream, type ResponseState } from './http-io.js';
import { BodyBudget, bodyMemoryLimit } from './body-budget.js';
import { Router, UNKNOWN_ENDPOINT } from './router.js';
import { buildRoutes, requestCollection, type HttpMethod, type Route, type RouteAnswer, type RouteContext } from './routes.js';
import type { ParsePool } from '../ingest/parse-pool.js';
import { registerQueryStream } from './ws-query-stream.js';
import type { Tracing } from '../telemetry/tracing.js';
import { CorsPolicy } from './cors.js';
import { ConsoleAssets } from './console-assets.js';
import { CONSOLE_ENDPOINTS, consolePageRoutes } from './console-routes.js';
import { LiveSummary } from './live-summary.js';
import { errorBody } from '../api/error-body.js';

export interface ServerOptions {
  host: string;
  port: number;
  /** Require an API key for `/metrics` too. */
  metricsAuth: boolean;
  auth: Authenticator;
  catalog: Catalog;
  limits: Limits;
  /** Metric of collections created without one. */
  defaultMetric: MetricName;
  metrics: VecStoreMetrics | undefined;
  /** Parses large and Arrow batch bodies in worker threads (inline without it). */
  parser?: ParsePool;
  logger: Logger;
  /** OpenTelemetry tracing, when on (undefined costs nothing per request). */
  tracing?: Tracing;
  /** `--cors-origin`: origins browser applications may call from (none: CORS off). */
  corsOrigins?: readonly string[];
  isReady(): boolean;
}

/** A running server. */
export interface RunningServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes WebSockets with 1001. */
  stop(graceMs?: number): Promise<void>;
}

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const EMPTY_BODY = Buffer.alloc(0);

/** Whether the native uWebSockets.js binary is loaded (its App is a native function, not the `ws` fallback). */
export function uwsIsNative(): boolean {
  return /\[native code\]/.test(Function.prototype.toString.call(uWS.App));
}

/** Starts listening; resolves once the port is bound. */
export function startServer(options: ServerOptions): Promise<RunningServer> {
  const { catalog, metrics, logger, auth, limits, tracing } = options;
  const live = metrics ? new LiveSummary(metrics, { excludedEndpoints: CONSOLE_ENDPOINTS }) : undefined;
  // The console's page and files are routed like the API but are not part of it (nor of /openapi.json).
  const router = new Router([
    ...buildRoutes({ catalog, limits, defaultMetric: options.defaultMetric, metrics, parser: options.parser, auth, live, isReady: options.isReady }),
    ...consolePageRoutes(ConsoleAssets.load()),
  ]);
  const app = uWS.App();
  const cors = new CorsPolicy(options.corsOrigins ?? []);
  const bodyBudget = new BodyBudget(bodyMemoryLimit(limits), metrics && ((bytes) => metrics.requestBodyBytes.set(bytes)));
  let inFlight = 0;
  let stopping = false;
  let onIdle: (() => void) | undefined;
  const finished = () => {
    inFlight--;
    if (inFlight === 0) onIdle?.();
  };

  const stream = registerQueryStream(app, { catalog, limits, metrics, auth, logger, tracing });

  app.any('/*', (res: HttpResponse, req: HttpRequest) => {
    const started = performance.now();
    const method = req.getMethod().toUpperCase();
    const url = req.getUrl();
    const match = router.match(method, url);
    const endpoint = match.kind === 'found' ? match.route.path : match.kind === 'method_not_allowed' ? match.template : UNKNOWN_ENDPOINT;
    const countedMethod = KNOWN_METHODS.has(method) ? method : 'OTHER';
    const state: ResponseState = { aborted: false, done: false };
    const span = tracing?.startRequest({
      transport: 'http', method: countedMethod, route: endpoint, traceparent: req.getHeader('traceparent') || undefined,
      collection: match.kind === 'found' ? spanCollection(match.route, match.params) : undefined,
    });

    // Read now: uWS allows reading headers only before the first await.
    const origin = cors.enabled ? req.getHeader('origin') : '';
    const corsHeaders = cors.answerHeaders(origin);
    const answer = (status: number, body: string | Uint8Array, contentType?: string, headers: Array<[string, string]> = [], close = false, error?: VecStoreError) => {
      const all = corsHeaders.length > 0 ? [...headers, ...corsHeaders] : headers;
      writeAnswer(res, state, status, body, contentType, span ? [...all, ['traceresponse', span.traceresponse]] : all, close);
      metrics?.observeRequest(endpoint, countedMethod, (performance.now() - started) / 1000, span?.sampledTraceId);
      span?.end(status, error);
    };
    const respond = (result: RouteAnswer): Promise<void> | void => {
      if (result.stream) {
        const { stream } = result;
        const headers = corsHeaders.length > 0 ? [...(result.headers ?? []), ...corsHeaders] : (result.headers ?? []);
        const status = result.status ?? 200;
        return writeStream(res, state, status, stream.contentType, span ? [...headers, ['traceresponse', span.traceresponse]] : headers, stream.size, stream.chunks).then(
          () => {
            metrics?.observeRequest(endpoint, countedMethod, (performance.now() - started) / 1000, span?.sampledTraceId);
            span?.end(status);
          },
          (err: unknown) => {
            logger.warn({ err: (err as Error).message, endpoint }, 'streamed answer cut short');
            span?.end(500);
          },
        );
      }
      if (result.text) answer(result.status ?? 200, result.text.body, result.text.contentType, result.headers);
      else answer(result.status ?? 200, typeof result.json === 'string' ? result.json : JSON.stringify(result.json), undefined, result.headers);
    };
    const fail = (err: unknown, close = false) => {
      let e: VecStoreError;
      if (err instanceof VecStoreError) e = err;
      else {
        const log = () => logger.error({ err, endpoint, method }, 'internal error');
        if (span) span.run(log);
        else log();
        e = new VecStoreError('internal', 'internal error; see the server log');
      }
      metrics?.errors.inc({ error_type: errorType(e.code) });
      const headers: Array<[string, string]> = [];
      if (match.kind === 'method_not_allowed') headers.push(['Allow', match.allowed.join(', ')]);
      headers.push(...retryAfterHeaders(e.status));
      answer(e.status, JSON.stringify(errorBody(e)), 'application/json', headers, close, e);
    };
    /** From here on the answer comes later: uWS requires onAborted first, and the response is never touched after it. */
    const goAsync = () => {
      res.onAborted(() => {
        state.aborted = true;
        state.onAbort?.();
      });
      inFlight++;
    };

    // RFC 9112 §6.3: a request whose body length is ambiguous must be refused and its connection closed, or the body
    // (read here as no body) would run as a second request, one that a proxy in front never saw.
    const framing = bodyFramingProblem(req);
    if (framing !== undefined) {
      // Answered (and the connection closed) on the next turn, not in this callback: uWS parses whatever follows in its
      // buffer as soon as the callback returns, and while this answer is pending it drops the connection instead of
      // running a request that follows.
      goAsync();
      setImmediate(() => {
        fail(new VecStoreError('validation', framing), true);
        finished();
      });
      return;
    }
    // A browser's preflight is answered before routing and auth (it carries no credentials by design).
    const preflight = cors.preflightHeaders(method, origin, cors.enabled ? req.getHeader('access-control-request-method') : '');
    if (preflight) {
      writeAnswer(res, state, 204, '', undefined, preflight, false);
      metrics?.observeRequest(endpoint, countedMethod, (performance.now() - started) / 1000, span?.sampledTraceId);
      span?.end(204);
      return;
    }
    if (match.kind !== 'found') {
      if (match.kind === 'not_found') fail(new VecStoreError('route_not_found', `route: no ${method} ${url}; see the API in the README`));
      else fail(new VecStoreError('method_not_allowed', `method: ${method} is not allowed on ${match.template} (allowed: ${match.allowed.join(', ')})`));
      return;
    }
    const { route, params } = match;
    const headers = readHeaders(req, route.headers);
    /** Runs the handler inside the request's span, so its child spans and log lines attach to it. */
    const handle = (ctx: RouteContext) => (span ? span.run(() => route.handler(ctx)) : route.handler(ctx));
    let principal: Principal | undefined;
    try {
      if (stopping) throw new VecStoreError('unavailable', 'server: shutting down');
      // Until recovery has loaded the data, answers would be incomplete and writes could bypass the log.
      if (route.access !== 'open' && route.path !== '/metrics' && !options.isReady()) throw new VecStoreError('unavailable', 'server: starting up (recovering data); retry when /ready answers 200');
      if (auth.enabled && route.access !== 'open' && !(route.path === '/metrics' && !options.metricsAuth)) {
        principal = auth.authenticate(req.getHeader('authorization'), req.getHeader('api-key'));
        authorize(principal, route.access, requestCollection(route, params));
      }
    } catch (err) {
      fail(err);
      return;
    }
    const rawQuery = req.getQuery() ?? '';

    if (!METHODS_WITH_BODY.has(method)) {
      // No body to read: answer within this callback when the handler is synchronous (health, stats, gets).
      let result: RouteAnswer | Promise<RouteAnswer>;
      try {
        result = handle({ params, rawQuery, contentType: '', body: EMPTY_BODY, principal, headers, bodySpec: route.doc.body });
      } catch (err) {
        fail(err);
        return;
      }
      if (!(result instanceof Promise)) {
        respond(result);
        return;
      }
      goAsync();
      result.then(respond, fail).finally(finished);
      return;
    }

    // The media type without its parameters, in lower case (RFC 9110: types and subtypes are case-insensitive).
    const contentType = mediaType(req.getHeader('content-type'));
    const encoding = req.getHeader('content-encoding').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity') {
      fail(new VecStoreError('unsupported_media_type', `content-encoding: "${encoding.slice(0, 40)}" request bodies are not decoded; send the body uncompressed (Arrow record batches may be LZ4 or ZSTD compressed inside the stream)`), true);
      return;
    }
    goAsync();
    if (route.streamBody !== undefined) {
      // An upload: the handler consumes the body as it arrives (to disk), so it may be larger than --max-body.
      const upload = bodyStream(res, req, state, route.streamBody);
      Promise.resolve()
        .then(async () => respond(await handle({ params, rawQuery, contentType, body: EMPTY_BODY, principal, headers, bodySpec: route.doc.body, upload })))
        // The rest of a refused body may still be coming: answer and close the connection.
        .catch((err) => fail(err, true))
        .finally(finished);
      return;
    }
    readBody(res, req, state, limits.maxBodyBytes, bodyBudget)
      .then(
        async (body) => respond(await handle({ params, rawQuery, contentType, body, principal, headers, bodySpec: route.doc.body })),
        // A refused body is answered at once and the connection closed, since the rest of the body is still coming.
        (err) => fail(err, true),
      )
      .catch((err) => fail(err))
      .finally(() => {
        bodyBudget.give(state.bodyBytes ?? 0);
        finished();
      });
  });

  return new Promise((resolve, reject) => {
    // Exclusive: uWS otherwise binds with SO_REUSEPORT, and a second server on a taken port would start and split the
    // traffic with the first. The typings lack the (host, port, options, callback) form the binary has.
    const listen = app.listen as unknown as (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => void;
    listen.call(app, options.host, options.port, LISTEN_EXCLUSIVE_PORT, (listenSocket: us_listen_socket | false) => {
      if (!listenSocket) {
        reject(new VecStoreError('unavailable', `listen: could not bind ${options.host}:${options.port} (in use by another process, or not permitted)`));
        return;
      }
      const port = uWS.us_socket_local_port(listenSocket);
      live?.start();
      resolve({
        port,
        stop: async (graceMs = 10_000) => {
          stopping = true;
          live?.stop();
          uWS.us_listen_socket_close(listenSocket as us_listen_socket);
          if (inFlight > 0) {
            // Not unref'd: with the listen socket closed, an unref'd timer would let the process exit before shutdown
            // has fsynced and closed the log and released the lock.
            await new Promise<void>((done) => {
              const timer = setTimeout(done, graceMs);
              onIdle = () => {
                clearTimeout(timer);
                done();
              };
            });
          }
          stream.closeAll();
        },
      });
    });
  });
}

/** Why a request's body framing is ambiguous (two Content-Length headers, any Transfer-Encoding but `chunked`), if it is. */
function bodyFramingProblem(req: HttpRequest): string | undefined {
  let lengths = 0;
  let problem: string | undefined;
  req.forEach((name, value) => {
    if (name === 'content-length' && ++lengths > 1) problem = 'content-length: more than one Content-Length header';
    else if (name === 'transfer-encoding' && value.trim().toLowerCase() !== 'chunked') {
      problem = `transfer-encoding: ${JSON.stringify(value)} is not supported (only "chunked")`;
    }
  });
  return problem;
}

/** uWS's LIBUS_LISTEN_EXCLUSIVE_PORT listen option. */
const LISTEN_EXCLUSIVE_PORT = 1;

/** The collection a request names, for its span (a malformed name is the handler's error to report, not the span's). */
function spanCollection(route: Route, params: string[]): string | undefined {
  try {
    return requestCollection(route, params);
  } catch {
    return undefined;
  }
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** `type/subtype` of a Content-Type header, lower-cased, parameters (charset, …) dropped. */
function mediaType(header: string): string {
  const end = header.indexOf(';');
  return (end === -1 ? header : header.slice(0, end)).trim().toLowerCase();
}

/** The headers a route reads, taken while uWS still allows it (before any await). */
function readHeaders(req: HttpRequest, names: readonly string[] | undefined): Record<string, string> {
  if (names === undefined) return NO_HEADERS;
  const headers: Record<string, string> = {};
  for (const name of names) headers[name] = req.getHeader(name);
  return headers;
}

const KNOWN_METHODS = new Set<string>(['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'] satisfies HttpMethod[]);
