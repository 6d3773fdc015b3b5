// Reading a route's input: its JSON body, validated against the schema its RouteDoc names, and its path parameters.
import { VecStoreError } from '../errors.js';
import { parseJsonObject } from '../engine/json-body.js';
import type { RouteContext } from './route-types.js';
import { validated } from './validate.js';

/**
 * The route's JSON body (as its RouteDoc names it, `{}` for an optional empty one), validated against its schema
 * and turned into typed input by `parse`.
 */
export function input<T>(ctx: RouteContext, parse: (body: Record<string, unknown>) => T): T {
  const spec = ctx.bodySpec;
  if (!spec) throw new Error('route reads a JSON body but its RouteDoc declares none');
  const body = ctx.body.length === 0 && spec.required === false ? {} : parseJsonObject(ctx.body);
  return validated(spec.kind, body, parse);
}

/** A percent-decoded path parameter; `validation` naming the field when the encoding is malformed. */
export function decodeParam(raw: string, field: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new VecStoreError('validation', `${field}: malformed percent-encoding in the path`);
  }
}
