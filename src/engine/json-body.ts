// Request bodies as JSON: malformed or empty JSON is invalid_json naming where it broke; the server and parse workers share it.
import { VecStoreError } from '../errors.js';

/** Parses a JSON body; malformed JSON is invalid_json naming where it broke. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw new VecStoreError('invalid_json', 'body: empty; expected a JSON object');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new VecStoreError('invalid_json', `body: malformed JSON (${(err as Error).message})`);
  }
}

/** A JSON body that must be an object. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const value = parseJsonBody(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VecStoreError('validation', 'body: must be a JSON object');
  }
  return value as Record<string, unknown>;
}
