// `vecstore bench json-reader` runs through the CLI and prints its table: both bodies, every step, a ratio per reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');

test('bench json-reader prints the table for random doubles and float32 values', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'bench', 'json-reader', '--rows', '20', '--dim', '16', '--rounds', '2'], { timeout: 60_000 });
  assert.match(stdout, /vecstore bench json-reader — \d+ cores/);
  for (const values of ['random doubles', 'float32 values']) {
    for (const step of ['JSON.parse', 'fast reader', 'parse \\+ validate, --json-reader builtin', 'parse \\+ validate, --json-reader fast']) {
      assert.match(stdout, new RegExp(`\\| ${values} \\| ${step} \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+×`), `${values}: ${step}`);
    }
  }
});
