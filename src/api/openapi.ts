// Produces the OpenAPI 3.1 document (GET /openapi.json) from the route table itself: each route's RouteDoc, its
// request schema (the one it is validated with), its answers, and its error codes grouped by status.
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';
import { REQUEST_SCHEMAS, TestFaultRequest } from './request-fields.js';
import { isRawAnswer, type RouteDoc } from './route-doc.js';
import * as S from './schemas.js';
import { ErrorBody, WsCompleteMessage, WsHitMessage, WsQueryMessage } from './schemas.js';

/** Every named wire schema, by identity: emitted once under components.schemas and referenced from everywhere else. */
const NAMED = new Map<object, string>(
  [...Object.entries(S), ['TestFaultRequest', TestFaultRequest] as const]
    .filter(([, v]) => typeof v === 'object' && v !== null)
    .map(([name, schema]) => [schema as object, name === 'ErrorCodeSchema' ? 'ErrorCode' : name]),
);

/** A copy of `schema` (symbols dropped, as in JSON) with every named schema inside it replaced by its $ref. */
function withRefs(schema: unknown, self?: string): unknown {
  if (typeof schema !== 'object' || schema === null) return schema;
  const name = NAMED.get(schema);
  if (name !== undefined && name !== self) return { $ref: `#/components/schemas/${name}` };
  if (Array.isArray(schema)) return schema.map((s) => withRefs(s));
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, withRefs(v)]));
}

/** What the document needs of a route (a subset of the server's Route). */
export interface DescribedRoute {
  method: string;
  path: string;
  access: 'read' | 'write' | 'admin' | 'open';
  /** Whether `:name` (first parameter) names a collection. */
  collection?: 'param' | 'default';
  doc: RouteDoc;
}

/** Errors any route may answer with, besides its own. */
const EVERY_ROUTE: ErrorCode[] = ['internal', 'unavailable', 'method_not_allowed'];
const WITH_KEY: ErrorCode[] = ['unauthorized', 'forbidden'];
const WITH_BODY: ErrorCode[] = ['payload_too_large', 'validation', 'unsupported_media_type', 'too_many_in_flight'];
const WITH_JSON_BODY: ErrorCode[] = ['invalid_json', 'unknown_field'];

/** The path of the WebSocket endpoint (answered by uWS's WebSocket handler, not the HTTP router). */
export const WS_PATH = '/ws/query-stream';

/** Builds the document. `version` is the package version. */
export function buildOpenApi(routes: readonly DescribedRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const { template, parameters } = pathOf(route);
    paths[template] ??= {};
    paths[template][route.method.toLowerCase()] = operation(route, parameters);
  }
  paths[WS_PATH] = { get: websocketOperation() };
  return {
    openapi: '3.1.0',
    info: {
      title: 'VecStore',
      version,
      description:
        'Vector database server. Every data route exists for the `default` collection under `/v1/...` and for any collection under `/v1/collections/{name}/...`. Errors are `{"error": "<field>: <reason>", "code": "<stable code>"}`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      schemas: Object.fromEntries([...NAMED].map(([schema, name]) => [name, withRefs(schema, name)])),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key as `Authorization: Bearer <key>`.' },
        apiKey: { type: 'apiKey', in: 'header', name: 'api-key' },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
  };
}

/** `/v1/collections/:name/vectors/:id` → `/v1/collections/{name}/vectors/{id}` and its parameters. */
function pathOf(route: DescribedRoute): { template: string; parameters: unknown[] } {
  const parameters: unknown[] = [];
  const template = route.path
    .split('/')
    .map((segment, i, all) => {
      if (!segment.startsWith(':')) return segment;
      const name = segment.slice(1);
      const first = all.slice(0, i).every((s) => !s.startsWith(':'));
      const description = route.collection === 'param' && first ? 'The collection\'s name (`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`).' : (route.doc.params?.[name] ?? name);
      parameters.push({ name, in: 'path', required: true, description, schema: { type: 'string' } });
      return `{${name}}`;
    })
    .join('/');
  return { template, parameters };
}

