// kill -9 during a storm of collection creates, writes and drops: after restart every acknowledged create exists with
// its acknowledged writes, every acknowledged drop is gone, and nothing is half there (the server starts and every
// listed collection answers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../helpers/random.js';
import { requestJson, startServerProcess, tempDataDir } from '../helpers/server-process.js';

const ROUNDS = 4;

test('SIGKILL while collections are created, written and dropped leaves each one whole or absent', { timeout: 120_000 }, async () => {
  const dataDir = tempDataDir('vecstore-coll-kill9-');
  const rand = seededRandom(Number(process.env.KILL9_SEED ?? Date.now() % 100000));
  /** Acknowledged state per collection name: absent, or present with these acknowledged record ids. */
  const acked = new Map<string, Set<string> | null>();
  /** Names with an operation in flight at the kill: either outcome is allowed, but never a half collection. */
  let serial = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const server = await startServerProcess({ dataDir, args: ['--workers', '1', '--fsync', 'always'] });
    const inDoubt = new Set<string>();
    // Everything acknowledged so far is there, everything dropped is not.
    const listed = new Set<string>((await requestJson(`${server.url}/v1/collections`)).body.collections.map((c: { name: string }) => c.name));
    for (const [name, records] of acked) {
      assert.equal(listed.has(name), records !== null, `round ${round}: ${name} should ${records ? '' : 'not '}exist`);
      if (records) {
        for (const id of records) assert.equal((await requestJson(`${server.url}/v1/collections/${name}/vectors/${id}`)).status, 200, `${name}/${id}`);
      }
    }
    for (const name of listed) assert.equal((await requestJson(`${server.url}/v1/collections/${name}/stats`)).status, 200, `${name} answers`);

    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const existing = [...acked].filter(([, r]) => r !== null).map(([n]) => n).filter((n) => !inDoubt.has(n));
        const roll = rand();
        if (roll < 0.4 || existing.length === 0) {
          const name = `c${serial++}`;
          inDoubt.add(name);
          const res = await requestJson(`${server.url}/v1/collections/${name}`, { method: 'PUT', body: '{"dimension":2}' }).catch(() => undefined);
          if (res?.status === 201) {
            acked.set(name, new Set());
            inDoubt.delete(name);
          } else if (res) assert.fail(`create ${name}: ${res.status} ${JSON.stringify(res.body)}`);
        } else if (roll < 0.85) {
          const name = existing[Math.floor(rand() * existing.length)];
          const id = `r${serial++}`;
          const res = await requestJson(`${server.url}/v1/collections/${name}/upsert`, { method: 'POST', body: JSON.stringify({ id, vector: [rand(), rand()] }) }).catch(() => undefined);
          if (res?.status === 200) acked.get(name)?.add(id);
        } else {
          const name = existing[Math.floor(rand() * existing.length)];
          inDoubt.add(name);
          const res = await requestJson(`${server.url}/v1/collections/${name}`, { method: 'DELETE' }).catch(() => undefined);
          if (res?.status === 200) {
            acked.set(name, null);
            inDoubt.delete(name);
          }
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((r) => setTimeout(r, 300 + rand() * 700));
    await server.kill();
    stop = true;
    await Promise.all(workers);
    // In-flight creates and drops may have gone either way: learn which from the disk, as the next start will.
    for (const name of inDoubt) {
      const exists = fs.existsSync(path.join(dataDir, 'collections', name, 'collection.json'));
      const before = acked.get(name);
      acked.set(name, exists ? (before ?? new Set()) : null);
    }
  }
  const final = await startServerProcess({ dataDir, args: ['--workers', '1'] });
  try {
    const names = (await requestJson(`${final.url}/v1/collections`)).body.collections.map((c: { name: string }) => c.name).sort();
    assert.deepEqual(names, [...acked].filter(([, r]) => r !== null).map(([n]) => n).sort());
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'collections')).filter((n) => n.startsWith('.')), [], 'no temporary or trash directories left');
    console.log(`collections kill9: ${serial} operations, ${names.length} collections at the end`);
  } finally {
    await final.stop();
  }
});
