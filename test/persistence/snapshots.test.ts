// Snapshot names: safe single path components only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateSnapshotName } from '../../src/persistence/snapshots.js';
import { VecStoreError } from '../../src/errors.js';

test('valid snapshot names pass', () => {
  for (const name of ['a', 'nightly-2024.01.01', 'A_b-c.d', '0', 'x'.repeat(128)]) assert.equal(validateSnapshotName(name), name);
});

test('path separators, dot-dot, hidden names and bad types are validation errors naming the field', () => {
  for (const name of ['../etc', '..', 'a/../b', 'a/b', 'a\\b', '.hidden', '', 'x'.repeat(129), 'a..b', 'sp ace', '/abs', 'nul\u0000', 42, undefined]) {
    assert.throws(() => validateSnapshotName(name), (err: unknown) => err instanceof VecStoreError && err.code === 'validation' && err.message.startsWith('name:'), String(name));
  }
});
