import fs from 'node:fs'; const require_rss = (pid) => { try { return fs.readFileSync('/proc/' + pid + '/status', 'utf8').match(/VmRSS:\s+(\d+)/)[1] / 1024; } catch { return -1; } };
import { startServerProcess } from '/work/wt-bulk/dist/test/helpers/server-process.js';
import { encodeArrowBatch } from '/work/wt-bulk/dist/src/ingest/arrow-encode.js';
const DIM = 4;
const valid = encodeArrowBatch({ ids: ['a', 'b', 'c', 'd'], dimension: DIM, vectors: Float32Array.from({ length: 4 * DIM }, (_, i) => i / 3), metadata: [{ i: 1 }, undefined, { s: 'x' }, { n: [1, 2] }], texts: ['one', undefined, 'three', 'four'] });
const samples = JSON.parse(process.argv[2]);
const s = await startServerProcess({ args: ['--dimension', '4', '--metric', 'euclidean', '--fsync', 'interval:50'] });
let stderr = ''; s.proc.stderr.on('data', (d) => { stderr += d; });
for (const { flips, cut } of samples) {
  const b = Uint8Array.from(valid); for (const f of flips) b[f.at] = f.value;
  try { const r = await fetch(s.url + '/v1/batch-upsert', { method: 'POST', headers: { 'content-type': 'application/vnd.apache.arrow.stream' }, body: Buffer.from(b.subarray(0, cut)) }); const t = await r.text(); if (r.status !== 200) console.log(r.status, t.slice(0, 110), Math.round(Number(require_rss(s.proc.pid)))); } catch (e) { console.log('fetch failed', e.message); break; }
}
console.log('exit', s.proc.exitCode, s.proc.signalCode);
console.log(stderr.slice(-1500));
console.log(s.logs.slice(-3).join('\n').slice(0, 1000));
await s.stop();
