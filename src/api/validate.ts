// Checks a request body against its wire schema (the one OpenAPI publishes), for HTTP and WebSocket alike: unknown
// fields first (with hints), then the route's own parser for its precise messages and limit codes, then the schema
// itself for anything the parser let through, so a body that is accepted always matches the published schema.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema, TObject } from '@sinclair/typebox';
import { VecStoreError } from '../errors.js';
import { describe } from '../engine/record-validation.js';
import { REQUEST_SCHEMAS, checkFields, type RequestBody } from './request-fields.js';

const CHECKS = new Map<RequestBody, TypeCheck<TObject>>(
  Object.entries(REQUEST_SCHEMAS).map(([kind, schema]) => [kind as RequestBody, TypeCompiler.Compile(schema as TObject)]),
);

/**
 * Validates `body` as a `kind` request and returns what `parse` makes of it. `parse` throws the precise error for
 * what it knows (`vector[3]: must be finite`, `limit: 500 is over the limit`); what it does not check but the
 * schema does is refused with the schema's reason, naming the field.
 */
export function validated<T>(kind: RequestBody, body: Record<string, unknown>, parse: (body: Record<string, unknown>) => T, options: { rawVector?: boolean } = {}): T {
  checkFields(body, kind);
  const check = CHECKS.get(kind)!;
  const value = parse(body);
  // A raw float32 body carries the vector apart, and the fast JSON reader hands it over as float32: either way the
  // parser has read and checked it already; the rest is checked as JSON.
  const checked = options.rawVector || body.vector instanceof Float32Array ? { ...body, vector: RAW_VECTOR } : body;
  if (!check.Check(checked)) throw schemaError(check, checked);
  return value;
}

const RAW_VECTOR = [0];

function schemaError(check: TypeCheck<TObject>, body: unknown): VecStoreError {
  const first = check.Errors(body).First();
  if (!first) return new VecStoreError('validation', 'body: does not match the request schema');
  const field = fieldName(first.path);
  if (first.path === '') return new VecStoreError('validation', `body: ${reason(first.schema)}, got ${describe(first.value)}`);
  return new VecStoreError('validation', `${field}: ${reason(first.schema)}, got ${describe(first.value)}`, { field });
}

/** `/records/3/id` → `records[3].id` (the form every other error message uses). */
function fieldName(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

/** What a schema asks for, in the words of the other error messages. */
function reason(schema: TSchema): string {
  const s = schema as Record<string, unknown> & TSchema;
  if (Array.isArray(s.anyOf)) {
    const branches = (s.anyOf as TSchema[]).filter((b) => (b as { type?: unknown }).type !== 'null');
    const consts = branches.map((b) => (b as { const?: unknown }).const);
    const nullable = branches.length < (s.anyOf as TSchema[]).length;
    const base = consts.every((c) => c !== undefined) ? `must be one of ${consts.map((c) => JSON.stringify(c)).join(', ')}` : branches.map(reason).join(' or ');
    return nullable ? `${base} (or null)` : base;
  }
  if (s.const !== undefined) return `must be ${JSON.stringify(s.const)}`;
  if (Array.isArray(s.enum)) return `must be one of ${(s.enum as unknown[]).map((c) => JSON.stringify(c)).join(', ')}`;
  switch (s.type) {
    case 'integer':
    case 'number': {
      const kind = s.type === 'integer' ? 'an integer' : 'a number';
      const bounds: string[] = [];
      if (typeof s.minimum === 'number') bounds.push(`at least ${s.minimum}`);
      if (typeof s.exclusiveMinimum === 'number') bounds.push(`above ${s.exclusiveMinimum}`);
      if (typeof s.maximum === 'number') bounds.push(`at most ${s.maximum}`);
      return `must be ${kind}${bounds.length > 0 ? ` ${bounds.join(' and ')}` : ''}`;
    }
    case 'string':
      if (typeof s.pattern === 'string') return `must be a string matching ${s.pattern}`;
      return s.minLength === 1 ? 'must be a non-empty string' : 'must be a string';
    case 'boolean':
      return 'must be true or false';
    case 'array':
      return typeof s.minItems === 'number' && s.minItems > 0 ? `must be an array of at least ${s.minItems}` : 'must be an array';
    case 'object':
      return 'must be an object';
    default:
      return 'does not match the request schema';
  }
}
