// API keys' roles and collection scopes: the `--api-keys-file` format and what each role may do where.
import fs from 'node:fs';
import { isPlainObject } from '../engine/record-validation.js';

/** `read`: queries, gets, stats, lists; `write`: also every data write; `admin`: also creates and drops collections. */
export type Role = 'admin' | 'write' | 'read';
/** What a route needs. */
export type Access = Role;

/** What a valid key may do. */
export interface Principal {
  role: Role;
  collections: readonly string[];
}

/** One key of the keys file: `collections` is `["*"]` (every collection) or a list of names. */
export interface ApiKeyEntry {
  key: string;
  role: Role;
  collections: string[];
}

const RANK: Record<Role, number> = { read: 0, write: 1, admin: 2 };

/** Whether `role` includes `access`. */
export function roleAllows(role: Role, access: Access): boolean {
  return RANK[role] >= RANK[access];
}

/** Whether a key scoped to `collections` may touch `collection`. */
export function inScope(collections: readonly string[], collection: string): boolean {
  return collections.includes('*') || collections.includes(collection);
}

/** Parses a keys file: a JSON list of `{"key", "role", "collections"}`. Throws an Error saying what is wrong and where. */
export function parseApiKeys(text: string): ApiKeyEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error('must be a JSON list of {"key", "role", "collections"}');
  const seen = new Set<string>();
  return parsed.map((entry: unknown, i): ApiKeyEntry => {
    if (!isPlainObject(entry)) throw new Error(`[${i}]: must be an object {"key", "role", "collections"}`);
    const { key, role, collections } = entry;
    if (typeof key !== 'string' || key.length === 0) throw new Error(`[${i}].key: must be a non-empty string`);
    if (seen.has(key)) throw new Error(`[${i}].key: the same key is listed twice`);
    seen.add(key);
    if (role !== 'admin' && role !== 'write' && role !== 'read') throw new Error(`[${i}].role: must be "admin", "write" or "read"`);
    if (!Array.isArray(collections) || collections.length === 0 || !collections.every((c) => typeof c === 'string' && c.length > 0)) {
      throw new Error(`[${i}].collections: must be ["*"] or a non-empty list of collection names`);
    }
    return { key, role, collections: collections as string[] };
  });
}

/** Reads and parses a keys file; throws an Error naming the file. */
export function readApiKeysFile(file: string): ApiKeyEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as Error).message})`);
  }
  try {
    return parseApiKeys(text);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}
