// `vecstore/client` as a user gets it: resolved through package.json `exports` from another directory, loading only
// the client's own modules (no server, simsimd, uWebSockets.js, Piscina or ws), with type declarations tsc accepts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let dir: string;

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'vecstore-client-user-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules', 'vecstore'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('import("vecstore/client") loads only the client (and the error catalogue), nothing of the server', async () => {
  // A resolve hook records every module the import pulls in, including packages and node: builtins.
  writeFileSync(path.join(dir, 'hooks.mjs'), `
    import { appendFileSync } from 'node:fs';
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      appendFileSync(${JSON.stringify(path.join(dir, 'loaded.txt'))}, resolved.url + '\\n');
      return resolved;
    }`);
  writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);`);
  writeFileSync(path.join(dir, 'main.mjs'), `
    const m = await import('vecstore/client');
    const client = new m.VecStoreClient({ url: 'http://127.0.0.1:9' });
    const err = new m.VecStoreError({ status: 404, code: 'not_found', message: 'id: no vector' });
    console.log(JSON.stringify({ exports: Object.keys(m).sort(), collection: client.collection('docs').name, err: [err.name, err.status, err.code, err instanceof Error] }));`);
  const { stdout } = await run(process.execPath, ['--no-warnings', '--import', './register.mjs', 'main.mjs'], { cwd: dir, timeout: 20_000 });
  const out = JSON.parse(stdout) as { exports: string[]; collection: string; err: unknown[] };
  for (const name of ['VecStoreClient', 'VecStoreError', 'QueryStream', 'CollectionClient']) assert.ok(out.exports.includes(name), name);
  assert.deepEqual([out.collection, out.err], ['docs', ['VecStoreError', 404, 'not_found', true]]);

  const loaded = readFileSync(path.join(dir, 'loaded.txt'), 'utf8').trim().split('\n').filter((u) => !u.endsWith('/main.mjs'));
  const client = pathToFileURL(path.join(ROOT, 'dist/src/client/')).href;
  const catalogue = pathToFileURL(path.join(ROOT, 'dist/src/errors.js')).href;
  const foreign = loaded.filter((u) => !u.startsWith(client) && u !== catalogue);
  assert.deepEqual(foreign, [], 'modules outside the client');
  assert.ok(loaded.some((u) => u === `${client}index.js`), 'resolved through the exports map');
});

test('the type declarations resolve through exports and type-check a user program', async () => {
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, target: 'ES2022', types: [], lib: ['ES2022', 'DOM'], rootDir: '.' }, files: ['user.ts'] }));
  writeFileSync(path.join(dir, 'user.ts'), `
    import { VecStoreClient, VecStoreError, type QueryAnswer } from 'vecstore/client';
    const client = new VecStoreClient({ url: 'http://127.0.0.1:8080', apiKey: 'k', timeoutMs: 1000, retries: 2 });
    async function main(): Promise<number> {
      const answer: QueryAnswer = await client.collection('docs').query({ vector: new Float32Array(3), limit: 5 });
      for await (const record of client.scroll({ limit: 10 })) console.log(record.id);
      try { await client.get('x'); } catch (e) { if (e instanceof VecStoreError) return e.status; }
      return answer.results.length;
    }
    void main;
    // @ts-expect-error a query needs a vector
    void client.query({ limit: 5 });
  `);
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, timeout: 60_000 }).catch((e: { stdout: string; stderr: string }) => e);
  assert.equal(result.stdout + result.stderr, '', 'tsc reports no errors');
});
