// The snapshot routes of one collection: create, list, restore, delete, and the transfer of a snapshot as one file
// (download streams it, upload streams it to disk and keeps it only once verified).
import { VecStoreError } from '../errors.js';
import type { Limits } from '../engine/limits.js';
import type { CollectionRoute } from './route-types.js';
import { decodeParam, input } from './route-input.js';
import * as S from './schemas.js';

const SNAPSHOT_PARAM = { snapshot: 'The snapshot\'s name.' };
/** The content type of a snapshot file. */
const SNAPSHOT_FILE_TYPE = 'application/octet-stream';
/** How much of a refused upload is read and discarded before answering (beyond it the connection is closed). */
const UPLOAD_DRAIN_BYTES = 64 * 1024 * 1024;

async function drain(chunks: AsyncIterator<Buffer>, maxBytes: number): Promise<void> {
  let bytes = 0;
  try {
    while (bytes <= maxBytes) {
      const step = await chunks.next();
      if (step.done) return;
      bytes += step.value.length;
    }
  } catch {
    // The body itself failed (too large, client gone): nothing more to read.
  }
}

/** The snapshot routes (suffixes under a collection's prefix). */
export function snapshotRoutes(limits: Limits): CollectionRoute[] {
  return [
    {
      method: 'POST', suffix: '/snapshots', access: 'write', createsDefault: true,
      doc: { summary: 'Take a named snapshot of the collection at this instant.', tag: 'snapshots', body: { kind: 'createSnapshot' }, answers: { 200: S.CreateSnapshotAnswer }, errors: ['conflict', 'storage'] },
      handler: async (c, ctx) => {
        const name = input(ctx, (body) => {
          if (typeof body.name !== 'string') throw new VecStoreError('validation', 'name: must be a string');
          return body.name;
        });
        const created = await c.createSnapshot(name);
        return { json: { success: true, name: created.name, path: created.path } };
      },
    },
    {
      method: 'GET', suffix: '/snapshots', access: 'read',
      doc: { summary: 'Every complete snapshot, oldest first.', tag: 'snapshots', answers: { 200: S.SnapshotListAnswer }, errors: [] },
      handler: async (c) => ({ json: { snapshots: await c.listSnapshots() } }),
    },
    {
      method: 'POST', suffix: '/snapshots/:snapshot/restore', access: 'write', createsDefault: true,
      doc: { summary: 'Replace the collection\'s state with a snapshot.', tag: 'snapshots', params: SNAPSHOT_PARAM, answers: { 200: S.RestoreSnapshotAnswer }, errors: ['not_found', 'conflict', 'dimension_mismatch', 'storage'] },
      handler: async (c, ctx) => {
        const restored = await c.restoreSnapshot(decodeParam(ctx.params[0], 'name'));
        return { json: { success: true, vectors_restored: restored.vectors_restored } };
      },
    },
    {
      method: 'DELETE', suffix: '/snapshots/:snapshot', access: 'write',
      doc: { summary: 'Delete a snapshot\'s files.', tag: 'snapshots', params: SNAPSHOT_PARAM, answers: { 200: S.DeleteSnapshotAnswer }, errors: ['not_found', 'storage'] },
      handler: async (c, ctx) => {
        const name = decodeParam(ctx.params[0], 'name');
        await c.deleteSnapshot(name);
        return { json: { deleted: true, name } };
      },
    },
    {
      method: 'GET', suffix: '/snapshots/:snapshot/download', access: 'read',
      doc: {
        summary: 'Download a snapshot as one file (a framed archive with a SHA-256 checksum), to upload elsewhere.', tag: 'snapshots', params: SNAPSHOT_PARAM,
        answers: { 200: { contentType: SNAPSHOT_FILE_TYPE, description: 'The snapshot file (`VECSNAP1` archive); Content-Length is exact.' } }, errors: ['not_found'],
      },
      handler: async (c, ctx) => {
        const name = decodeParam(ctx.params[0], 'name');
        const archive = await c.snapshotArchive(name);
        return {
          stream: { contentType: SNAPSHOT_FILE_TYPE, size: archive.size, chunks: archive.chunks },
          headers: [['Content-Disposition', `attachment; filename="${name}.vecsnap"`]],
        };
      },
    },
    {
      method: 'PUT', suffix: '/snapshots/:snapshot/upload', access: 'write', createsDefault: true, streamBody: limits.maxSnapshotUploadBytes,
      doc: {
        summary: `Upload a snapshot file (as downloaded) as snapshot :snapshot; checked whole before it is kept, then restore it. Streamed to disk, up to --max-snapshot-upload bytes.`,
        tag: 'snapshots', params: SNAPSHOT_PARAM,
        binary: [{ contentType: SNAPSHOT_FILE_TYPE, description: 'A snapshot file from GET .../snapshots/:snapshot/download (any content type is read as one).' }],
        answers: { 200: S.UploadSnapshotAnswer }, errors: ['invalid_snapshot', 'conflict', 'storage'],
      },
      handler: async (c, ctx) => {
        const name = decodeParam(ctx.params[0], 'name');
        try {
          const got = await c.receiveSnapshot(name, ctx.upload!, limits.maxSnapshotUploadBytes);
          return { json: { success: true, name, size_bytes: got.bytes, vectors: got.vectors, dimension: got.dimension } };
        } catch (err) {
          // Read what is left (up to a bound) so the client, still sending, gets the refusal instead of a reset.
          await drain(ctx.upload!, UPLOAD_DRAIN_BYTES);
          throw err;
        }
      },
    },
  ];
}
