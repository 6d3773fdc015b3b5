// How a vector travels: a Float32Array as raw little-endian float32 bytes where a route takes them, else a JSON array.
import type { QueryParams } from './http-transport.js';

/** A vector as the client takes it: a plain array, or a Float32Array (sent as raw bytes where the route accepts them). */
export type VectorInput = number[] | Float32Array;

/** A wire request whose `vector` may also be a Float32Array. */
export type WithVectorInput<T extends { vector: number[] }> = Omit<T, 'vector'> & { vector: VectorInput };

/**
 * The longest query string sent with a raw float32 body. uWebSockets.js refuses requests whose headers pass 4 KiB,
 * and a binary request carries its other fields (filter, metadata, text) in the URL: past this it goes as JSON.
 */
export const MAX_BINARY_QUERY_STRING = 2048;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The vector's bytes as the server reads them (little-endian float32), without a copy on little-endian hosts. */
export function float32Bytes(vector: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
  const out = new Uint8Array(vector.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i], true);
  return out;
}

/** The vector as a JSON array (float32 values are exact as JSON numbers). */
export function vectorArray(vector: VectorInput): number[] {
  return Array.isArray(vector) ? vector : Array.from(vector);
}

/**
 * The other fields of a request as query-string parameters for a raw float32 body, or undefined when they do not fit
 * (an object field other than the listed JSON ones, or a query string over MAX_BINARY_QUERY_STRING).
 */
export function binaryParams(fields: Record<string, unknown>, jsonFields: readonly string[] = []): QueryParams | undefined {
  const params: QueryParams = {};
  let length = 0;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    let text: string;
    if (jsonFields.includes(key)) text = JSON.stringify(value);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') text = String(value);
    else return undefined;
    params[key] = text;
    length += key.length + 2 + encodeURIComponent(text).length;
    if (length > MAX_BINARY_QUERY_STRING) return undefined;
  }
  return params;
}
