// JSON merge patch (RFC 7396): how PATCH .../vectors/:id changes a record's metadata without resending it.

/**
 * Applies `patch` to `target` as RFC 7396 says: an object patch merges key by key (null removes a key, objects merge
 * recursively, anything else replaces); any other patch replaces the target. Neither input is modified. Keys such as
 * `__proto__` stay ordinary data (defined, never assigned).
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isObject(target)) for (const [key, value] of Object.entries(target)) define(result, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else define(result, key, mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
