// POSTs an Arrow IPC body, batch-upsert's binary form, as the tests of that route send it (kept apart from
// server-process.ts so that tests without Arrow do not load apache-arrow).
import { ARROW_STREAM_TYPE } from '../../src/ingest/arrow-records.js';

/** POSTs `bytes` as an Arrow IPC stream and returns status and parsed body. */
export async function postArrow(url: string, bytes: Uint8Array): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': ARROW_STREAM_TYPE }, body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as BodyInit });
  return { status: res.status, body: await res.json() };
}
