// What every route of the table says about itself: its request body (the schema it is validated with, or a binary
// form), its answers per status and the error codes it may give. The OpenAPI document is produced from these.
import type { TSchema } from '@sinclair/typebox';
import type { ErrorCode } from '../errors.js';
import type { RequestBody } from './request-fields.js';

/** A body that is not JSON: a raw float32 vector, an Arrow IPC stream, a snapshot file. */
export interface BinaryBody {
  contentType: string;
  description: string;
}

/** An answer that is not JSON (Prometheus text, a snapshot file). */
export interface RawAnswer {
  contentType: string;
  description: string;
}

/** A query-string parameter. */
export interface QueryParam {
  name: string;
  description: string;
  schema: TSchema;
}

export type RouteTag = 'server' | 'collections' | 'records' | 'queries' | 'snapshots';

export interface RouteDoc {
  summary: string;
  tag: RouteTag;
  /**
   * The JSON body, named by its schema in REQUEST_SCHEMAS: the same name the handler validates it with
   * (`required: false` when an empty body means `{}`).
   */
  body?: { kind: RequestBody; required?: boolean };
  /** Other content types the route takes instead of JSON (or, without `body`, its only body). */
  binary?: BinaryBody[];
  /** Query-string parameters (raw bodies carry their other fields there). */
  query?: QueryParam[];
  /** Path parameters besides the collection's name, by template name. */
  params?: Record<string, string>;
  /** Answers by status. */
  answers: Record<number, TSchema | RawAnswer>;
  /** The codes this route gives besides the ones every route may (auth, body reading, unavailable, internal). */
  errors: ErrorCode[];
}

/** Whether an answer description is a raw (non-JSON) one. */
export function isRawAnswer(answer: TSchema | RawAnswer): answer is RawAnswer {
  return typeof (answer as RawAnswer).contentType === 'string' && (answer as { type?: unknown }).type === undefined;
}
