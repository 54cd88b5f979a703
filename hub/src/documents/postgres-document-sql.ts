/**
 * What the PostgreSQL DocumentStore adds to SQL, kept pure so it is tested without a server: the typed
 * expression of each field, conditions, page cursors and sorting with the port's semantics, index
 * statements, and the text encoding that lets documents hold U+0000 (JSONB and TEXT cannot).
 *
 * A document is a JSONB body. A field is read through one typed expression chosen from its schema: a string
 * field as text in the "C" collation (code point order, as SQLite and MongoDB compare strings; JSONB's own
 * order follows the database's collation), a number field as numeric, a boolean field as boolean. Each is
 * `CASE WHEN jsonb_typeof(...) = type THEN ... END`, so a value of another type (one written under an older
 * schema) reads as NULL instead of failing the whole query, and the expression is immutable: indexes are built
 * on exactly the expressions the queries use. A field whose schema allows several types, or a nested object
 * or array, is read as JSONB (JSON null as SQL NULL) and compared as JSONB.
 */
import { createHash } from 'node:crypto';
import type { TSchema } from '@sinclair/typebox';
import { DocumentStoreError, checkFields, parseCondition, type CollectionSpec, type IndexSpec, type Scalar, type Where } from './document-store.ts';

export type FieldKind = 'string' | 'number' | 'boolean' | 'json';

const SIMPLE_KINDS: Readonly<Record<string, FieldKind>> = { string: 'string', integer: 'number', number: 'number', boolean: 'boolean' };

/** How a field is read, from its schema: one JSON type (null aside), or json for anything else. */
export function fieldKind(schema: TSchema): FieldKind {
  const type = (schema as { type?: unknown }).type;
  if (typeof type === 'string') return SIMPLE_KINDS[type] ?? 'json';
  const members = (schema as { anyOf?: TSchema[] }).anyOf;
  if (Array.isArray(members)) {
    const kinds = new Set(members.filter((member) => (member as { type?: unknown }).type !== 'null').map(fieldKind));
    const [only] = kinds;
    if (kinds.size === 1 && only !== undefined) return only;
  }
  return 'json';
}

// ---------------------------------------------------------------------------------------------------------
// U+0000 in strings. PostgreSQL text (and so JSONB) cannot hold it; SQLite and MongoDB can. Every string is
// stored with U+0000 as U+0001 U+0001 and U+0001 as U+0001 U+0002: a prefix-free code, increasing in the code
// point, so equality and code point order are those of the original strings. Query values are encoded alike.

export function encodeText(value: string): string {
  // eslint-disable-next-line no-control-regex -- these two control characters are what the code is about
  return value.replace(/[\u0000\u0001]/g, (c) => (c === '\u0000' ? '\u0001\u0001' : '\u0001\u0002'));
}

export function decodeText(value: string): string {
  // eslint-disable-next-line no-control-regex -- as in encodeText
  return value.replace(/\u0001[\u0001\u0002]/g, (pair) => (pair === '\u0001\u0001' ? '\u0000' : '\u0001'));
}

/**
 * A value as JSON text for a JSONB parameter, every string (and key) encoded. JSON.stringify writes U+0000 and
 * U+0001 only as the escapes `\u0000` and `\u0001`; an escaped backslash is consumed first so that `\\u0000`
 * (a backslash, then "u0000") stays as it is.
 */
export function toJsonText(value: unknown): string {
  const text = JSON.stringify(value);
  if (!text.includes('\\u000')) return text;
  return text.replace(/\\(?:\\|u000[01])/g, (escape) => (escape === '\\u0000' ? '\\u0001\\u0001' : escape === '\\u0001' ? '\\u0001\\u0002' : escape));
}

/** A JSONB value as PostgreSQL writes it as text (control characters as lower-case `\u00xx`), decoded. */
export function fromJsonText<T>(text: string): T {
  if (!text.includes('\\u0001')) return JSON.parse(text) as T;
  return JSON.parse(text.replace(/\\(?:\\|u0001\\u000[12])/g, (escape) => (escape === '\\u0001\\u0001' ? '\\u0000' : escape === '\\u0001\\u0002' ? '\\u0001' : escape))) as T;
}

// ---------------------------------------------------------------------------------------------------------
// Names. PostgreSQL cuts identifiers at 63 bytes; a longer one is shortened with a hash so that two never meet.

