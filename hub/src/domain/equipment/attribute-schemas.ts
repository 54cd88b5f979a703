/**
 * The JSON schemas gym admins write for the attributes of an equipment type's items, and the check of items'
 * attributes against them. The dialect is JSON Schema draft 2020-12 only (Ajv2020): a schema is checked against
 * that meta-schema and compiled in Ajv's strict mode, so unknown keywords and contradictory types are refused
 * when the schema is saved rather than ignored when items are checked.
 *
 * A schema is self-contained: `$id` and references to anything but the schema itself are refused (nothing is
 * ever fetched), and its size and nesting are bounded. The API refuses every `$`-key in a body anyway
 * (api/body.ts), so through it a schema has no `$ref`, `$defs` or `$schema` at all.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';

export const MAX_SCHEMA_BYTES = 16 * 1024;
export const MAX_SCHEMA_DEPTH = 10;
export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';
/** Compiled validators kept; past it the cache (and Ajv's own) starts over, so it stays bounded. */
const MAX_COMPILED = 256;

// ajv-formats is CommonJS with `exports.default`: under NodeNext its default import is the module object.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

function newAjv(): Ajv2020 {
  // allowUnionTypes: `type: ["string", "null"]` is ordinary for an optional attribute; strict mode refuses it otherwise.
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: false, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

let ajv = newAjv();
const compiled = new Map<string, ValidateFunction>();

export type JsonSchemaObject = Record<string, unknown>;

/** Walks the schema for what a self-contained, bounded schema may not have; the first problem, or undefined. */
function shapeProblem(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_SCHEMA_DEPTH) return `${path || '/'}: nested deeper than ${MAX_SCHEMA_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = shapeProblem(item, `${path}/${i}`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const here = `${path}/${key}`;
    if ((key === '$ref' || key === '$dynamicRef') && !(typeof item === 'string' && item.startsWith('#'))) return `${here}: only references within the schema (#...) are allowed`;
    if (key === '$id' || key === '$anchor' || key === '$dynamicAnchor') return `${here}: a schema of attributes has no identifiers`;
    if (key === '$schema' && path === '' && item !== SCHEMA_DIALECT) return `${here}: only draft 2020-12 (${SCHEMA_DIALECT}) is supported`;
    const found = shapeProblem(item, here, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function validatorOf(schema: JsonSchemaObject): ValidateFunction {
  const key = JSON.stringify(schema);
  const found = compiled.get(key);
  if (found !== undefined) return found;
  if (compiled.size >= MAX_COMPILED) {
    compiled.clear();
    ajv = newAjv();
  }
  const validate = ajv.compile(schema);
  compiled.set(key, validate);
  return validate;
}

/**
 * Why `schema` cannot be an attributes schema, as `path: what`; undefined when it can. It must describe an
 * object, stay within the size and depth bounds, reference nothing outside itself, and compile in strict mode.
 */
export function attributesSchemaProblem(schema: JsonSchemaObject): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes > MAX_SCHEMA_BYTES) return `/: ${bytes} bytes, more than ${MAX_SCHEMA_BYTES}`;
  const shape = shapeProblem(schema, '', 0);
  if (shape !== undefined) return shape;
  if (schema['type'] !== 'object') return '/type: the attributes schema must describe an object (type: object)';
  try {
    validatorOf(schema);
  } catch (err) {
    return `/: ${(err as Error).message}`;
  }
  return undefined;
}

export interface AttributesProblem {
  /** JSON pointer of the failing attribute from the item, e.g. `/attributes/resistanceLevels`. */
  path: string;
  message: string;
}

function problemOf(error: ErrorObject): AttributesProblem {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const child = params.missingProperty ?? params.additionalProperty;
  const path = `/attributes${error.instancePath}${child === undefined ? '' : `/${child}`}`;
  return { path, message: error.message ?? 'is invalid' };
}

/** The first attribute of `attributes` that `schema` refuses; undefined when they match. The schema was accepted by attributesSchemaProblem. */
export function attributesProblem(schema: JsonSchemaObject, attributes: unknown): AttributesProblem | undefined {
  const validate = validatorOf(schema);
  if (validate(attributes)) return undefined;
  const first = validate.errors?.[0];
  return first === undefined ? { path: '/attributes', message: 'is invalid' } : problemOf(first);
}
