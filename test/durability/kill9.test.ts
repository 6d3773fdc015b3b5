// kill -9 at random moments: a real server child under a stream of acknowledged writes loses none and half-applies none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { seededRandom } from '../helpers/random.js';
import { tempDir } from '../helpers/durable-state.js';
import { startServerProcess } from '../helpers/server-process.js';

const DIM = 8;
const ROUNDS = 6;
const WRITERS = 4;

/** The state of one id as a client may observe it: absent, or present with metadata version `v`. */
type IdState = { present: false } | { present: true; v: number; batch?: string };

interface Tracked {
  /** What the last acknowledged operation left. */
  acked: IdState;
  /** A state an unacknowledged (in flight at the kill) operation may have left instead. */
  maybe?: IdState;
}

function vectorFor(id: string, v: number): number[] {
  const rand = seededRandom([...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, v + 1));
  return Array.from({ length: DIM }, () => Math.round((rand() * 2 - 1) * 1000) / 1000 + 0);
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; base: string; exited: Promise<void> }> {
  const server = await startServerProcess({
    dataDir,
    args: ['--dimension', String(DIM), '--metric', 'euclidean', '--workers', '1', '--fsync', 'always', '--checkpoint-wal-bytes', '20000'],
  });
  return { child: server.proc, base: server.url, exited: server.exited.then(() => undefined) };
}

async function observe(base: string, id: string): Promise<IdState> {
  const res = await fetch(`${base}/v1/vectors/${encodeURIComponent(id)}`);
  if (res.status === 404) {
    await res.arrayBuffer();
    return { present: false };
  }
  assert.equal(res.status, 200, `GET ${id}`);
  const body = (await res.json()) as { vector: number[]; metadata: { v: number; batch?: string } };
  assert.deepEqual(body.vector.map((x) => Math.round(x * 1000) / 1000 + 0), vectorFor(id, body.metadata.v), `vector of ${id} matches its metadata version`);
  return { present: true, v: body.metadata.v, ...(body.metadata.batch ? { batch: body.metadata.batch } : {}) };
}

function same(a: IdState, b: IdState): boolean {
  return a.present === b.present && (!a.present || (b.present && a.v === b.v));
}

test('SIGKILL at random moments never loses an acknowledged write nor half-applies a batch', { timeout: 120_000 }, async () => {
  const dataDir = tempDir('kill9');
  const model = new Map<string, Tracked>();
  const rand = seededRandom(Number(process.env.KILL9_SEED ?? Date.now() % 100000));
  let acknowledged = 0;
  let inDoubt = 0;
  /** Ids each writer created (it alone updates and deletes them). */
  const owned: string[][] = Array.from({ length: WRITERS }, () => []);

  for (let round = 0; round <= ROUNDS; round++) {
    const { child, base, exited } = await startServer(dataDir);
    try {
      // Every tracked id must be in its acknowledged state or in the state of the one write in doubt.
      const ids = [...model.keys()];
      const batches = new Map<string, Set<boolean>>();
      for (let i = 0; i < ids.length; i += 32) {
        await Promise.all(
          ids.slice(i, i + 32).map(async (id) => {
            const t = model.get(id)!;
            const seen = await observe(base, id);
            const ok = same(seen, t.acked) || (t.maybe !== undefined && same(seen, t.maybe));
            assert.ok(ok, `round ${round}: ${id} is ${JSON.stringify(seen)}, acknowledged ${JSON.stringify(t.acked)}, in doubt ${JSON.stringify(t.maybe)}`);
            const batch = t.maybe?.present ? t.maybe.batch : undefined;
            if (batch) {
              const set = batches.get(batch) ?? new Set<boolean>();
              set.add(seen.present);
              batches.set(batch, set);
            }
            model.set(id, { acked: seen });
          }),
        );
      }
      for (const [batch, outcomes] of batches) assert.equal(outcomes.size, 1, `round ${round}: batch ${batch} was half applied`);
      if (round === ROUNDS) break;

      // A stream of writes from concurrent writers, each owning its ids so that per-id order is the request order.
      let stop = false;
      const writers = Array.from({ length: WRITERS }, async (_, w) => {
        let n = 0;
        while (!stop) {
          const mine = owned[w];
          const roll = rand();
          let op: { send: () => Promise<Response>; effects: Array<[string, IdState]> };
          const candidate = mine.length > 0 ? mine[Math.floor(rand() * mine.length)] : undefined;
          if (roll < 0.15 && candidate !== undefined && model.get(candidate)!.acked.present) {
            const id = candidate;
            op = { send: () => fetch(`${base}/v1/delete/${encodeURIComponent(id)}`, { method: 'DELETE' }), effects: [[id, { present: false }]] };
          } else if (roll < 0.35 && candidate !== undefined) {
            const id = candidate;
            const prev = model.get(id)!.acked;
            const v = (prev.present ? prev.v : 0) + 1;
            op = {
              send: () => fetch(`${base}/v1/upsert`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, vector: vectorFor(id, v), metadata: { v } }) }),
              effects: [[id, { present: true, v }]],
            };
          } else if (roll < 0.55) {
            const batch = `r${round}w${w}b${n++}`;
            const records = Array.from({ length: 5 }, (_, j) => ({ id: `r${round}w${w}-${batch}-${j}`, vector: vectorFor(`r${round}w${w}-${batch}-${j}`, 1), metadata: { v: 1, batch } }));
            op = {
              send: () => fetch(`${base}/v1/batch-upsert`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ records }) }),
              effects: records.map((r) => [r.id, { present: true, v: 1, batch }]),
            };
          } else {
            const id = `r${round}w${w}-${n++}`;
            op = {
              send: () => fetch(`${base}/v1/upsert`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, vector: vectorFor(id, 1), metadata: { v: 1 } }) }),
              effects: [[id, { present: true, v: 1 }]],
            };
          }
          // In doubt until the answer arrives: either outcome is allowed after a kill.
          for (const [id, state] of op.effects) {
            const t = model.get(id);
            if (!t) owned[w].push(id);
            model.set(id, { acked: t?.acked ?? { present: false }, maybe: state });
          }
          let res: Response;
          try {
            res = await op.send();
            await res.arrayBuffer();
          } catch {
            inDoubt++;
            return; // the server is gone
          }
          assert.equal(res.status, 200, `write answered ${res.status}`);
          for (const [id, state] of op.effects) model.set(id, { acked: state });
          acknowledged++;
        }
      });
      await new Promise((r) => setTimeout(r, 300 + rand() * 1200));
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await exited;
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  }
  assert.ok(acknowledged > 100, `only ${acknowledged} writes were acknowledged`);
  const checkpoints = fs.readdirSync(path.join(dataDir, 'collections', 'default')).filter((n) => n.startsWith('checkpoint-'));
  console.log(`kill9: ${acknowledged} acknowledged writes, ${inDoubt} in doubt at kills, ${model.size} ids tracked, live checkpoint ${checkpoints.join(',') || 'none'}`);
});