export function pgIdentifier(name: string): string {
  if (name.length <= 63) return name;
  return `${name.slice(0, 54)}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

export function tableOf(spec: CollectionSpec): string {
  return pgIdentifier(`doc_${spec.name}`);
}

export function indexNameOf(spec: CollectionSpec, index: IndexSpec): string {
  return pgIdentifier(`doc_${spec.name}_${index.name}`);
}

// ---------------------------------------------------------------------------------------------------------
// Expressions. Field names reach SQL only after checkFields (letters, digits, underscores of the schema).

const CAST = { string: 'text', number: 'numeric', boolean: 'boolean' } as const;

function typedRead(field: string, kind: 'string' | 'number' | 'boolean'): string {
  const value = kind === 'string' ? `body->>'${field}'` : `(body->>'${field}')::${CAST[kind]}`;
  const read = `CASE WHEN jsonb_typeof(body->'${field}') = '${kind}' THEN ${value} END`;
  return kind === 'string' ? `(${read}) COLLATE "C"` : `(${read})`;
}

export function kindOf(spec: CollectionSpec, field: string): FieldKind {
  if (field === 'id') return 'string';
  return fieldKind(spec.schema.properties[field]!);
}

/** The one expression a field is read, compared, sorted and indexed by. */
export function expressionOf(spec: CollectionSpec, field: string): string {
  if (field === 'id') return 'id';
  const kind = kindOf(spec, field);
  return kind === 'json' ? `nullif(body->'${field}', 'null'::jsonb)` : typedRead(field, kind);
}

/** Collects parameters; each placeholder carries its cast, so PostgreSQL never has to guess a type. */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }

  /** A scalar compared with a field of `kind`. */
  scalar(kind: FieldKind, value: string | number | boolean): string {
    if (kind === 'json') return this.add(toJsonText(value), 'jsonb');
    return this.add(typeof value === 'string' ? encodeText(value) : value, CAST[kind]);
  }
}

/** Whether a value can equal a field of `kind`: other types never do (as in MongoDB). */
function fits(kind: FieldKind, value: string | number | boolean): boolean {
  return kind === 'json' || typeof value === kind;
}

const RANGE_SQL = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

/** A Where as SQL; throws 'invalid' for fields the schema lacks or conditions the port does not know. */
export function whereSql(spec: CollectionSpec, where: Where, params: Params): string {
  checkFields(
    spec,
    Object.keys(where).filter((field) => field !== 'id'),
  );
  const clauses: string[] = [];
  for (const [field, raw] of Object.entries(where)) {
    const condition = parseCondition(field, raw);
    const kind = kindOf(spec, field);
    const col = expressionOf(spec, field);
    switch (condition.op) {
      case 'eq':
        if (condition.value === null) clauses.push(`${col} IS NULL`);
        else clauses.push(fits(kind, condition.value) ? `${col} = ${params.scalar(kind, condition.value)}` : 'FALSE');
        break;
      case 'ne':
        if (condition.value === null) clauses.push(`${col} IS NOT NULL`);
        else if (fits(kind, condition.value)) clauses.push(`(${col} IS NULL OR ${col} <> ${params.scalar(kind, condition.value)})`);
        break;
      case 'in': {
        const values = condition.values.filter((v): v is string | number | boolean => v !== null && fits(kind, v));
        const parts: string[] = [];
        if (values.length > 0) parts.push(`${col} IN (${values.map((v) => params.scalar(kind, v)).join(', ')})`);
        if (condition.values.includes(null)) parts.push(`${col} IS NULL`);
        clauses.push(parts.length === 0 ? 'FALSE' : `(${parts.join(' OR ')})`);
        break;
      }
      case 'range':
        for (const [op, value] of condition.bounds) {
          // A range matches values of its bound's type only: on a JSON field, the typed read of that type.
          const boundKind = typeof value === 'number' ? 'number' : 'string';
          if (kind !== 'json' && kind !== boundKind) clauses.push('FALSE');
          else clauses.push(`${field === 'id' ? col : typedRead(field, boundKind)} ${RANGE_SQL[op]} ${params.scalar(boundKind, value)}`);
        }
        break;
    }
  }
  return clauses.length === 0 ? 'TRUE' : clauses.join(' AND ');
}

/** ORDER BY for `orderBy` (then id): null and missing sort first ascending and last descending, as in SQLite and MongoDB. */
export function orderSql(spec: CollectionSpec, orderBy: readonly string[], descending: boolean): string {
  return orderBy.map((field) => `${expressionOf(spec, field)} ${descending ? 'DESC NULLS LAST' : 'ASC NULLS FIRST'}`).join(', ');
}

/**
 * Documents after a page cursor, in the sort of `orderBy` (id last): an OR over the keys, each branch equal on
 * the keys before it and past the cursor on its own. Null sorts first, so ascending past null is "not null";
 * descending, before a value includes null and nothing is before null.
 */
export function afterSql(spec: CollectionSpec, orderBy: readonly string[], after: readonly Scalar[], descending: boolean, params: Params): string {
  if (after.length !== orderBy.length) throw new DocumentStoreError('invalid', `after needs ${orderBy.length} values (${orderBy.join(', ')})`);
  const branches: string[] = [];
  const equal: string[] = [];
  for (const [i, field] of orderBy.entries()) {
    const kind = kindOf(spec, field);
    const col = expressionOf(spec, field);
    const value = after[i]!;
    if (value !== null && !fits(kind, value)) throw new DocumentStoreError('invalid', `after: ${String(value)} is not a value of ${field}`);
    const at = value === null ? undefined : params.scalar(kind, value);
    if (!descending) branches.push([...equal, at === undefined ? `${col} IS NOT NULL` : `${col} > ${at}`].join(' AND '));
    else if (at !== undefined) branches.push([...equal, `(${col} < ${at} OR ${col} IS NULL)`].join(' AND '));
    equal.push(at === undefined ? `${col} IS NULL` : `${col} = ${at}`);
  }
  return branches.length === 0 ? 'FALSE' : `(${branches.map((branch) => `(${branch})`).join(' OR ')})`;
}

function literal(value: string | number | boolean): string {
  if (typeof value === 'string') return `'${encodeText(value).replaceAll("'", "''")}'`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DocumentStoreError('invalid', `a partial index value must be finite, not ${value}`);
    return String(value);
  }
  return value ? 'TRUE' : 'FALSE';
}

/** The statement that creates an index as the spec declares it (a partial index: where its fields equal its values). */
export function createIndexSql(spec: CollectionSpec, index: IndexSpec): string {
  const partial = Object.entries(index.partial ?? {});
  const where =
    partial.length === 0
      ? ''
      : ` WHERE ${partial
          .map(([field, value]) => {
            const kind = kindOf(spec, field);
            return kind === 'json' ? `${expressionOf(spec, field)} = '${toJsonText(value).replaceAll("'", "''")}'::jsonb` : `${expressionOf(spec, field)} = ${literal(value)}`;
          })
          .join(' AND ')}`;
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${indexNameOf(spec, index)} ON ${tableOf(spec)} (${index.fields.map((field) => expressionOf(spec, field)).join(', ')})${where}`;
}
