// Arrow cells as the values VecStore stores, read by their column's type: vector elements as numbers, metadata as
// JSON data. apache-arrow's own getters hand back raw storage for several types (a float16 list's bits, a decimal's
// 32-bit words), which would otherwise be stored as if they were the values.
import { DataType, Precision, TimeUnit, type Data } from 'apache-arrow';
import { VecStoreError } from '../errors.js';
import { halfToNumber } from '../io/float16.js';

/** Element i of a list's child values as a number. */
export type ElementReader = (values: ArrayLike<number | bigint>, index: number) => number;

/**
 * How to read the elements of a vector column whose list values have type `child`: floats of any precision and
 * integers are numbers; anything else (booleans, decimals, strings) is not a vector, and the column is refused
 * as a whole, naming its type.
 */
export function vectorElementReader(column: string, child: DataType): ElementReader {
  if (DataType.isFloat(child)) {
    if (child.precision === Precision.HALF) return (values, i) => halfToNumber(values[i] as number);
    return (values, i) => values[i] as number;
  }
  if (DataType.isInt(child)) return (values, i) => Number(values[i]);
  throw new VecStoreError('invalid_arrow', `${column}: the list's values must be floats or integers, got ${String(child)}`);
}

/** Whether a list child's values can be handed on as they are: float32 with no nulls. */
export function isPlainFloat32(child: Data): boolean {
  return DataType.isFloat(child.type) && child.type.precision === Precision.SINGLE && child.nullCount === 0;
}

const MS_PER_UNIT: Record<TimeUnit, number> = {
  [TimeUnit.SECOND]: 1000,
  [TimeUnit.MILLISECOND]: 1,
  [TimeUnit.MICROSECOND]: 1e-3,
  [TimeUnit.NANOSECOND]: 1e-6,
};

/** An ISO 8601 instant from milliseconds since the epoch (a value outside Date's range stays a number). */
function isoInstant(ms: number): string | number {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? ms : date.toISOString();
}

/** A decimal's exact digits (little-endian 32-bit words, two's complement) with its scale applied, as the nearest number. */
function decimalNumber(words: Uint32Array, scale: number): number {
  let digits = 0n;
  for (let i = words.length - 1; i >= 0; i--) digits = (digits << 32n) | BigInt(words[i]);
  if (words.length > 0 && words[words.length - 1] & 0x80000000) digits -= 1n << BigInt(32 * words.length);
  const negative = digits < 0n;
  const text = (negative ? -digits : digits).toString().padStart(scale + 1, '0');
  const point = text.length - scale;
  return Number(`${negative ? '-' : ''}${text.slice(0, point)}.${text.slice(point) || '0'}`);
}

/** A time of day (`HH:MM:SS.sss`) from a count of `unit` since midnight. */
function timeOfDay(value: number | bigint, unit: TimeUnit): string {
  const ms = Number(value) * MS_PER_UNIT[unit];
  return new Date(ms).toISOString().slice(11, 23);
}

function bytesAsBase64(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
}

/**
 * A cell of an Arrow column of type `type` as JSON data: timestamps and dates as ISO 8601 strings (as a Parquet file's
 * read), decimals and 64-bit integers as numbers, binary as base64, structs and maps as objects, lists as arrays.
 */
export function jsonValue(type: DataType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (DataType.isDictionary(type)) return jsonValue(type.dictionary, value);
  if (DataType.isTimestamp(type) || DataType.isDate(type)) return isoInstant(Number(value));
  if (DataType.isTime(type)) return timeOfDay(value as number | bigint, type.unit);
  if (DataType.isDecimal(type)) return decimalNumber(value as Uint32Array, type.scale);
  if (typeof value === 'bigint') return Number(value);
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isBinaryView(type) || DataType.isFixedSizeBinary(type)) return bytesAsBase64(value as Uint8Array);
  if (DataType.isList(type) || DataType.isLargeList(type) || DataType.isFixedSizeList(type)) {
    const child = type.children[0].type;
    return Array.from(value as Iterable<unknown>, (item) => jsonValue(child, item));
  }
  if (DataType.isStruct(type)) {
    const row = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const field of type.children) out[field.name] = jsonValue(field.type, row[field.name]);
    return out;
  }
  if (DataType.isMap(type)) {
    const valueType = type.children[0].type.children[1].type;
    const out: Record<string, unknown> = {};
    for (const [key, item] of value as Iterable<[unknown, unknown]>) out[String(key)] = jsonValue(valueType, item);
    return out;
  }
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number | bigint>, Number);
  return value;
}
