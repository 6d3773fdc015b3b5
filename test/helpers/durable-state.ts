// Shared helpers for durability tests: temporary data directories, a quiet logger, and a comparable dump of a store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { VecStoreEngine } from '../../src/engine/engine.js';

/** A fresh directory under the OS temp dir. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vecstore-${prefix}-`));
}

/** A logger that keeps every line for assertions. */
export function memoryLogger(): { lines: Array<{ level: string; obj: object; msg?: string }>; info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void } {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}

/** Every record of an engine (soft-deleted included) with its vector, sorted by id, for deepEqual. */
export function dumpState(engine: VecStoreEngine): Array<{ id: string; metadata: unknown; text: unknown; deleted: boolean; vector: number[] }> {
  const out = [];
  for (const r of engine.store.recordsInSlotOrder()) {
    out.push({ id: r.id, metadata: r.metadata ?? null, text: r.text ?? null, deleted: r.deleted, vector: Array.from(engine.store.vectorAt(r.slot)) });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * What a crashed process leaves on disk: a copy of the data directory as the kernel sees it now (the page cache
 * survives a process kill). The copy's LOCK names a live pid that holds no lock, which recovery treats as stale.
 */
export function crashCopy(dir: string): string {
  const copy = tempDir('crash');
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}
