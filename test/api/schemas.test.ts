// The wire schemas are valid JSON Schema (2020-12, as OpenAPI 3.1 uses) and are what the field tables come from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as S from '../../src/api/schemas.js';
import { REQUEST_SCHEMAS, checkFields } from '../../src/api/request-fields.js';
import { VecStoreError } from '../../src/errors.js';

test('every exported schema compiles under JSON Schema 2020-12', () => {
  const ajv = new Ajv2020({ strict: false });
  let n = 0;
  for (const [name, schema] of Object.entries(S)) {
    if (typeof schema !== 'object' || schema === null) continue;
    assert.doesNotThrow(() => ajv.compile(schema as object), name);
    n++;
  }
  assert.ok(n > 30, `only ${n} schemas`);
});

test('a query body valid by the schema passes; a habit of another engine is refused with the field meant', () => {
  const ajv = new Ajv2020({ strict: false });
  const validate = ajv.compile(S.QueryRequest);
  assert.equal(validate({ vector: [1, 2], limit: 3, filter: null, include_metadata: false }), true);
  assert.equal(validate({ vector: [1, 2], top_k: 3 }), false);
  assert.throws(() => checkFields({ vector: [1], top_k: 3 }, 'query'), (e: unknown) => e instanceof VecStoreError && e.code === 'unknown_field' && /did you mean "limit"/.test(e.message));
});

test('the field tables are the schemas\' properties (one source)', () => {
  for (const [kind, schema] of Object.entries(REQUEST_SCHEMAS)) {
    for (const field of Object.keys(schema.properties)) {
      assert.doesNotThrow(() => checkFields({ [field]: 1 }, kind as keyof typeof REQUEST_SCHEMAS), `${kind}.${field}`);
    }
    assert.throws(() => checkFields({ not_a_field: 1 }, kind as keyof typeof REQUEST_SCHEMAS), /not_a_field: unknown field/);
  }
});
