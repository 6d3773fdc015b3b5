// A snapshot as one file, for download and upload: a framed archive of the snapshot directory's files with a
// SHA-256 over everything, written as a stream and read back as a stream into a directory, verified before it counts.
//
//   "VECSNAP1"  u32-LE header length  header JSON {"format":1,"files":[{"name","size"}...]}  file bytes...  SHA-256 (32 B)
//
// The digest covers every byte before it, so a damaged, truncated or extended file is refused; the header names only
// the files a snapshot holds, so a foreign archive cannot write anywhere else.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CHECKPOINT_FILES } from './checkpoint.js';
import { GRAPH_FILE } from './graph-file.js';

const MAGIC = Buffer.from('VECSNAP1', 'latin1');
const DIGEST_BYTES = 32;
const MAX_HEADER_BYTES = 64 * 1024;
const CHUNK_BYTES = 1 << 20;
/** The files an archive may carry: a snapshot directory's. */
const ALLOWED_FILES = new Set<string>([...Object.values(CHECKPOINT_FILES), GRAPH_FILE]);
const REQUIRED_FILES = Object.values(CHECKPOINT_FILES);

/** Why an uploaded archive was refused (the caller maps it to a 400). */
export class ArchiveError extends Error {}

interface ArchiveHeader {
  format: 1;
  files: Array<{ name: string; size: number }>;
}

/** An archive of a snapshot directory, ready to stream: its exact size and its bytes in chunks. */
export interface SnapshotArchive {
  size: number;
  chunks: AsyncIterable<Buffer>;
}

/**
 * Opens the snapshot's files at once (a delete or restore that follows cannot take them away mid-download: open
 * descriptors keep their inodes) and returns the archive's size and a stream of its bytes.
 */
export async function openArchive(dir: string): Promise<SnapshotArchive> {
  const names = [...REQUIRED_FILES, ...(fs.existsSync(path.join(dir, GRAPH_FILE)) ? [GRAPH_FILE] : [])];
  const handles: fs.promises.FileHandle[] = [];
  try {
    for (const name of names) handles.push(await fs.promises.open(path.join(dir, name), 'r'));
    const files = await Promise.all(handles.map(async (h, i) => ({ name: names[i], size: (await h.stat()).size })));
    const headerJson = Buffer.from(JSON.stringify({ format: 1, files } satisfies ArchiveHeader), 'utf8');
    const prefix = Buffer.alloc(MAGIC.length + 4);
    MAGIC.copy(prefix);
    prefix.writeUInt32LE(headerJson.length, MAGIC.length);
    const size = prefix.length + headerJson.length + files.reduce((n, f) => n + f.size, 0) + DIGEST_BYTES;
    return { size, chunks: archiveChunks(Buffer.concat([prefix, headerJson]), handles, files) };
  } catch (err) {
    await Promise.all(handles.map((h) => h.close()));
    throw err;
  }
}

async function* archiveChunks(head: Buffer, handles: fs.promises.FileHandle[], files: ArchiveHeader['files']): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  try {
    hash.update(head);
    yield head;
    for (let i = 0; i < handles.length; i++) {
      let position = 0;
      while (position < files[i].size) {
        const want = Math.min(CHUNK_BYTES, files[i].size - position);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await handles[i].read(buf, 0, want, position);
        if (bytesRead === 0) throw new Error(`${files[i].name}: shorter than when the download started`);
        position += bytesRead;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        yield chunk;
      }
    }
    yield hash.digest();
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}

/**
 * Reads an archive from `chunks` into the new directory `dir` (created here), checking the frame, the file names and
 * sizes, and the digest. Throws ArchiveError for a bad archive; `dir` is then left for the caller to remove. Consumes
 * with `next()` only (never `return()`), so a caller can drain what is left after a refusal.
 */
export async function receiveArchive(chunks: AsyncIterator<Buffer>, dir: string, maxBytes: number): Promise<{ bytes: number; files: string[] }> {
  const hash = createHash('sha256');
  let pending: Buffer = Buffer.alloc(0);
  let received = 0;
  let done = false;
  /** Reads until at least `n` bytes are pending (false at the end of the body). */
  const fill = async (n: number): Promise<boolean> => {
    while (pending.length < n && !done) {
      const step = await chunks.next();
      if (step.done) {
        done = true;
        break;
      }
      received += step.value.length;
      if (received > maxBytes) throw new ArchiveError(`body: more than the upload limit of ${maxBytes} bytes`);
      pending = pending.length === 0 ? step.value : Buffer.concat([pending, step.value]);
    }
    return pending.length >= n;
  };
  const take = (n: number): Buffer => {
    const out = pending.subarray(0, n);
    pending = pending.subarray(n);
    return out;
  };

  if (!(await fill(MAGIC.length + 4))) throw new ArchiveError('body: too short to be a VecStore snapshot file');
  const prefix = take(MAGIC.length + 4);
  if (!prefix.subarray(0, MAGIC.length).equals(MAGIC)) throw new ArchiveError('body: not a VecStore snapshot file (it does not start with VECSNAP1)');
  const headerLength = prefix.readUInt32LE(MAGIC.length);
  if (headerLength > MAX_HEADER_BYTES) throw new ArchiveError(`body: header of ${headerLength} bytes is over ${MAX_HEADER_BYTES}; not a VecStore snapshot file`);
  hash.update(prefix);
  if (!(await fill(headerLength))) throw new ArchiveError('body: truncated in the header');
  const headerBytes = take(headerLength);
  hash.update(headerBytes);
  const header = parseHeader(headerBytes);

  fs.mkdirSync(dir);
  for (const file of header.files) {
    const handle = await fs.promises.open(path.join(dir, file.name), 'wx', 0o644);
    try {
      let left = file.size;
      while (left > 0) {
        if (pending.length === 0 && !(await fill(1))) throw new ArchiveError(`body: truncated in ${file.name} (${left} of ${file.size} bytes missing)`);
        const part = take(Math.min(left, pending.length));
        hash.update(part);
        await handle.write(part);
        left -= part.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  if (!(await fill(DIGEST_BYTES))) throw new ArchiveError('body: truncated before its checksum');
  const digest = take(DIGEST_BYTES);
  if (pending.length > 0 || (await fill(1))) throw new ArchiveError('body: bytes after the checksum; not one whole snapshot file');
  if (!hash.digest().equals(digest)) throw new ArchiveError('body: checksum mismatch (the file is damaged)');
  return { bytes: received, files: header.files.map((f) => f.name) };
}

function parseHeader(bytes: Buffer): ArchiveHeader {
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ArchiveError('body: unreadable header; not a VecStore snapshot file');
  }
  const h = header as Partial<ArchiveHeader>;
  if (h.format !== 1) throw new ArchiveError(`body: snapshot file format ${JSON.stringify(h.format)} is not supported (this server reads format 1)`);
  if (!Array.isArray(h.files)) throw new ArchiveError('body: header without a file list');
  const seen = new Set<string>();
  for (const f of h.files) {
    if (typeof f?.name !== 'string' || !ALLOWED_FILES.has(f.name) || seen.has(f.name)) throw new ArchiveError(`body: unexpected file ${JSON.stringify(f?.name)} in the snapshot file`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new ArchiveError(`body: bad size for ${f.name}`);
    seen.add(f.name);
  }
  for (const name of REQUIRED_FILES) if (!seen.has(name)) throw new ArchiveError(`body: the snapshot file lacks ${name}`);
  return h as ArchiveHeader;
}