function operation(route: DescribedRoute, pathParameters: unknown[]): Record<string, unknown> {
  const { doc } = route;
  const op: Record<string, unknown> = {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[/:-](\w)/g, (_, c: string) => c.toUpperCase()).replace(/\W/g, '')}`,
    summary: doc.summary,
    tags: [doc.tag],
    'x-access': route.access,
  };
  if (route.access === 'open') op.security = [];
  const parameters = [...pathParameters, ...(doc.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: withRefs(q.schema) }))];
  if (parameters.length > 0) op.parameters = parameters;
  if (doc.body || doc.binary) {
    const content: Record<string, unknown> = {};
    if (doc.body) content['application/json'] = { schema: withRefs(REQUEST_SCHEMAS[doc.body.kind]) };
    for (const b of doc.binary ?? []) content[b.contentType] = { schema: { type: 'string', contentMediaType: b.contentType, description: b.description } };
    op.requestBody = { required: doc.body ? doc.body.required !== false : true, content };
  }
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(doc.answers)) {
    responses[status] = isRawAnswer(answer)
      ? { description: answer.description, content: { [answer.contentType]: { schema: { type: 'string', contentMediaType: answer.contentType } } } }
      : { description: answer.description ?? 'OK', content: { 'application/json': { schema: withRefs(answer) } } };
  }
  const codes = new Set<ErrorCode>([...doc.errors, ...EVERY_ROUTE]);
  if (route.access !== 'open') for (const c of WITH_KEY) codes.add(c);
  if (doc.body || doc.binary) for (const c of WITH_BODY) codes.add(c);
  if (doc.body) for (const c of WITH_JSON_BODY) codes.add(c);
  if (route.collection === 'param') codes.add('collection_not_found').add('invalid_collection_name');
  // `default` exists once written to (or with --dimension); before that its snapshots cannot be read.
  if (route.collection === 'default') codes.add('collection_not_found');
  for (const [status, list] of groupByStatus(codes)) {
    // A 404/503 the route answers itself (e.g. /ready's not_ready) keeps its own schema; the error shape is an alternative.
    const errorSchema = { allOf: [withRefs(ErrorBody), { properties: { code: { enum: list } } }] };
    const existing = responses[status] as { content?: { 'application/json'?: { schema: unknown } } } | undefined;
    const own = existing?.content?.['application/json']?.schema;
    responses[status] = {
      description: `Error: ${list.map((c) => `\`${c}\``).join(', ')}`,
      content: { 'application/json': { schema: own ? { anyOf: [own, errorSchema] } : errorSchema } },
    };
  }
  op.responses = responses;
  return op;
}

function groupByStatus(codes: Set<ErrorCode>): Map<number, ErrorCode[]> {
  const out = new Map<number, ErrorCode[]>();
  for (const code of [...codes].sort()) {
    const status = ERROR_CATALOGUE[code];
    if (!out.has(status)) out.set(status, []);
    out.get(status)!.push(code);
  }
  return new Map([...out].sort(([a], [b]) => a - b));
}

/** The WebSocket endpoint, described as far as OpenAPI allows: the upgrade, and its messages under `x-websocket`. */
function websocketOperation(): Record<string, unknown> {
  return {
    operationId: 'queryStream',
    summary: 'Streaming queries over one WebSocket (many in flight); JSON messages, or binary frames u32 request_id, u32 limit, float32 × dim.',
    tags: ['queries'],
    'x-access': 'read',
    parameters: [
      { name: 'Upgrade', in: 'header', required: true, schema: { const: 'websocket' } },
      { name: 'Sec-WebSocket-Protocol', in: 'header', required: false, description: 'Browsers may offer `api-key.<key>` (and `vecstore`).', schema: { type: 'string' } },
    ],
    responses: {
      '101': { description: 'Switched to WebSocket. Send WsQueryMessage; receive one hit message per result, then a complete message (or an error message).' },
      '401': { description: 'No valid key.', content: { 'application/json': { schema: withRefs(ErrorBody) } } },
      '429': { description: 'Too many connections.', content: { 'application/json': { schema: withRefs(ErrorBody) } } },
    },
    'x-websocket': {
      client: { query: withRefs(WsQueryMessage) },
      server: { hit: withRefs(WsHitMessage), complete: withRefs(WsCompleteMessage), error: withRefs(ErrorBody) },
    },
  };
}
