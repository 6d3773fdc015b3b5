// The shapes of the route table: what a route declares (method, template, access, its RouteDoc) and what its handler
// sees and answers. Transport-free: the server fills a RouteContext from uWS and writes the RouteAnswer.
import type { Access, Principal } from '../catalog/api-keys.js';
import type { Collection } from '../catalog/collection.js';
import type { RouteDoc } from './route-doc.js';

export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH' | 'HEAD' | 'OPTIONS';

/** What a handler sees: path parameters, the query string, the body (already read and size-checked), the caller. */
export interface RouteContext {
  params: string[];
  /** The raw query string (without `?`); parsed only by the routes that read it. */
  rawQuery: string;
  /** The body's media type, lower case, without parameters (`application/json`), '' when none was sent. */
  contentType: string;
  body: Buffer;
  /** The caller's key (undefined when no key is configured). */
  principal?: Principal;
  /** The route's JSON body as its RouteDoc declares it: the schema the body is validated against. */
  bodySpec?: RouteDoc['body'];
  /** The body as a stream, for routes with `streamBody` (their `body` is empty). */
  upload?: AsyncIterator<Buffer>;
  /** The request headers the route lists in `headers`, lower-case names ('' when absent). */
  headers: Record<string, string>;
}

/** A handler's answer: JSON (object or pre-serialised string) or raw text. */
export interface RouteAnswer {
  status?: number;
  json?: unknown;
  text?: { body: string | Buffer; contentType: string };
  /** A body too large to hold: streamed with backpressure, `size` bytes in all (Content-Length). */
  stream?: { contentType: string; size: number; chunks: AsyncIterable<Buffer> };
  /** Extra response headers. */
  headers?: Array<[string, string]>;
}

export interface Route {
  method: HttpMethod;
  /** The template, e.g. `/v1/collections/:name/query`; also the `endpoint` label of the request metrics. */
  path: string;
  /** What the caller's key needs; `open` routes need no key (`/metrics` too, unless metrics auth is on). */
  access: Access | 'open';
  /** The collection the request acts on, for key scopes: the first path parameter, or `default`. */
  collection?: 'param' | 'default';
  /** Request headers the handler reads (uWS allows reading them only before the first await, so they are read up front). */
  headers?: readonly string[];
  /** The body is read as a stream (ctx.upload) up to this many bytes, instead of whole up to --max-body. */
  streamBody?: number;
  /** What the route takes and answers: the OpenAPI document is produced from it, and its body is validated by it. */
  doc: RouteDoc;
  handler(ctx: RouteContext): Promise<RouteAnswer> | RouteAnswer;
}

/** A route acting on one collection; `suffix` follows the collection's prefix. */
export interface CollectionRoute {
  method: HttpMethod;
  suffix: string;
  access: Exclude<Access, 'admin'>;
  /** Under /v1/, creates the `default` collection if it does not exist yet (its first write). */
  createsDefault?: boolean;
  /** The body is streamed (ctx.upload) up to this many bytes instead of read whole. */
  streamBody?: number;
  doc: RouteDoc;
  handler(collection: Collection, ctx: RouteContext): Promise<RouteAnswer> | RouteAnswer;
}
