/** Equipment domain: attribute schemas of types. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attributesProblem, attributesSchemaProblem, MAX_SCHEMA_DEPTH } from '../../src/domain/equipment/attribute-schemas.ts';

test('an attributes schema compiles in strict draft 2020-12, self-contained and bounded', () => {
  assert.equal(attributesSchemaProblem({ type: 'object', properties: { size: { type: ['string', 'null'] }, since: { type: 'string', format: 'date' } } }), undefined);
  assert.equal(attributesSchemaProblem({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' }), undefined);
  assert.equal(attributesSchemaProblem({ type: 'object', $defs: { level: { type: 'integer' } }, properties: { a: { $ref: '#/$defs/level' } } }), undefined, 'a local reference');
  assert.match(attributesSchemaProblem({ type: 'object', properties: { a: { $ref: 'https://example.org/level.json' } } }) ?? '', /^\/properties\/a\/\$ref: only references within/);
  assert.match(attributesSchemaProblem({ $id: 'https://example.org/mine', type: 'object' }) ?? '', /^\/\$id/);
  assert.match(attributesSchemaProblem({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' }) ?? '', /draft 2020-12/);
  assert.match(attributesSchemaProblem({ type: 'object', properties: { a: { type: 'string', minimum: 3 } } }) ?? '', /strict mode/, 'a keyword of another type');
  assert.match(attributesSchemaProblem({ type: 'object', properties: { a: { type: 'string', format: 'colour' } } }) ?? '', /unknown format/);
  let deep: Record<string, unknown> = { type: 'object' };
  for (let i = 0; i < MAX_SCHEMA_DEPTH; i++) deep = { type: 'object', properties: { n: deep } };
  assert.match(attributesSchemaProblem(deep) ?? '', /deeper than/);
  assert.match(attributesSchemaProblem({ type: 'array' }) ?? '', /type: object/);
});

test("an item's attributes are checked against the schema, the first failure named by its path", () => {
  const schema = { type: 'object', properties: { frame: { type: 'object', properties: { size: { enum: ['S', 'M'] } }, required: ['size'] } }, additionalProperties: false };
  assert.equal(attributesProblem(schema, { frame: { size: 'S' } }), undefined);
  assert.equal(attributesProblem(schema, { frame: { size: 'XL' } })?.path, '/attributes/frame/size');
  assert.equal(attributesProblem(schema, { frame: {} })?.path, '/attributes/frame/size');
  assert.equal(attributesProblem(schema, { colour: 'red' })?.path, '/attributes/colour');
});
